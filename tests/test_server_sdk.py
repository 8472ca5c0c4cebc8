"""Each mock server, run as its Deployment runs it, driven by the official MCP Python SDK client."""
from __future__ import annotations

import asyncio
import json

import pytest
from mcp import Client, MCPError

from tests.server_process import start_server

# One valid call per tool; the test below checks this covers the whole catalog.
EXAMPLES = {
    "github": {
        "get_repo": {"owner": "octocat", "repo": "hello-world"},
        "list_issues": {"owner": "octocat", "repo": "hello-world", "state": "all", "limit": 3},
        "create_issue": {"owner": "octocat", "repo": "hello-world", "title": "Bug", "labels": ["bug"]},
        "delete_repo": {"owner": "octocat", "repo": "hello-world", "confirm": "octocat/hello-world"},
    },
    "slack": {
        "list_channels": {"limit": 2},
        "send_message": {"channel": "#general", "text": "hello"},
        "get_messages": {"channel": "engineering", "limit": 4},
        "delete_channel": {"channel": "random"},
    },
    "fetch": {"fetch": {"url": "https://example.com/page", "max_length": 40}},
}
# A call with a wrong argument per server, and the argument name the error text must mention.
BAD_ARGUMENTS = {
    "github": ("list_issues", {"owner": "octocat", "repo": "x", "limit": "ten"}, "limit"),
    "slack": ("send_message", {"channel": "general"}, "text"),
    "fetch": ("fetch", {"url": 42}, "url"),
}
MODES = ["legacy", "auto"]


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    started = {}
    try:
        for name in EXAMPLES:
            started[name] = start_server(name, tmp_dir=tmp_path_factory.mktemp(name))
        yield started
    finally:
        for server in started.values():
            server.stop()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=60))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(EXAMPLES))
def test_sdk_lists_and_calls_every_tool(servers, name, mode):
    async def flow():
        async with Client(servers[name].url, mode=mode, read_timeout_seconds=30) as client:
            assert client.protocol_version == "2025-11-25"
            assert client.server_info.name == name
            assert client.server_capabilities.tools is not None
            page = await client.list_tools()
            assert page.next_cursor is None
            listed = {t.name: t for t in page.tools}
            assert set(listed) == set(EXAMPLES[name])
            for tool_name, arguments in EXAMPLES[name].items():
                assert listed[tool_name].annotations.destructive_hint is tool_name.startswith("delete_")
                first = await client.call_tool(tool_name, arguments)
                again = await client.call_tool(tool_name, arguments)
                assert first.is_error is False, first.content
                assert isinstance(first.structured_content, dict) and first.structured_content
                assert json.loads(first.content[0].text) == first.structured_content
                assert again.structured_content == first.structured_content  # deterministic
            with pytest.raises(MCPError) as unknown:
                await client.call_tool("no_such_tool", {})
            assert unknown.value.code == -32602 and "no_such_tool" in unknown.value.message
            tool_name, arguments, bad = BAD_ARGUMENTS[name]
            invalid = await client.call_tool(tool_name, arguments)
            assert invalid.is_error is True and f"'{bad}'" in invalid.content[0].text

    run(flow())


def test_sdk_business_error_is_a_tool_error_result(servers):
    async def flow():
        async with Client(servers["slack"].url, mode="legacy", read_timeout_seconds=30) as client:
            result = await client.call_tool("send_message", {"channel": "#nope", "text": "x"})
            assert result.is_error is True and "channel_not_found" in result.content[0].text

    run(flow())


@pytest.mark.filterwarnings("ignore:ping is removed")
def test_sdk_ping_in_legacy_mode(servers):
    async def flow():
        async with Client(servers["fetch"].url, mode="legacy", read_timeout_seconds=30) as client:
            assert (await client.send_ping()) is not None

    run(flow())


@pytest.mark.parametrize("mode", MODES)
def test_sdk_follows_tools_list_cursors(tmp_path, mode):
    server = start_server("github", env={"MCP_PAGE_SIZE": "1"}, tmp_dir=tmp_path)

    async def flow():
        async with Client(server.url, mode=mode, read_timeout_seconds=30) as client:
            names, cursor, pages = [], None, 0
            while True:
                page = await client.list_tools(cursor=cursor, cache_mode="bypass")
                names += [t.name for t in page.tools]
                pages += 1
                cursor = page.next_cursor
                if cursor is None:
                    return names, pages

    try:
        names, pages = run(flow())
    finally:
        server.stop()
    assert names == list(EXAMPLES["github"]) and pages == 4
