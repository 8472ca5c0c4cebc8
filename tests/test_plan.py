"""The federation's plan (components/plan.py), tested without Pulumi: tool rules, policy rules, verification and
aggregate entries, prefix rules, and the contract with the verifier (verify/plan.py accepts every plan)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.catalog import CatalogError, image_catalog, load_catalog, server_catalog
from components.config import CODE_DIR, CORE_FILE, ConfigError, parse_config, raw_project_config
from components.plan import AggregateTarget, PolicyRules, aggregate_verification_entry, names_are_prefixed, \
    plan_federation, verification_entry
from components.tool_names import TOOL_NAME_RULE
from tests.test_catalog import image_server as _image_server
from render.stack_config import list_stacks, stack_config, with_secret_placeholders
from verify.plan import parse_plan

REPO_ROOT = Path(__file__).resolve().parent.parent


def _stack_config(stack: str):
    """The typed config of a stack file as the CLI would build it (unset secrets get placeholders)."""
    values = stack_config(stack, REPO_ROOT)
    try:
        return parse_config(raw_project_config(values.values)[0])
    except ConfigError as exc:
        if not exc.missing_secrets:
            raise
        return parse_config(raw_project_config(with_secret_placeholders(
            values, list(exc.missing_secrets), "placeholder").values)[0])


def _plan(config):
    return plan_federation(config, {s.name: server_catalog(config.code_dir, s) for s in config.servers})


@pytest.mark.parametrize("stack", list_stacks(REPO_ROOT))
def test_every_stacks_plan_is_accepted_by_the_verifier(stack):
    """The contract: the `verificationPlan` output, as `pulumi stack output --json` prints it, parses in
    verify/plan.py, one route per server and one for the aggregated route, with the stack's paths."""
    config = _stack_config(stack)
    plan = _plan(config)
    routes = parse_plan(json.loads(json.dumps(plan.verification_plan)))
    expected = [(s.name, s.path) for s in config.servers]
    if config.aggregate.enabled:
        expected.append((config.aggregate.name, config.aggregate.path))
    assert [(r.name, r.path) for r in routes] == expected
    assert plan.routes == dict(expected)


def _github_and_slack(**github):
    return parse_config({"servers": [{"name": "github", **github}, {"name": "slack"}],
                         "aggregate": {"enabled": True}, "denyDangerousTools": False})


def test_a_denied_tool_becomes_a_deny_policy_on_its_route_and_on_the_aggregate():
    plan = _plan(_github_and_slack(deniedTools=["delete_repo"]))
    github, slack = plan.servers
    assert github.policy == PolicyRules("Deny", ((None, "delete_repo"),), {})
    assert slack.policy is None
    assert plan.aggregate is not None and [s.server.name for s in plan.aggregate.servers] == ["github", "slack"]
    assert plan.aggregate.policy == PolicyRules("Deny", (("github", "delete_repo"),), {})
    assert plan.verification_plan[0]["deniedTools"] == ["delete_repo"]
    assert plan.verification_plan[2]["deniedTools"] == ["github_delete_repo"]
    assert github.dangerous_tools == "github/delete_repo"
    assert plan.aggregate.dangerous_tools == "github/delete_repo,slack/delete_channel"
    assert (github.upstream_path, github.extra_path_prefixes) == ("/mcp", ())


def test_an_allow_list_on_one_target_makes_the_aggregate_an_allow_list():
    plan = _plan(_github_and_slack(allowedTools=["get_repo"]))
    slack_tools = load_catalog(CODE_DIR, "slack.py").tool_names
    assert plan.servers[0].policy == PolicyRules("Allow", ((None, "get_repo"),), {})
    assert plan.aggregate is not None and plan.aggregate.policy == PolicyRules(
        "Allow", (("github", "get_repo"), *(("slack", tool) for tool in slack_tools)), {})


