"""End to end with the program's own output: the Pulumi program (under mocks) declares the JWT policy, the
backends' `backend.mcp.authorization` rule sets and the `verificationPlan`; the test front enforces exactly those
specs in front of the real mocks, and the verifier proves them with a full-access and a restricted token."""
from __future__ import annotations

import json
import os

from tests.gateway_front import AggregateRoute, FrontRoute, GatewayFront, Target
from tests.jwt_tokens import SigningKey, claims
from tests.pulumi_mocks import cli_config, mocks, run_program  # noqa: F401 (fixture)
from tests.resource_types import POLICY
from tests.test_verify_gateway import dangerous, run_cli, running_mocks, write_plan

KEY = SigningKey.rsa()
ISSUER, AUDIENCE = "https://idp.test.invalid/realms/mcp", "mcp-federation"
SERVERS = [{"name": "github", "toolGroups": {"create_issue": ["mcp-writers"]}},
           {"name": "slack", "allowedGroups": ["mcp-slack"]}, {"name": "fetch"}]


def rendered(mocks) -> tuple[dict, dict[str, list[dict]], list[dict]]:
    """(jwtAuthentication spec, backend name -> its authorization rule sets, verificationPlan) of a dev stack with
    Strict auth on an inline JWKS of KEY, group rules, denied dangerous tools and the aggregated route."""
    declared = run_program(mocks, cli_config("dev", {
        "mcp-federation:auth": {"mode": "Strict", "providers": [{
            "issuer": ISSUER, "audiences": [AUDIENCE], "jwks": {"inline": json.dumps({"keys": [KEY.jwk()]})}}]},
        "mcp-federation:denyDangerousTools": True,
        "mcp-federation:aggregate": {"enabled": True, "name": "mcp-all"},
        "mcp-federation:servers": SERVERS}))
    jwt, rules = [], {}
    for resource in declared.of_type(POLICY):
        spec = resource.inputs["spec"]
        if "traffic" in spec:
            jwt.append(spec["traffic"]["jwtAuthentication"])
        for ref in spec["targetRefs"] if "backend" in spec else []:
            rules.setdefault(ref["name"], []).append(spec["backend"]["mcp"]["authorization"])
    assert len(jwt) == 1, jwt  # one check per request path: the Gateway's
    return jwt[0], rules, declared.outputs["verificationPlan"]


def test_the_verifier_proves_the_programs_auth_policies(mocks, tmp_path):
    jwt_spec, rules, plan = rendered(mocks)
    paths = {entry["name"]: entry["path"] for entry in plan}
    assert all(entry["auth"]["required"] for entry in plan)
    with running_mocks(tmp_path) as (urls, _):
        routes = [FrontRoute(paths[name], urls[name], authorization=tuple(rules.get(name, ())))
                  for name in ("github", "slack", "fetch")]
        routes.append(AggregateRoute(paths["mcp-all"], tuple(Target(name, urls[name]) for name in
                                                               ("github", "slack", "fetch")),
                                     authorization=tuple(rules["mcp-all"])))
        with GatewayFront(routes, jwt_authentication=jwt_spec) as front:
            env = {**os.environ, "FULL": KEY.mint(claims(groups=["mcp-writers", "mcp-slack"])),
                   "RESTRICTED": KEY.mint(claims(groups=["readers"]))}
            done = run_cli("--plan", write_plan(tmp_path, plan), "--gateway-url", front.url, "--deadline", "5",
                           "--json", "--token-env", "FULL", "--restricted-token-env", "RESTRICTED", env=env)
            assert done.returncode == 0, done.stdout + done.stderr
            # the same plan against a front whose github backend lost its rule set (only the deny list left):
            # the restricted token now sees create_issue
            routes[0] = FrontRoute(paths["github"], urls["github"], denied_tools=dangerous("github"))
            with GatewayFront(routes, jwt_authentication=jwt_spec) as broken:
                failed = run_cli("--plan", write_plan(tmp_path, plan), "--gateway-url", broken.url, "--deadline",
                                 "1", "--json", "--token-env", "FULL", "--restricted-token-env", "RESTRICTED",
                                 env=env)
    report = {route["name"]: route for route in json.loads(failed.stdout)["routes"]}
    assert failed.returncode == 1
    assert [p["kind"] for p in report["github"]["problems"]] == ["restricted_tool_listed"], report["github"]
    assert all(report[name]["passed"] for name in ("slack", "fetch", "mcp-all"))
    for secret in (env["FULL"], env["RESTRICTED"]):
        assert secret.split(".")[2] not in done.stdout + done.stderr + failed.stdout + failed.stderr
