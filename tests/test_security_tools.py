"""Tool authorization (issue 6): CEL expressions, per-server rules from config + catalog, the AgentgatewayPolicy
objects the program declares (validated against the real CRD incl. its CEL rules) and the verification plan."""
from __future__ import annotations

import re

import celpy
import pytest

from components.catalog import load_catalog
from components.cel_literal import cel_string, parse_cel_string
from components.config import CODE_DIR, ConfigError, parse_config
from components.labels import DANGEROUS_TOOLS_ANNOTATION
from components.tool_policy import (
    POLICY_WAIT_FOR,
    ToolPolicy,
    ToolPolicyArgs,
    dangerous_tools_annotation,
    tool_expression,
)
from components.plan import tool_rules
from tests.k8s_schema import assert_valid, validate_object
from tests.pulumi_mocks import cli_config, mocks, restart, run_awaited, run_program  # noqa: F401 (fixture)
from tests.resource_types import BACKEND, POLICY

# The dev stack also enables the aggregated route; its policy is tested in tests/test_aggregate*.py.
NO_AGGREGATE = {"mcp-federation:aggregate": {"enabled": False}}

CATALOGS = {name: load_catalog(CODE_DIR, f"{name}.py") for name in ("fetch", "github", "slack")}


def _cel_matches(expression: str, target: str, tool: str) -> bool:
    """Evaluate a rule the way agentgateway does, with `mcp.tool.{target,name}` bound."""
    environment = celpy.Environment()
    program = environment.program(environment.compile(expression))
    activation = {"mcp": celpy.json_to_cel({"tool": {"target": target, "name": tool}})}
    return bool(program.evaluate(activation))


def test_expressions_have_the_canonical_form():
    assert tool_expression(None, "delete_repo") == 'mcp.tool.name == "delete_repo"'
    assert tool_expression("github", "delete_repo") == \
        'mcp.tool.target == "github" && mcp.tool.name == "delete_repo"'


@pytest.mark.parametrize("target, tool, expected", [
    ("github", "delete_repo", True), ("github", "get_repo", False), ("slack", "delete_repo", False)])
def test_expressions_evaluate_as_cel(target, tool, expected):
    assert _cel_matches(tool_expression(None, "delete_repo"), target, tool) is (tool == "delete_repo")
    assert _cel_matches(tool_expression("github", "delete_repo"), target, tool) is expected


def test_expression_quotes_odd_tool_names():
    odd = 'say "hi"\\now'
    expression = tool_expression(None, odd)
    assert _cel_matches(expression, "t", odd) is True
    assert _cel_matches(expression, "t", "say") is False


def _agentgateway_string(literal: str) -> str:
    """What agentgateway v1.4.1 makes of a double-quoted CEL literal: the lexer's STRING rule (CEL.g4: no raw
    newline or carriage return) and `parse_quoted_string`'s escapes, each `\\u`/`\\U` decoded on its own with
    `char::from_u32`, which refuses a surrogate (crates/cel-fork/cel/src/parser/parse.rs 246-372)."""
    assert literal[0] == literal[-1] == '"' and "\n" not in literal and "\r" not in literal, literal
    simple = {"a": "\a", "b": "\b", "v": "\v", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
              "\\": "\\", "?": "?", "'": "'", '"': '"', "`": "`"}
    out, body, index = [], literal[1:-1], 0
    while index < len(body):
        char = body[index]
        if char == '"':
            raise AssertionError(f"unescaped quote in {literal!r}")
        if char != "\\":
            out.append(char)
            index += 1
            continue
        escape = body[index + 1]
        if escape in simple:
            out.append(simple[escape])
            index += 2
        elif escape in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[escape]
            code = int(body[index + 2:index + 2 + width], 16)
            assert not 0xD800 <= code <= 0xDFFF and code <= 0x10FFFF, f"char::from_u32({code:#x}) fails: {literal!r}"
            out.append(chr(code))
            index += 2 + width
        else:
            raise AssertionError(f"escape \\{escape} is not CEL: {literal!r}")
    return "".join(out)


