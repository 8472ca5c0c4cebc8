"""The verifier's authentication checks (issue 12 item 7) against the JWT-enforcing front and the real mocks.

Shared front (Gateway-level Strict jwtAuthentication, fresh RSA + EC keys):
  /mcp/github  create_issue reserved to group mcp-writers (toolGroups), delete_repo denied
  /mcp/slack   every tool reserved to group mcp-slack (allowedGroups)
  /mcp/meta    github again, with its own route-level policy that has the `mcp` block (OAuth metadata)
  /mcp/open    github with no group rule at all (a gateway that forgot to compile toolGroups)
  /mcp/all     github + slack aggregated (prefixed names); github's create_issue reserved to mcp-writers
The verifier's token has both groups; the restricted token has none.
"""
from __future__ import annotations

import json
import os

import pytest

from tests.gateway_front import AggregateRoute, FrontRoute, GatewayFront, Target
from tests.jwt_tokens import ISSUER, AUDIENCE, SigningKey, claims, jwt_spec, provider
from tests.test_verify_aggregate import aggregate_entry
from tests.test_verify_gateway import dangerous, plan_entry, run_cli, running_mocks, write_plan

RSA, EC = SigningKey.rsa(), SigningKey.ec()
# Minted when pytest imports this module, at the start of the whole run: valid long enough for any run of the suite
# (the default 300 s lifetime expired before these tests ran in a full `make test` under load).
TOKEN_LIFETIME = 3 * 3600
TOKEN = RSA.mint(claims(TOKEN_LIFETIME, groups=["mcp-writers", "mcp-slack"]))
RESTRICTED = EC.mint(claims(TOKEN_LIFETIME, sub="reader", groups=["readers"]))
STRANGER = SigningKey.rsa().mint(claims(TOKEN_LIFETIME))  # signed by a key the gateway does not know
WRITERS = 'has(jwt.groups) && "mcp-writers" in jwt.groups'
GITHUB_RULES = ({"action": "Allow", "policy": {"matchExpressions": [
    'mcp.tool.name != "create_issue"', f'mcp.tool.name == "create_issue" && {WRITERS}']}},)
SLACK_RULES = ({"action": "Allow", "policy": {"matchExpressions": ['has(jwt.groups) && "mcp-slack" in jwt.groups']}},)
AGGREGATE_RULES = ({"action": "Allow", "policy": {"matchExpressions": [
    '!(mcp.tool.target == "github" && mcp.tool.name == "create_issue")',
    f'mcp.tool.target == "github" && mcp.tool.name == "create_issue" && {WRITERS}']}},)
AUTH = {"auth": {"required": True}}
GITHUB = plan_entry("github", **AUTH, toolGroups={"create_issue": ["mcp-writers"]}, groupsClaim="groups")
SLACK = plan_entry("slack", **AUTH, allowedGroups=["mcp-slack"])
META = plan_entry("github", "meta", auth={"required": True, "resourceMetadata": True})
DEADLINE = "2"


def strict(mcp: dict | None = None) -> dict:
    return jwt_spec("Strict", [provider(ISSUER, [AUDIENCE], RSA, EC)], mcp)


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    with running_mocks(tmp_path_factory.mktemp("mock-logs")) as (urls, _):
        routes = [FrontRoute("/mcp/github", urls["github"], dangerous("github"), authorization=GITHUB_RULES),
                  FrontRoute("/mcp/slack", urls["slack"], dangerous("slack"), authorization=SLACK_RULES),
                  FrontRoute("/mcp/meta", urls["github"], dangerous("github"), jwt_authentication=strict(mcp={})),
                  FrontRoute("/mcp/open", urls["github"], dangerous("github")),
                  AggregateRoute("/mcp/all", (Target("github", urls["github"], dangerous("github")),
                                              Target("slack", urls["slack"], dangerous("slack"))),
                                 authorization=AGGREGATE_RULES),
                  AggregateRoute("/mcp/hidden", (Target("hidden", urls["github"], dangerous("github"),
                                                        hidden_tools=("create_issue",)),))]
        with GatewayFront(routes, jwt_authentication=strict()) as gateway:
            yield gateway


def verify(tmp_path, gateway_url: str, plan: list, *args: str, token: str | None = TOKEN,
           restricted: str | None = RESTRICTED):
    """Run the CLI with the token in an environment variable and the restricted one in a file."""
    env = {**os.environ}
    extra = []
    if token is not None:
        env["MCP_VERIFY_TOKEN"] = token
        extra += ["--token-env", "MCP_VERIFY_TOKEN"]
    if restricted is not None:
        path = tmp_path / "restricted.token"
        path.write_text(restricted + "\n")
        extra += ["--restricted-token-file", str(path)]
    return run_cli("--plan", write_plan(tmp_path, plan), "--gateway-url", gateway_url, "--deadline", DEADLINE,
                   *extra, *args, env=env)


def assert_no_token(done) -> None:
    for secret in (TOKEN, RESTRICTED):
        for part in secret.split("."):  # not even one segment of it
            assert part not in done.stdout and part not in done.stderr


def routes_of(done) -> dict:
    return {route["name"]: route for route in json.loads(done.stdout)["routes"]}