def test_every_problem_is_raised_before_anything_is_declared():
    config = parse_config({"servers": [{"name": "github", "deniedTools": ["nope"]},
                                       {"name": "slack", "allowedTools": ["nada"]}]})
    with pytest.raises(ConfigError) as caught:
        _plan(config)
    assert [e.split(":")[0] for e in caught.value.errors] == \
        ["servers[0].deniedTools", "servers[1].allowedTools", "servers[1].allowedTools"]  # unknown; no probe tool
    with pytest.raises(ValueError, match="no catalog for server\\(s\\) slack"):
        plan_federation(config, {"github": load_catalog(CODE_DIR, "github.py")})


def test_a_code_servers_config_map_files_come_with_its_catalog():
    catalog = load_catalog(CODE_DIR, "github.py")
    core = sorted({CORE_FILE, *(p.name for p in CODE_DIR.glob("mcp_*.py"))})
    assert list(catalog.files) == [*core, "github.py"]
    assert all(catalog.files[name] == (CODE_DIR / name).read_text(encoding="utf-8") for name in catalog.files)


# --- verification entries of single routes and the aggregated route ----------------------------------------

def test_verification_entry_from_the_catalog():
    catalog = load_catalog(CODE_DIR, "github.py")
    assert verification_entry("github", "/mcp/github", catalog) == {
        "name": "github", "path": "/mcp/github", "expectedTools": catalog.tool_names, "deniedTools": [],
        "probe": {"tool": catalog.probe_tool, "arguments": catalog.probe_arguments}}
    denied = verification_entry("github", "/mcp/github", catalog, denied=("delete_repo",))
    assert denied["deniedTools"] == ["delete_repo"]
    assert "delete_repo" not in denied["expectedTools"] and denied["expectedTools"]


def test_verification_entry_rejects_unknown_or_probe_denials():
    catalog = load_catalog(CODE_DIR, "github.py")
    with pytest.raises(CatalogError, match="^github.py: denied tool\\(s\\) nope are not in its tools$"):
        verification_entry("github", "/mcp/github", catalog, denied=("nope",))
    with pytest.raises(CatalogError, match="^github.py: the probe tool 'get_repo' cannot be denied$"):
        verification_entry("github", "/mcp/github", catalog, denied=("get_repo",))


def test_image_server_plan_entry_has_at_least_and_an_optional_probe():
    with_probe = verification_entry("tools", "/mcp/tools", image_catalog(_image_server(probe="echo")), ("wipe",))
    assert with_probe == {"name": "tools", "path": "/mcp/tools", "expectedTools": ["echo", "get_repo"],
                          "deniedTools": ["wipe"], "probe": {"tool": "echo", "arguments": {"text": "hi"}},
                          "toolsMatch": "atLeast"}
    without = verification_entry("tools", "/mcp/tools", image_catalog(_image_server()))
    assert "probe" not in without and without["toolsMatch"] == "atLeast"
    assert [r.probe_tool for r in parse_plan([with_probe, {**without, "name": "t2", "path": "/t2"}])] == ["echo", None]


def _aggregate(prefix_mode="Conditional", servers=("fetch", "github", "slack")):
    raw = {"servers": [{"name": name} for name in servers],
           "aggregate": {"enabled": True, "prefixMode": prefix_mode}}
    return parse_config(raw).aggregate


def _target(name, denied=()):
    return AggregateTarget(name, load_catalog(CODE_DIR, f"{name}.py"), tuple(denied))


def test_prefixing_follows_agentgateway():
    assert [names_are_prefixed(mode, count) for mode, count in [
        ("Conditional", 1), ("Conditional", 2), ("Always", 1), ("Always", 3), ("Never", 1), ("Never", 3)]] == \
        [False, True, True, True, False, False]


def test_aggregated_entry_with_several_targets_is_prefixed():
    github, slack = load_catalog(CODE_DIR, "github.py"), load_catalog(CODE_DIR, "slack.py")
    entry = aggregate_verification_entry(_aggregate(servers=("github", "slack")),
                                         [_target("github", ["delete_repo"]), _target("slack")])
    assert entry == {
        "name": "mcp-all", "path": "/mcp", "targets": ["github", "slack"],
        "expectedTools": [f"github_{t}" for t in github.tool_names if t != "delete_repo"]
        + [f"slack_{t}" for t in slack.tool_names],
        "deniedTools": ["github_delete_repo"],
        "probe": {"tool": f"github_{github.probe_tool}", "arguments": github.probe_arguments}}
    (route,) = parse_plan([entry])  # the verifier's own parser accepts it
    assert route.targets == ("github", "slack") and route.probe_tool == f"github_{github.probe_tool}"


