"""Per-identity tool access (issue 12): group rules compiled into the backend's one Allow rule set, evaluated with
the CEL library the tests use (cel-python) under agentgateway v1.4.1's rule-set semantics
(`crates/agentgateway/src/http/authorization.rs` `RuleSets::validate`: any matching Deny denies, then any matching
Allow allows, otherwise denied if any Allow rule exists; a rule that errors does not match), on a single and on an
aggregated route, and the plan fields the verifier gets."""
from __future__ import annotations

import json

import celpy
import pytest

from components.catalog import load_catalog
from components.config import CODE_DIR, ConfigError, parse_config
from components.tool_access import group_condition
from components.plan import tool_rules
from components.tool_policy import ToolPolicyArgs
from tests.k8s_schema import assert_valid
from tests.pulumi_mocks import cli_config, mocks, run_program  # noqa: F401 (fixture)
from tests.resource_types import POLICY

CATALOGS = {name: load_catalog(CODE_DIR, f"{name}.py") for name in ("fetch", "github", "slack")}
INLINE = json.dumps({"keys": [{"kty": "RSA", "kid": "k1", "n": "sXch", "e": "AQAB"}]})
AUTH = {"mode": "Strict", "providers": [{"issuer": "https://idp.example.com", "audiences": ["mcp"],
                                         "jwks": {"inline": INLINE}}]}
ENVIRONMENT = celpy.Environment()


def matches(expression: str, claims, target: str, tool: str) -> bool:
    """One rule as agentgateway evaluates it: `jwt` is the claims map (null without a validated token), `mcp.tool`
    the tool; an evaluation error is no match (cel/types.rs `eval_bool`)."""
    program = ENVIRONMENT.program(ENVIRONMENT.compile(expression))
    activation = {"jwt": celpy.json_to_cel(claims), "mcp": celpy.json_to_cel({"tool": {"target": target,
                                                                                        "name": tool}})}
    try:
        result = program.evaluate(activation)
    except celpy.CELEvalError:
        return False
    return result is True or (isinstance(result, celpy.celtypes.BoolType) and bool(result))


def allowed(policies: list[dict], claims, target: str, tool: str) -> bool:
    """Every rule set of the backend combined (store/binds.rs: authorization composes)."""
    rules = [(p["action"], e) for p in policies for e in p["policy"]["matchExpressions"]]
    if any(action == "Deny" and matches(e, claims, target, tool) for action, e in rules):
        return False
    allows = [e for action, e in rules if action == "Allow"]
    return not allows or any(matches(e, claims, target, tool) for e in allows)


@pytest.mark.parametrize("claims, expected", [
    ({"groups": ["mcp-writers"]}, True),
    ({"groups": ["readers", "mcp-writers"]}, True),
    ({"groups": ["readers"]}, False),
    ({"groups": "xx-mcp-writers-xx"}, False),      # a string claim: `in` would be a substring test
    ({"groups": "mcp-writers"}, False),
    ({"groups": {"mcp-writers": True}}, False),   # a map claim: `in` would be a key test
    ({"sub": "alice"}, False),                    # claim missing
    ({}, False),
    (None, False),                                # no validated token (Optional/Permissive): jwt is null
])
def test_group_membership_is_list_membership(claims, expected):
    assert matches(group_condition("groups", ["mcp-writers"]), claims, "github", "create_issue") is expected


def test_several_groups_are_any_of_and_the_claim_name_is_configurable():
    condition = group_condition("roles", ["a", "b"])
    assert condition == 'has(jwt.roles) && type(jwt.roles) == list && ("a" in jwt.roles || "b" in jwt.roles)'
    assert matches(condition, {"roles": ["b"]}, "t", "x") and not matches(condition, {"groups": ["a"]}, "t", "x")


def _policies(declared) -> dict[str, list[dict]]:
    """backend name -> its backend.mcp.authorization rule sets, every declared policy object schema-checked."""
    found: dict[str, list[dict]] = {}
    for resource in declared.of_type(POLICY):
        assert_valid(resource.inputs)
        spec = resource.inputs["spec"]
        if "backend" in spec:
            for ref in spec["targetRefs"]:
                found.setdefault(ref["name"], []).append(spec["backend"]["mcp"]["authorization"])
    return found


WRITER, READER, GITHUB_MEMBER = {"groups": ["mcp-writers"]}, {"groups": ["readers"]}, {"groups": ["mcp-github"]}