def test_authenticated_routes_pass_anonymous_refused_token_accepted_groups_enforced(front, tmp_path):
    done = verify(tmp_path, front.url, [GITHUB, SLACK, META], "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert_no_token(done)
    assert all(route["passed"] for route in routes_of(done).values())


def test_the_token_is_stripped_before_the_mcp_layer(front, tmp_path):
    done = verify(tmp_path, front.url, [GITHUB])
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(front.seen_authorization("/mcp/github")) == {None}


def test_an_unprotected_route_is_reported_when_the_plan_requires_auth(tmp_path):
    with running_mocks(tmp_path) as (urls, _):
        with GatewayFront([FrontRoute("/mcp/github", urls["github"], dangerous("github"))]) as open_front:
            done = verify(tmp_path, open_front.url, [plan_entry("github", **AUTH)], "--json", restricted=None)
    assert done.returncode == 1
    route = routes_of(done)["github"]
    assert [p["kind"] for p in route["problems"]] == ["anonymous_accepted"], route
    assert_no_token(done)


def test_a_token_the_gateway_rejects_is_reported(front, tmp_path):
    done = verify(tmp_path, front.url, [plan_entry("github", **AUTH)], "--json", token=STRANGER, restricted=None)
    assert done.returncode == 1
    route = routes_of(done)["github"]
    assert route["problems"][0]["kind"] == "token_rejected" and "HTTP 401" in route["reason"], route
    assert STRANGER.split(".")[2] not in done.stdout + done.stderr


@pytest.mark.parametrize("entry, expected", [
    (plan_entry("github", auth={"required": True, "resourceMetadata": True}), "401 without the expected"),
    (plan_entry("github", "meta", **AUTH), "advertises OAuth metadata"),
])
def test_www_authenticate_is_checked_exactly_when_the_plan_says_resource_metadata(front, tmp_path, entry, expected):
    done = verify(tmp_path, front.url, [entry], "--json", restricted=None)
    assert done.returncode == 1
    route = next(iter(routes_of(done).values()))
    assert route["problems"][0]["kind"] == "www_authenticate" and expected in route["reason"], route


def test_a_group_restricted_tool_listed_for_the_restricted_token_fails(front, tmp_path):
    entry = plan_entry("github", "open", **AUTH, toolGroups={"create_issue": ["mcp-writers"]})
    done = verify(tmp_path, front.url, [entry], "--json")
    assert done.returncode == 1
    route = routes_of(done)["open"]
    assert [p["kind"] for p in route["problems"]] == ["restricted_tool_listed"], route
    assert_no_token(done)


def test_a_group_restricted_tool_hidden_but_callable_fails(front, tmp_path):
    entry = plan_entry("github", "hidden", **AUTH, toolGroups={"create_issue": ["mcp-writers"]})
    entry["expectedTools"] = [tool for tool in entry["expectedTools"] if tool != "create_issue"]
    entry["deniedTools"] = entry["deniedTools"] + ["create_issue"]  # hidden from everyone, still callable
    done = verify(tmp_path, front.url, [entry], "--json")
    assert done.returncode == 1
    kinds = [p["kind"] for p in routes_of(done)["hidden"]["problems"]]
    assert kinds == ["denied_tool_callable", "restricted_tool_callable"], kinds


def test_without_a_restricted_token_group_checks_are_noted_not_passed_silently(front, tmp_path):
    done = verify(tmp_path, front.url, [GITHUB], "--json", restricted=None)
    assert done.returncode == 0, done.stdout
    assert any("group rules not checked" in note for note in routes_of(done)["github"]["notes"])


def test_a_token_echoed_by_a_peer_is_redacted(tmp_path):
    from tests.hostile_peer import HostilePeer
    with HostilePeer("echo_token") as peer:
        done = verify(tmp_path, peer.url.rsplit("/mcp", 1)[0],
                      [{"name": "echo", "path": "/mcp", "expectedTools": ["ping_tool"], **AUTH}], "--json",
                      restricted=None)
    assert done.returncode == 1
    assert_no_token(done)
    assert "[redacted]" in done.stdout


@pytest.mark.parametrize("args, env, message", [
    ((), {}, "require authentication (auth.required in the plan): pass --token-env NAME or --token-file PATH"),
    (("--token-env", "NOT_SET_ANYWHERE"), {}, "--token-env NOT_SET_ANYWHERE: the environment variable is not set"),
    (("--token-env", "BAD_TOKEN"), {"BAD_TOKEN": "line1\nBearer x"}, "is not a bearer token"),
    (("--token-env", "T", "--restricted-token-env", "T"), {"T": TOKEN}, "the same as the verifier's token"),
    (("--token", TOKEN), {}, "unrecognized arguments: --token, 1 value(s) (not shown)"),
    (("--token-env", "T", TOKEN), {"T": TOKEN}, "unrecognized arguments: 1 value(s) (not shown)"),
])
def test_credential_errors_exit_2_and_never_show_the_value(tmp_path, args, env, message):
    done = run_cli("--plan", write_plan(tmp_path, [GITHUB]), "--gateway-url", "http://127.0.0.1:9", *args,
                   env={**os.environ, **env})
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "line1" not in done.stderr and TOKEN.split(".")[1] not in done.stderr


def test_restricted_tools_on_an_aggregated_route_are_checked_by_prefixed_name(front, tmp_path):
    entry = {**aggregate_entry("all", "/mcp/all", ("github", "slack")), **AUTH,
             "toolGroups": {"github_create_issue": ["mcp-writers"]}}
    done = verify(tmp_path, front.url, [entry], "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    leaky = {**entry, "toolGroups": {"github_create_issue": ["mcp-writers"], "slack_send_message": ["mcp-writers"]}}
    done = verify(tmp_path, front.url, [leaky], "--json")
    assert done.returncode == 1
    assert [p["detail"] for p in routes_of(done)["all"]["problems"]] == \
        ["restricted token: group-restricted tool listed: slack_send_message"]
