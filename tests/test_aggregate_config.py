"""Config of the aggregated route (`aggregate`): defaults, parsed values, and one named error per rule."""
from __future__ import annotations

import json

import pytest

from components.config import AggregateConfig, ConfigError, parse_config, raw_project_config
from components.crds._base import DNS_LABEL

SERVERS = [{"name": "fetch"}, {"name": "github"}, {"name": "slack"}]


def aggregate(**values) -> dict:
    return {"servers": SERVERS, "aggregate": values}


def test_default_is_disabled_with_the_documented_settings():
    assert parse_config({}).aggregate == AggregateConfig(
        enabled=False, path="/mcp", name="mcp-all", prefixMode="Conditional", failureMode="FailClosed",
        sessionRouting="Stateful", servers=("fetch", "github", "slack"))


def test_settings_and_selected_servers():
    config = parse_config(aggregate(enabled=True, path="/all", name="everything", prefixMode="Always",
                                    failureMode="FailOpen", sessionRouting="Stateless", servers=["slack", "fetch"]))
    assert config.aggregate == AggregateConfig(
        enabled=True, path="/all", name="everything", prefixMode="Always", failureMode="FailOpen",
        sessionRouting="Stateless", servers=("slack", "fetch"))


def test_cli_json_text_is_decoded():
    raw, errors = raw_project_config({"mcp-federation:aggregate": json.dumps({"enabled": True})})
    assert errors == [] and raw == {"aggregate": {"enabled": True}}
    assert parse_config(raw).aggregate.enabled is True


def test_target_names_are_dns_labels_so_never_contain_the_prefix_delimiter():
    """agentgateway prefixes tools as <target>_<tool> and splits at the first '_': server (= target) names
    are DNS labels, which cannot contain '_'; a name with '_' is a config error."""
    config = parse_config(aggregate(enabled=True))
    assert all(DNS_LABEL.match(name) and "_" not in name for name in config.aggregate.servers)
    with pytest.raises(ConfigError) as caught:
        parse_config({"servers": [{"name": "git_hub", "code": "github.py"}], "aggregate": {"enabled": True}})
    assert caught.value.errors == ["servers[0].name: 'git_hub' is not a DNS label (lowercase letters, digits "
                                   "and '-', starting and ending alphanumeric)"]


def test_a_disabled_aggregate_does_not_clash():
    """Nothing is declared for a disabled aggregate, so its name/path may equal a server's."""
    config = parse_config({"servers": [{"name": "fetch", "path": "/mcp"}, {"name": "mcp-all", "code": "slack.py"}]})
    assert config.aggregate.enabled is False


def test_more_than_32_targets(tmp_path):
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "mcp_core.py").write_text("")
    servers = []
    for index in range(33):
        (code_dir / f"s{index}.py").write_text("")
        servers.append({"name": f"s{index}"})
    assert len(parse_config({"servers": servers}, code_dir).aggregate.servers) == 33  # disabled: fine
    with pytest.raises(ConfigError) as caught:
        parse_config({"servers": servers, "aggregate": {"enabled": True}}, code_dir)
    assert caught.value.errors == ["aggregate.servers: 33 servers selected, but one AgentgatewayBackend holds at "
                                   "most 32 targets: list at most 32"]
    selected = parse_config({"servers": servers, "aggregate": {"enabled": True,
                                                               "servers": [f"s{i}" for i in range(32)]}}, code_dir)
    assert len(selected.aggregate.servers) == 32


BAD_AGGREGATES = {
    "not an object": ({"servers": SERVERS, "aggregate": True}, "aggregate: True is not an object"),
    "typo": (aggregate(prefix="Always"), "aggregate.prefix: unknown key (did you mean 'prefixMode'?)"),
    "enabled not a boolean": (aggregate(enabled="yes"), "aggregate.enabled: 'yes' is not a boolean"),
    "path relative": (aggregate(path="mcp"), "aggregate.path: 'mcp' is not a URL path starting with '/'"),
    "name not a DNS label": (aggregate(name="MCP_All"), "aggregate.name: 'MCP_All' is not a DNS label"),
    "prefixMode": (aggregate(prefixMode="Sometimes"),
                   "aggregate.prefixMode: 'Sometimes' is not one of Always, Conditional, Never"),
    "failureMode": (aggregate(failureMode="Ignore"),
                    "aggregate.failureMode: 'Ignore' is not one of FailClosed, FailOpen"),
    "sessionRouting": (aggregate(sessionRouting="Sticky"),
                       "aggregate.sessionRouting: 'Sticky' is not one of Stateful, Stateless"),
    "unknown server": (aggregate(servers=["github", "jira"]),
                       "aggregate.servers[1]: 'jira' is not a server name (fetch, github, slack)"),
    "server twice": (aggregate(servers=["github", "github"]), "aggregate.servers[1]: 'github' is listed twice"),
    "servers empty": (aggregate(servers=[]), "aggregate.servers: [] is empty"),
    "servers a string": (aggregate(servers="github"), "aggregate.servers: 'github' is not a list of strings"),
    "path is a server's": (aggregate(enabled=True, path="/mcp/github"),
                           "aggregate.path: '/mcp/github' is already the path of servers[1]"),
    "path is a custom server path": ({"servers": [{"name": "fetch", "path": "/mcp"}], "aggregate": {"enabled": True}},
                                     "aggregate.path: '/mcp' is already the path of servers[0]"),
    "name is a server's": (aggregate(enabled=True, name="slack"),
                           "aggregate.name: 'slack' is already the name of servers[2]"),
}


@pytest.mark.parametrize("raw, expected", BAD_AGGREGATES.values(), ids=BAD_AGGREGATES.keys())
def test_bad_aggregate_is_rejected_with_the_key_and_value(raw, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert len(caught.value.errors) == 1, caught.value.errors
    assert caught.value.errors[0].startswith(expected), caught.value.errors


def test_aggregate_errors_are_collected_with_the_server_errors():
    with pytest.raises(ConfigError) as caught:
        parse_config({"servers": [{"name": "github", "replicas": 0}, {"name": "slack"}],
                      "aggregate": {"enabled": True, "path": "/mcp/slack", "servers": ["github", "nope"],
                                    "failureMode": "x"}})
    assert [e.split(":", 1)[0] for e in caught.value.errors] == [
        "servers[0].replicas", "aggregate.failureMode", "aggregate.servers[1]", "aggregate.path"]