def test_a_single_route_shows_restricted_tools_to_their_groups_only(mocks):
    declared = run_program(mocks, cli_config("dev", {
        "mcp-federation:auth": AUTH, "mcp-federation:denyDangerousTools": True,
        "mcp-federation:aggregate": {"enabled": False},
        "mcp-federation:servers": [{"name": "github", "toolGroups": {"create_issue": ["mcp-writers"]}},
                                   {"name": "slack", "allowedGroups": ["mcp-slack"]}, {"name": "fetch"}]}))
    policies = _policies(declared)
    assert [p["action"] for p in policies["github"]] == ["Allow"] and len(policies["github"]) == 1  # one set
    github = CATALOGS["github"].tool_names
    for tool in github:
        expected_writer = tool != "delete_repo"              # dangerous: denied for everyone
        assert allowed(policies["github"], WRITER, "github", tool) is expected_writer, tool
        assert allowed(policies["github"], READER, "github", tool) is (expected_writer and tool != "create_issue")
        assert allowed(policies["github"], None, "github", tool) is (expected_writer and tool != "create_issue")
    for tool in CATALOGS["slack"].tool_names:
        assert allowed(policies["slack"], {"groups": ["mcp-slack"]}, "slack", tool) is (tool != "delete_channel")
        assert not allowed(policies["slack"], WRITER, "slack", tool)
        assert not allowed(policies["slack"], {"groups": "mcp-slack"}, "slack", tool)
    assert "fetch" not in policies                         # no rule: every caller sees every tool
    plan = {entry["name"]: entry for entry in declared.outputs["verificationPlan"]}
    assert plan["github"]["toolGroups"] == {"create_issue": ["mcp-writers"]}
    assert plan["slack"]["allowedGroups"] == ["mcp-slack"] and "toolGroups" not in plan["slack"]
    assert plan["github"]["groupsClaim"] == plan["slack"]["groupsClaim"] == "groups"
    assert "groupsClaim" not in plan["fetch"] and plan["fetch"]["auth"] == {"required": True,
                                                                           "resourceMetadata": False}


def test_the_aggregated_route_applies_each_targets_rules(mocks):
    declared = run_program(mocks, cli_config("dev", {
        "mcp-federation:auth": {**AUTH, "groupsClaim": "roles"}, "mcp-federation:denyDangerousTools": True,
        "mcp-federation:aggregate": {"enabled": True, "name": "mcp-all"},
        "mcp-federation:servers": [{"name": "github", "toolGroups": {"create_issue": ["mcp-writers"]}},
                                   {"name": "slack", "allowedGroups": ["mcp-slack"]}, {"name": "fetch"}]}))
    (rules,) = _policies(declared)["mcp-all"]
    assert rules["action"] == "Allow"
    writer, slack_member = {"roles": ["mcp-writers"]}, {"roles": ["mcp-slack"]}
    assert allowed([rules], writer, "github", "create_issue")
    assert not allowed([rules], slack_member, "github", "create_issue")
    assert not allowed([rules], writer, "slack", "create_issue")             # per target: no leak across targets
    assert allowed([rules], slack_member, "slack", "list_channels")
    assert not allowed([rules], writer, "slack", "list_channels")
    assert allowed([rules], None, "fetch", CATALOGS["fetch"].tool_names[0])
    assert not allowed([rules], slack_member, "slack", "delete_channel") and \
        not allowed([rules], writer, "github", "delete_repo")
    (entry,) = [e for e in declared.outputs["verificationPlan"] if e["name"] == "mcp-all"]
    assert "allowedGroups" not in entry   # the targets differ: the route-wide list would be wrong
    assert entry["toolGroups"] == {"github_create_issue": ["mcp-writers"],
                                   **{f"slack_{t}": ["mcp-slack"] for t in CATALOGS["slack"].tool_names
                                      if t != "delete_channel"}}
    assert entry["groupsClaim"] == "roles"


def test_unknown_or_denied_tools_in_tool_groups_are_errors():
    config = parse_config({"auth": AUTH, "servers": [{"name": "github", "toolGroups": {
        "create_isue": ["w"], "delete_repo": ["admins"]}}]})
    with pytest.raises(ConfigError) as caught:
        tool_rules(config, CATALOGS)
    assert caught.value.errors == [
        f"servers[0].toolGroups.create_isue: 'create_isue' is not a tool of server 'github' (its tools: "
        f"{', '.join(CATALOGS['github'].tool_names)})",
        "servers[0].toolGroups.delete_repo: 'delete_repo' is denied on this route for everyone (deniedTools, "
        "allowedTools or denyDangerousTools): remove the group rule"]


def test_a_claim_condition_on_a_deny_rule_is_refused():
    with pytest.raises(ValueError, match="claim conditions need action Allow"):
        ToolPolicyArgs(namespace="mcp", backend_name="b", action="Deny", tools=[(None, "x")],
                       conditions={(None, "x"): group_condition("groups", ["a"])})


def test_an_aggregate_plan_that_cannot_state_the_rules_is_an_error(mocks):
    with pytest.raises(ConfigError) as caught:
        run_program(mocks, cli_config("dev", {
            "mcp-federation:auth": AUTH, "mcp-federation:aggregate": {"enabled": True, "name": "mcp-all"},
            "mcp-federation:servers": [
                {"name": "github", "allowedGroups": ["a"], "toolGroups": {"create_issue": ["w"]}},
                {"name": "slack"}]}))
    assert caught.value.errors[0].startswith("aggregate.servers: tool 'create_issue' of 'github' needs one of "
                                             "allowedGroups ['a'] and one of toolGroups ['w']")
    assert mocks.created == []
