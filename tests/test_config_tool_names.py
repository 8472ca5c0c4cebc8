"""Every tool name a stack file states follows the MCP tool-name rule (components/tool_names.py): servers[].
expectedTools, dangerousTools, deniedTools, allowedTools, the keys of toolGroups and probe.tool. The config refuses
a bad one naming the key, the value and the rule; the stack files' JSON Schema refuses it too."""
from __future__ import annotations

import json

import jsonschema
import pytest

from components.catalog import image_catalog
from components.config import ConfigError, parse_config
from components.config.schema import SCHEMA_FILE
from components.tool_names import TOOL_NAME_RULE

RULE = f"is not an MCP tool name ({TOOL_NAME_RULE})"
AUTH = {"mode": "Strict", "providers": [{"issuer": "https://idp.example.com/realms/mcp", "audiences": ["mcp"],
                                         "jwks": {"inline": json.dumps({"keys": [{"kty": "RSA", "kid": "k1"}]})}}]}
IMAGE = {"name": "tools", "type": "image", "image": "example.com/tools:1.0.0",
         "expectedTools": ["echo", "get_repo", "wipe"]}

# (the server entry, the one error it must produce). Each bad name breaks the rule a different way.
BAD_NAMES = {
    "deniedTools with a space": ({"name": "github", "deniedTools": ["delete_repo", "wipe files"]},
                                 f"servers[0].deniedTools[1]: 'wipe files' {RULE}"),
    "allowedTools empty name": ({"name": "github", "allowedTools": ["get_repo", ""]},
                                f"servers[0].allowedTools[1]: '' {RULE}"),
    "allowedTools too long": ({"name": "github", "allowedTools": ["a" * 129]},
                              f"servers[0].allowedTools[0]: {'a' * 129!r} {RULE}"),
    "toolGroups key with a slash": ({"name": "github", "toolGroups": {"get_repo": ["r"], "github/create": ["w"]}},
                                    f"servers[0].toolGroups.github/create: 'github/create' {RULE}"),
    "expectedTools with a comma": ({**IMAGE, "expectedTools": ["echo", "wipe,all"]},
                                   f"servers[0].expectedTools[1]: 'wipe,all' {RULE}"),
    "expectedTools with a trailing newline": ({**IMAGE, "expectedTools": ["echo\n"]},
                                              f"servers[0].expectedTools[0]: 'echo\\n' {RULE}"),
    "dangerousTools not ASCII": ({**IMAGE, "expectedTools": ["echo", "wipe_\U0001f5d1"],
                                  "dangerousTools": ["wipe_\U0001f5d1"]},
                                 # one mistake in two keys: each key names it
                                 f"servers[0].expectedTools[1]: 'wipe_\U0001f5d1' {RULE}"),
    "probe.tool with a space": ({**IMAGE, "probe": {"tool": "ec ho"}},
                                f"servers[0].probe.tool: 'ec ho' {RULE}"),
}


@pytest.mark.parametrize("entry, expected", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_a_tool_name_outside_the_mcp_rule_is_refused_naming_the_key(entry, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config({"servers": [entry], "auth": AUTH})
    assert caught.value.errors[0] == expected, caught.value.errors


def test_a_bad_name_in_two_keys_is_reported_in_both_and_nothing_else():
    entry = {**IMAGE, "expectedTools": ["echo", "wipe all"], "dangerousTools": ["wipe all"]}
    with pytest.raises(ConfigError) as caught:
        parse_config({"servers": [entry]})
    assert caught.value.errors == [f"servers[0].expectedTools[1]: 'wipe all' {RULE}",
                                   f"servers[0].dangerousTools[0]: 'wipe all' {RULE}"]


def test_names_at_the_edges_of_the_rule_are_accepted():
    edge = ["a", "A.b-c_9", "x" * 128]
    (server,) = parse_config({"servers": [{**IMAGE, "expectedTools": edge, "dangerousTools": [edge[1]],
                                           "probe": {"tool": "a"}}]}).servers
    assert image_catalog(server).tool_names == edge
    (code,) = parse_config({"servers": [{"name": "github", "deniedTools": edge,
                                         "toolGroups": {name: ["g"] for name in edge}}], "auth": AUTH}).servers
    assert code.denied_tools == tuple(edge) and list(code.tool_groups) == edge


def _schema_error_paths(servers: list) -> list[str]:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    document = {"config": {"mcp-federation:servers": servers}}
    return sorted(".".join(map(str, error.absolute_path)) for error in validator.iter_errors(document))


def test_the_schema_refuses_what_the_config_refuses():
    """Each bad name is an error at its key (a key that may be null reports the whole value: `anyOf`). The trailing
    newline is left out: the jsonschema package matches patterns with Python's `re.search`, whose `$` also matches
    before a final newline; an editor's ECMA-262 `$` does not."""
    at = "config.mcp-federation:servers"
    entries = [entry for name, (entry, _) in BAD_NAMES.items() if "newline" not in name]
    assert _schema_error_paths(entries) == sorted([
        f"{at}.0.deniedTools.1", f"{at}.1.allowedTools", f"{at}.2.allowedTools", f"{at}.3.toolGroups",
        f"{at}.4.expectedTools", f"{at}.5.expectedTools", f"{at}.5.dangerousTools.0", f"{at}.6.probe"])
    good = [{"name": "github", "deniedTools": ["delete_repo"], "toolGroups": {"get_repo": ["r"]}},
            {**IMAGE, "probe": {"tool": "echo"}}]
    assert _schema_error_paths(good) == []