def test_aggregated_entry_with_one_target_keeps_plain_names_unless_always():
    github = load_catalog(CODE_DIR, "github.py")
    plain = aggregate_verification_entry(_aggregate(servers=("github",)), [_target("github")])
    assert "targets" not in plain and plain["expectedTools"] == github.tool_names
    always = aggregate_verification_entry(_aggregate("Always", servers=("github",)), [_target("github")])
    assert always["targets"] == ["github"] and always["expectedTools"] == [f"github_{t}" for t in github.tool_names]
    parse_plan([plain, {**always, "name": "x", "path": "/x"}])


def test_never_prefix_needs_unique_tool_names():
    unique = aggregate_verification_entry(_aggregate("Never", servers=("github", "slack")),
                                          [_target("github"), _target("slack")])
    assert "targets" not in unique and "get_repo" in unique["expectedTools"]
    twin = AggregateTarget("github2", load_catalog(CODE_DIR, "github.py"))
    with pytest.raises(ConfigError) as caught:
        aggregate_verification_entry(_aggregate("Never", servers=("github", "slack")), [_target("github"), twin])
    (error,) = caught.value.errors
    assert error.startswith("aggregate.prefixMode: 'Never' leaves tool names unprefixed, but get_repo "
                            "(github, github2);")


def test_a_prefixed_name_longer_than_the_mcp_rule_is_a_config_error():
    """A server name (at most 63 characters) and a tool name (at most 128) together can exceed 128: the aggregated
    route would show a name outside the MCP tool-name rule."""
    server = "s" * 63
    image = {"name": server, "type": "image", "image": "example.com/tools:1.0.0",
             "expectedTools": ["echo", "t" * 64, "u" * 65]}
    raw = {"servers": [image, {"name": "github"}], "aggregate": {"enabled": True}}
    config = parse_config(raw)  # each name alone is an MCP tool name
    with pytest.raises(ConfigError) as caught:
        _plan(config)
    assert caught.value.errors == [
        f"aggregate.servers: {server + '_' + 'u' * 65!r} (server {server!r}'s tool {'u' * 65!r} as the aggregated "
        f"route shows it, 129 characters) is not an MCP tool name ({TOOL_NAME_RULE}): shorten the server or tool "
        "name, or leave the server out of aggregate.servers"]
    _plan(parse_config({**raw, "aggregate": {"enabled": True, "prefixMode": "Never"}}))  # no prefix: no problem
    fitting = {**image, "expectedTools": ["echo", "t" * 64]}  # 63 + 1 + 64 = 128
    plan = _plan(parse_config({**raw, "servers": [fitting, {"name": "github"}]})).verification_plan
    assert f"{server}_{'t' * 64}" in plan[-1]["expectedTools"]
    parse_plan(plan)


def test_aggregated_entry_with_an_image_target_is_at_least_and_takes_the_first_probe():
    image = AggregateTarget("tools", image_catalog(_image_server(probe="echo")))
    no_probe = AggregateTarget("bare", image_catalog(_image_server(name="bare")))
    entry = aggregate_verification_entry(_aggregate(servers=("fetch", "github")), [no_probe, image])
    assert entry["toolsMatch"] == "atLeast" and entry["probe"]["tool"] == "tools_echo"
    assert entry["targets"] == ["bare", "tools"]
    only_bare = aggregate_verification_entry(_aggregate(servers=("fetch",)), [no_probe])
    assert "probe" not in only_bare


def test_aggregated_entry_rejects_unknown_denials():
    with pytest.raises(CatalogError, match="denied tool\\(s\\) nope are not in its tools"):
        aggregate_verification_entry(_aggregate(), [_target("github", ["nope"]), _target("slack")])