@pytest.mark.parametrize("tool", ["wipe_\U0001f5d1", "caf\u00e9", "a\x00b\nc\u2028d\x7f", 'q"\\/'])
def test_expressions_of_any_string_compile_in_agentgateway(tool):
    """Non-BMP characters must not become surrogate pairs (json.dumps did): agentgateway replaces a rule it cannot
    compile by one that always errors, so a Deny would never apply."""
    expression = tool_expression("t\U0001f5d1", tool)
    literals = re.findall(r'"(?:[^"\\]|\\.)*"', expression)
    assert [_agentgateway_string(literal) for literal in literals] == ["t\U0001f5d1", tool]
    assert expression.isascii()
    assert _cel_matches(expression, "t\U0001f5d1", tool) is True
    assert _cel_matches(expression, "t\U0001f5d1", tool + "x") is False


def test_cel_literals_round_trip_and_only_the_written_form_parses():
    for value in ("", "delete_repo", 'q"\\', "wipe_\U0001f5d1", "\x00\n\u2028\x7f\u00e9"):
        assert parse_cel_string(cel_string(value)) == value
    assert cel_string("wipe_\U0001f5d1") == '"wipe_\\U0001f5d1"'
    for other in ("'delete_repo'", '"\\ud83d\\uddd1"', '"\\u0041"', '"\\n"', '"a" + "b"', 'r"a"', '"\\x41"'):
        assert parse_cel_string(other) is None, other
    with pytest.raises(ValueError, match="lone surrogate"):
        cel_string("\ud83d")


def test_dangerous_tools_annotation_is_sorted_pairs():
    assert dangerous_tools_annotation([("slack", "delete_channel"), ("github", "delete_repo"),
                                       ("github", "delete_repo")]) == "github/delete_repo,slack/delete_channel"
    assert dangerous_tools_annotation([]) == ""


def _rules(**top):
    return tool_rules(parse_config(top), CATALOGS)


def test_dangerous_tools_are_denied_by_default():
    rules = _rules()
    assert (rules["github"].action, rules["github"].tools, rules["github"].denied) == \
        ("Deny", ("delete_repo",), ("delete_repo",))
    assert (rules["slack"].action, rules["slack"].tools) == ("Deny", ("delete_channel",))
    assert (rules["fetch"].action, rules["fetch"].tools, rules["fetch"].denied) == (None, (), ())


def test_dev_keeps_dangerous_tools_unless_denied_explicitly():
    rules = _rules(denyDangerousTools=False, servers=[{"name": "github", "deniedTools": ["create_issue"]},
                                                      {"name": "slack"}])
    assert (rules["github"].action, rules["github"].tools) == ("Deny", ("create_issue",))
    assert (rules["slack"].action, rules["slack"].denied) == (None, ())


def test_deny_list_adds_to_the_dangerous_tools_in_catalog_order():
    rules = _rules(servers=[{"name": "github", "deniedTools": ["create_issue"]}])
    assert rules["github"].tools == rules["github"].denied == ("create_issue", "delete_repo")


def test_allow_list_hides_every_other_tool():
    rules = _rules(servers=[{"name": "github", "allowedTools": ["list_issues", "get_repo"]}])
    assert (rules["github"].action, rules["github"].tools, rules["github"].denied) == \
        ("Allow", ("list_issues", "get_repo"), ("create_issue", "delete_repo"))


BAD_RULES = {
    "unknown denied tool": ({"servers": [{"name": "github", "deniedTools": ["delete_rep"]}]},
                            "servers[0].deniedTools: 'delete_rep' is not a tool of server 'github' (its tools: "
                            "get_repo, list_issues, create_issue, delete_repo)"),
    "unknown allowed tool": ({"servers": [{"name": "fetch"}, {"name": "slack",
                                                              "allowedTools": ["list_channels", "post"]}]},
                             "servers[1].allowedTools: 'post' is not a tool of server 'slack'"),
    "probe denied": ({"servers": [{"name": "github", "deniedTools": ["get_repo"]}]},
                     "servers[0].deniedTools: the probe tool 'get_repo' cannot be denied"),
    "probe not allowed": ({"servers": [{"name": "github", "allowedTools": ["list_issues"]}]},
                          "servers[0].allowedTools: must include the probe tool 'get_repo'"),
    "dangerous tool allowed": ({"servers": [{"name": "github", "allowedTools": ["get_repo", "delete_repo"]}]},
                               "servers[0].allowedTools: 'delete_repo' is dangerous and denyDangerousTools is true"),
}


