"""The verifier sends its tokens where the plan's `auth.location` says, and only there (verify/token_location.py).

End to end with the program's own output: a dev stack with Strict auth and `auth.location` set to a header or a
cookie; the front enforces the policy the program rendered (reading the token where upstream reads it), the
verifier proves it with the plan the program rendered. A token in the default `Authorization` header is not what
such a gateway reads, so a plan without the location fails there.
"""
from __future__ import annotations

import json
import os

import pytest

from tests.gateway_front import FrontRoute, GatewayFront
from tests.hostile_peer import HostilePeer
from tests.jwt_tokens import SigningKey, claims
from tests.pulumi_mocks import cli_config, mocks, run_program  # noqa: F401 (fixture)
from tests.resource_types import POLICY
from tests.test_verify_gateway import run_cli, running_mocks, write_plan

KEY = SigningKey.rsa()
LIFETIME = 3 * 3600  # minted at import: valid for any run of the suite
FULL = KEY.mint(claims(LIFETIME, groups=["mcp-writers"]))
RESTRICTED = KEY.mint(claims(LIFETIME, sub="reader", groups=["readers"]))
STRANGER = SigningKey.rsa().mint(claims(LIFETIME, groups=["mcp-writers"]))  # a key the gateway does not know
ISSUER, AUDIENCE = "https://idp.test.invalid/realms/mcp", "mcp-federation"
HEADER = {"header": {"name": "X-Mcp-Token", "prefix": "Token "}}
COOKIE = {"cookie": {"name": "mcp_token"}}
LOCATIONS = {"header": (HEADER, "X-Mcp-Token", "Token "), "cookie": (COOKIE, "Cookie", "mcp_token=")}


def cli(tmp_path, url: str, plan: list, token: str = FULL, restricted: str | None = RESTRICTED,
        deadline: str = "2"):
    env = {**os.environ, "FULL": token, **({"RESTRICTED": restricted} if restricted else {})}
    extra = ("--restricted-token-env", "RESTRICTED") if restricted else ()
    return run_cli("--plan", write_plan(tmp_path, plan), "--gateway-url", url, "--deadline", deadline, "--json",
                   "--token-env", "FULL", *extra, env=env)


def assert_no_token(done) -> None:
    for secret in (FULL, RESTRICTED, STRANGER):
        for part in secret.split("."):
            assert part not in done.stdout + done.stderr


def problems(done) -> dict[str, list[dict]]:
    return {route["name"]: route["problems"] for route in json.loads(done.stdout)["routes"]}


# ----------------------------------------------------------------------- against a peer that shows what it got

@pytest.mark.parametrize("which", sorted(LOCATIONS))
def test_the_token_goes_only_where_the_plan_says_and_is_redacted_when_echoed(tmp_path, which):
    location, header, prefix = LOCATIONS[which]
    plan = [{"name": "echo", "path": "/mcp", "expectedTools": ["ping_tool"],
             "auth": {"required": True, "location": location}}]
    with HostilePeer("echo_token") as peer:
        done = cli(tmp_path, peer.url.rsplit("/mcp", 1)[0], plan, restricted=None, deadline="0")
        seen = list(peer.seen)
    assert done.returncode == 1
    assert_no_token(done)
    assert "[redacted]" in done.stdout  # the peer quoted the header carrying the token
    anonymous = [headers for method, headers in seen if header not in headers]
    assert len(anonymous) == 1 and not {"Authorization", "Cookie"} & set(anonymous[0]), anonymous  # the 401 probe
    carried = [headers for method, headers in seen if header in headers]
    assert len(carried) >= 3  # initialize, notifications/initialized, tools/list, DELETE
    for headers in carried:
        assert headers[header] == prefix + FULL and "Authorization" not in headers


def test_cookies_the_peer_sets_never_join_or_replace_the_token_cookie(tmp_path):
    plan = [{"name": "echo", "path": "/mcp", "expectedTools": ["ping_tool"], "auth": {"required": True,
                                                                                     "location": COOKIE}}]
    with HostilePeer("set_cookie") as peer:
        cli(tmp_path, peer.url.rsplit("/mcp", 1)[0], plan, restricted=None, deadline="0")
        sent = [headers.get("Cookie") for _, headers in peer.seen]
    assert sent.count(None) == 1 and len(sent) >= 4, sent  # the anonymous probe sends no cookie
    assert set(sent) - {None} == {f"mcp_token={FULL}"}


