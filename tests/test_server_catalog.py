"""The catalog contract other code relies on (TOOLS, PROBE), import without side effects, argument validation."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import jsonschema
import pytest

from tests.server_process import REPO_ROOT, SERVER_CODE

sys.path.insert(0, str(SERVER_CODE))
import fetch  # noqa: E402
import github  # noqa: E402
import mcp_core  # noqa: E402
import slack  # noqa: E402

SERVERS = {"github": github, "slack": slack, "fetch": fetch}
EXPECTED_TOOLS = {
    "github": ["get_repo", "list_issues", "create_issue", "delete_repo"],
    "slack": ["list_channels", "send_message", "get_messages", "delete_channel"],
    "fetch": ["fetch"],
}
DANGEROUS = {"delete_repo", "delete_channel"}


@pytest.mark.parametrize("name", SERVERS)
def test_catalog_has_the_issue_tools_with_valid_schemas(name):
    tools = SERVERS[name].TOOLS
    assert [t.name for t in tools] == EXPECTED_TOOLS[name]
    for tool in tools:
        assert isinstance(tool.description, str) and tool.description.strip()
        jsonschema.Draft202012Validator.check_schema(tool.input_schema)
        assert tool.input_schema["type"] == "object"
        assert tool.dangerous is (tool.name in DANGEROUS)
        if tool.dangerous:
            assert "DANGEROUS" in tool.description
            assert tool.listing()["annotations"]["destructiveHint"] is True


@pytest.mark.parametrize("name", SERVERS)
def test_probe_is_a_safe_valid_call_that_succeeds(name):
    module = SERVERS[name]
    tools = {t.name: t for t in module.TOOLS}
    probe = module.PROBE
    assert set(probe) == {"tool", "arguments"}
    tool = tools[probe["tool"]]
    assert not tool.dangerous and tool.read_only
    jsonschema.validate(probe["arguments"], tool.input_schema)
    assert mcp_core.schema_errors(probe["arguments"], tool.input_schema) == []
    assert isinstance(tool.handler(dict(probe["arguments"])), dict)


def test_fetch_max_length_cuts_content_and_is_optional():
    full = fetch.fetch({"url": "https://example.com/a"})
    cut = fetch.fetch({"url": "https://example.com/a", "max_length": 10})
    assert len(cut["content"]) == 10 and cut["truncated"] is True
    assert full["content"].startswith(cut["content"]) and full["truncated"] is False


@pytest.mark.parametrize("name", SERVERS)
def test_import_has_no_side_effects(name):
    """Import with only server_code/ on sys.path, a PORT that would fail start-up, and check nothing ran."""
    code = (
        "import sys, threading, socket\n"
        f"sys.path[:0] = [{str(SERVER_CODE)!r}]\n"
        "opened = []\n"
        "real = socket.socket.__init__\n"
        "def spy(self, *a, **k):\n"
        "    opened.append(a); real(self, *a, **k)\n"
        "socket.socket.__init__ = spy\n"
        f"import {name} as m\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert opened == [], opened\n"
        "print(len(m.TOOLS), m.PROBE['tool'])\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PORT": "not-a-port", "MCP_PAGE_SIZE": "zero", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(len(EXPECTED_TOOLS[name])), SERVERS[name].PROBE["tool"]]


# Arguments the validator must judge exactly like the reference implementation (jsonschema) does.
ARGUMENT_CASES = [
    ("github", "get_repo", {"owner": "octocat", "repo": "hello-world"}),
    ("github", "get_repo", {"owner": "octocat"}),
    ("github", "get_repo", {"owner": 7, "repo": "x"}),
    ("github", "get_repo", {"owner": "", "repo": "x"}),
    ("github", "get_repo", {"owner": "bad name", "repo": "x"}),
    ("github", "get_repo", {"owner": "a", "repo": "b", "extra": 1}),
    ("github", "list_issues", {"owner": "a", "repo": "b", "state": "closed", "limit": 3}),
    ("github", "list_issues", {"owner": "a", "repo": "b", "state": "merged"}),
    ("github", "list_issues", {"owner": "a", "repo": "b", "limit": 0}),
    ("github", "list_issues", {"owner": "a", "repo": "b", "limit": 101}),
    ("github", "list_issues", {"owner": "a", "repo": "b", "limit": 2.0}),
    ("github", "list_issues", {"owner": "a", "repo": "b", "limit": 2.5}),
    ("github", "list_issues", {"owner": "a", "repo": "b", "limit": True}),
    ("github", "list_issues", {"owner": "a", "repo": "b", "limit": "3"}),
    ("github", "create_issue", {"owner": "a", "repo": "b", "title": "t", "labels": ["bug", "ui"]}),
    ("github", "create_issue", {"owner": "a", "repo": "b", "title": "t", "labels": ["bug", 3]}),
    ("github", "create_issue", {"owner": "a", "repo": "b", "title": "t", "labels": "bug"}),
    ("github", "create_issue", {"owner": "a", "repo": "b", "title": "t", "body": None}),
    ("github", "delete_repo", {"owner": "a", "repo": "b"}),
    ("slack", "list_channels", {}),
    ("slack", "list_channels", {"limit": None}),
    ("slack", "send_message", {"channel": "#general", "text": "hi"}),
    ("slack", "send_message", {"channel": "#general", "text": ""}),
    ("slack", "send_message", {"channel": ["general"], "text": "hi"}),
    ("slack", "get_messages", {"channel": "general", "limit": 100}),
    ("fetch", "fetch", {"url": "https://example.com/x?y=1"}),
    ("fetch", "fetch", {"url": "ftp://example.com/"}),
    ("fetch", "fetch", {"url": "https://example.com/", "max_length": -1}),
    ("fetch", "fetch", {"max_length": 5}),
]


@pytest.mark.parametrize("server,tool_name,arguments", ARGUMENT_CASES)
def test_argument_validation_agrees_with_jsonschema(server, tool_name, arguments):
    schema = {t.name: t for t in SERVERS[server].TOOLS}[tool_name].input_schema
    reference_ok = jsonschema.Draft202012Validator(schema).is_valid(arguments)
    errors = mcp_core.schema_errors(arguments, schema)
    assert (errors == []) is reference_ok, errors
    if errors:  # each message names an argument (or the missing one)
        names = set(arguments) | set(schema.get("required", []))
        assert all(any(f"'{n}" in e for n in names) for e in errors), errors


def test_handlers_are_deterministic():
    args = {"owner": "a", "repo": "b", "title": "t", "body": "x"}
    assert github.create_issue(dict(args)) == github.create_issue(dict(args))
    assert json.dumps(slack.get_messages({"channel": "random"})) == json.dumps(slack.get_messages({"channel": "random"}))


@pytest.mark.parametrize("parts", [("stars", "octocat/hello-world"), ('quote " back \\ slash', "é ü 日本", "\x00\n"),
                                   ("x",), (), ("mixed", 7, None, 2.5), ({"b": 1, "a": [2]},)])
def test_stable_int_is_the_sha256_of_the_json_of_its_parts(parts):
    """The mock data must not change between versions: the fast path for strings gives the encoder's value."""
    encoded = json.dumps(parts, sort_keys=True, default=str).encode()
    expected = int.from_bytes(hashlib.sha256(encoded).digest()[:8], "big") % 9973
    assert mcp_core.stable_int(*parts, upper=9973) == expected