@pytest.mark.parametrize("raw, expected", BAD_RULES.values(), ids=BAD_RULES.keys())
def test_impossible_rules_are_config_errors(raw, expected):
    with pytest.raises(ConfigError) as caught:
        tool_rules(parse_config(raw), CATALOGS)
    assert [e for e in caught.value.errors if e.startswith(expected)], caught.value.errors
    assert len(caught.value.errors) == 1, caught.value.errors


def test_dangerous_tool_may_be_allowed_in_dev_and_errors_are_collected():
    assert _rules(denyDangerousTools=False, servers=[{"name": "github", "allowedTools": ["get_repo", "delete_repo"]}])
    with pytest.raises(ConfigError) as caught:
        _rules(servers=[{"name": "github", "deniedTools": ["nope"]}, {"name": "slack", "allowedTools": ["x"]}])
    assert [e.split(":")[0] for e in caught.value.errors] == \
        ["servers[0].deniedTools", "servers[1].allowedTools", "servers[1].allowedTools"]


def test_probe_that_is_dangerous_is_an_error_when_dangerous_tools_are_denied():
    class DangerousProbe:
        tool_names = ["wipe", "read"]
        dangerous_tool_names = ["wipe"]
        probe_tool = "wipe"
    with pytest.raises(ConfigError, match=r"servers\[0\]: the probe tool 'wipe' is dangerous"):
        tool_rules(parse_config({"servers": [{"name": "fetch"}]}), {"fetch": DangerousProbe()})


# --- the program ----------------------------------------------------------------------------------------------

def test_program_declares_one_valid_policy_per_backend_with_something_to_deny(mocks):
    declared = run_program(mocks, cli_config("dev", {"mcp-federation:denyDangerousTools": True, **NO_AGGREGATE}))
    policies = {r.name: r.inputs for r in declared.of_type(POLICY)}
    # fetch has no dangerous tool: no policy; everything (the image server) has two
    assert sorted(policies) == ["everything-tools", "github-tools", "slack-tools"]
    for server, tools in (("github", ["delete_repo"]), ("slack", ["delete_channel"]),
                          ("everything", ["get-env", "gzip-file-as-resource"])):
        policy = policies[f"{server}-tools"]
        assert_valid(policy)
        assert policy["metadata"] == {"name": f"{server}-tools", "namespace": "mcp",
                                      "labels": {"app.kubernetes.io/part-of": "mcp-federation"},
                                      "annotations": {"pulumi.com/waitFor": POLICY_WAIT_FOR}}
        backend = declared.one(BACKEND, f"{server}-backend").inputs
        assert policy["spec"] == {
            "targetRefs": [{"group": "agentgateway.dev", "kind": "AgentgatewayBackend",
                            "name": backend["metadata"]["name"]}],
            "backend": {"mcp": {"authorization": {"action": "Deny", "policy": {
                "matchExpressions": [f'mcp.tool.name == "{tool}"' for tool in tools]}}}}}
        assert backend["metadata"]["namespace"] == policy["metadata"]["namespace"]
        assert declared.parent_type(declared.one(POLICY, f"{server}-tools")) == \
            "mcpfederation:components:ToolPolicy"
    plan = {entry["name"]: entry for entry in declared.outputs["verificationPlan"]}
    assert plan["github"]["deniedTools"] == ["delete_repo"]
    assert "delete_repo" not in plan["github"]["expectedTools"]
    assert plan["slack"]["deniedTools"] == ["delete_channel"]
    assert plan["fetch"]["deniedTools"] == []
    assert plan["everything"]["deniedTools"] == ["get-env", "gzip-file-as-resource"]
    assert "get-env" not in plan["everything"]["expectedTools"] and plan["everything"]["toolsMatch"] == "atLeast"