def test_a_bad_location_in_the_plan_is_a_configuration_error(tmp_path):
    plan = [{"name": "echo", "path": "/mcp", "expectedTools": ["ping_tool"],
             "auth": {"required": True, "location": {"header": {"name": "X-T", "prefix": "Token\r\nX-Evil: 1"}}}}]
    done = cli(tmp_path, "http://127.0.0.1:9", plan, restricted=None)
    assert done.returncode == 2, done.stderr
    assert "plan entry 0 ('echo'): 'auth.location.header.prefix' must be" in done.stderr
    assert_no_token(done)


# ------------------------------------------------------------------- the program's policies through the front

def rendered(mocks, location: dict) -> tuple[dict, list[dict], list[dict]]:
    """(jwtAuthentication spec, github's authorization rule sets, verificationPlan) of a dev stack with Strict auth
    at `location` and create_issue reserved to mcp-writers."""
    declared = run_program(mocks, cli_config("dev", {
        "mcp-federation:auth": {"mode": "Strict", "location": location, "providers": [{
            "issuer": ISSUER, "audiences": [AUDIENCE], "jwks": {"inline": json.dumps({"keys": [KEY.jwk()]})}}]},
        "mcp-federation:denyDangerousTools": True, "mcp-federation:aggregate": {"enabled": False},
        "mcp-federation:servers": [{"name": "github", "toolGroups": {"create_issue": ["mcp-writers"]}}]}))
    (jwt,) = [r.inputs["spec"]["traffic"]["jwtAuthentication"] for r in declared.of_type(POLICY)
              if "traffic" in r.inputs["spec"]]
    rules = [r.inputs["spec"]["backend"]["mcp"]["authorization"] for r in declared.of_type(POLICY)
             if "backend" in r.inputs["spec"]]
    return jwt, rules, declared.outputs["verificationPlan"]


@pytest.fixture(scope="module")
def mock_urls(tmp_path_factory):
    with running_mocks(tmp_path_factory.mktemp("mock-logs")) as (urls, _):
        yield urls


@pytest.mark.parametrize("which", sorted(LOCATIONS))
def test_the_verifier_proves_a_stack_whose_token_is_not_in_the_authorization_header(mocks, mock_urls, tmp_path,
                                                                                      which):
    location, header, _ = LOCATIONS[which]
    jwt_spec, rules, plan = rendered(mocks, location)
    assert jwt_spec["location"] == location and [entry["auth"] for entry in plan] == [
        {"required": True, "resourceMetadata": False, "location": location}]
    route = FrontRoute(plan[0]["path"], mock_urls["github"], authorization=tuple(rules))
    with GatewayFront([route], jwt_authentication=jwt_spec) as front:
        passed = cli(tmp_path, front.url, plan)
        assert passed.returncode == 0, passed.stdout + passed.stderr
        assert all(values == [] for values in front.seen_header(route.path, header)[1:])  # stripped upstream
        wrong = cli(tmp_path, front.url, plan, token=STRANGER, restricted=None, deadline="0")
        bearer_plan = [{**entry, "auth": {"required": True, "resourceMetadata": False}} for entry in plan]
        bearer = cli(tmp_path, front.url, bearer_plan, restricted=None, deadline="0")
    where = "header X-Mcp-Token with prefix 'Token '" if which == "header" else "cookie mcp_token"
    for failed in (wrong, bearer):
        assert failed.returncode == 1, failed.stdout
        (problem,) = problems(failed)["github"]
        assert problem["kind"] == "token_rejected" and "HTTP 401" in problem["detail"], problem
        assert_no_token(failed)
    assert f"(token sent as {where})" in problems(wrong)["github"][0]["detail"]
    assert "(token sent as header Authorization with prefix 'Bearer ')" in problems(bearer)["github"][0]["detail"]
    assert_no_token(passed)