def test_every_backend_carries_the_dangerous_tools_annotation(mocks):
    declared = run_program(mocks, cli_config("dev", NO_AGGREGATE))
    annotations = {r.name: r.inputs["metadata"]["annotations"][DANGEROUS_TOOLS_ANNOTATION]
                   for r in declared.of_type(BACKEND)}
    assert annotations == {"fetch-backend": "", "github-backend": "github/delete_repo",
                           "slack-backend": "slack/delete_channel",
                           "everything-backend": "everything/get-env,everything/gzip-file-as-resource"}
    assert declared.of_type(POLICY) == []  # dev: denyDangerousTools false, nothing listed


def test_allow_list_reaches_the_policy_and_the_plan(mocks):
    declared = run_program(mocks, cli_config("dev", {**NO_AGGREGATE, "mcp-federation:servers": [
        {"name": "github", "allowedTools": ["get_repo", "list_issues"]}]}))
    (policy,) = declared.of_type(POLICY)
    assert_valid(policy.inputs)
    authorization = policy.inputs["spec"]["backend"]["mcp"]["authorization"]
    assert authorization == {"action": "Allow", "policy": {"matchExpressions": [
        'mcp.tool.name == "get_repo"', 'mcp.tool.name == "list_issues"']}}
    (entry,) = declared.outputs["verificationPlan"]
    assert (entry["expectedTools"], entry["deniedTools"]) == (["get_repo", "list_issues"],
                                                              ["create_issue", "delete_repo"])


def test_bad_tool_names_declare_nothing(mocks):
    with pytest.raises(ConfigError, match="'delete_rep' is not a tool of server 'github'"):
        run_program(mocks, cli_config("dev", {"mcp-federation:servers": [
            {"name": "github", "deniedTools": ["delete_rep"]}]}))
    assert [r.typ for r in mocks.created if r.typ.startswith("kubernetes:")] == []


def test_aggregated_policy_qualifies_each_rule_by_target_and_is_crd_valid(mocks):
    declared = run_awaited(restart(mocks), lambda: ([ToolPolicy("mcp-all", ToolPolicyArgs(
        namespace="mcp", backend_name="mcp-all", action="Deny",
        tools=[("github", "delete_repo"), ("slack", "delete_channel")]))], {}))
    (policy,) = declared.of_type(POLICY)
    assert_valid(policy.inputs)
    assert policy.inputs["spec"]["backend"]["mcp"]["authorization"]["policy"]["matchExpressions"] == [
        'mcp.tool.target == "github" && mcp.tool.name == "delete_repo"',
        'mcp.tool.target == "slack" && mcp.tool.name == "delete_channel"']


def test_the_crd_would_reject_a_policy_on_a_backend_section():
    """The schema check used above can fail: the CRD's CEL rule forbids sectionName for backend.mcp."""
    bad = {"apiVersion": "agentgateway.dev/v1alpha1", "kind": "AgentgatewayPolicy",
           "metadata": {"name": "x", "namespace": "mcp"},
           "spec": {"targetRefs": [{"group": "agentgateway.dev", "kind": "AgentgatewayBackend", "name": "b",
                                    "sectionName": "github"}],
                    "backend": {"mcp": {"authorization": {"action": "Deny",
                                                          "policy": {"matchExpressions": ["true"]}}}}}}
    assert validate_object(bad)


@pytest.mark.parametrize("kwargs, message", [
    ({"action": "Require", "tools": [(None, "x")]}, "ToolPolicyArgs.action: 'Require' is not Deny or Allow"),
    ({"action": "Deny", "tools": []}, "ToolPolicyArgs.tools: is empty"),
])
def test_tool_policy_args_refuse_what_cannot_be_rendered(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ToolPolicyArgs(namespace="mcp", backend_name="b", **kwargs)
