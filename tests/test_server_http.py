"""Every protocol rule and error case of the mock servers, over raw HTTP with `requests`."""
from __future__ import annotations

import http.client
import json
import sys

import pytest
import requests

from tests.server_process import ACCEPT, SERVER_CODE, RawMcp, start_server

sys.path.insert(0, str(SERVER_CODE))
import mcp_core  # noqa: E402

KEY = "http-test-key-0123456789abcdef"
ALLOWED_ORIGIN = "https://console.example"
MAX_BODY = 4096


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"MCP_SESSION_KEY": KEY, "MCP_ALLOWED_ORIGINS": f"{ALLOWED_ORIGIN}, https://other.example",
           "MCP_PAGE_SIZE": "3", "MCP_MAX_BODY_BYTES": str(MAX_BODY)}
    proc = start_server("github", env=env, tmp_dir=tmp_path_factory.mktemp("github"))
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def client(server):
    mcp = RawMcp(server.url)
    mcp.initialize()
    yield mcp
    mcp.http.close()


def assert_rpc_error(reply: requests.Response, status: int, code: int, request_id=None) -> dict:
    """Check an error reply: HTTP status, JSON content type and length, JSON-RPC error code and id."""
    assert reply.status_code == status, reply.text
    assert reply.headers["Content-Type"] == "application/json"
    assert int(reply.headers["Content-Length"]) == len(reply.content)
    body = reply.json()
    assert body["jsonrpc"] == "2.0" and body["id"] == request_id and "result" not in body
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def result_of(reply: requests.Response, request_id=1) -> dict:
    assert reply.status_code == 200, reply.text
    assert reply.headers["Content-Type"] == "application/json"
    assert int(reply.headers["Content-Length"]) == len(reply.content)
    body = reply.json()
    assert body["id"] == request_id and "error" not in body, body
    return body["result"]


# --- initialize and version negotiation

@pytest.mark.parametrize("requested,expected", [
    ("2025-11-25", "2025-11-25"), ("2025-06-18", "2025-06-18"), ("2025-03-26", "2025-03-26"),
    ("2024-11-05", "2024-11-05"), ("2099-01-01", "2025-11-25"), ("2026-07-28", "2025-11-25"),
])
def test_initialize_negotiates_version_and_issues_session(server, requested, expected):
    mcp = RawMcp(server.url)
    reply = mcp.initialize(requested)
    result = result_of(reply, request_id=0)
    assert result["protocolVersion"] == expected
    assert result["capabilities"]["tools"] == {"listChanged": False}
    assert result["serverInfo"] == {"name": "github", "version": "1.0.0"}
    session = reply.headers["Mcp-Session-Id"]
    assert session and all(0x21 <= ord(c) <= 0x7E for c in session)
    assert result_of(mcp.request("ping")) == {}


def test_initialize_without_protocol_version_is_invalid_params(server):
    reply = RawMcp(server.url).post({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {}})
    assert "protocolVersion" in assert_rpc_error(reply, 200, -32602, request_id="init")["message"]


def test_string_ids_are_echoed_unchanged(client):
    assert result_of(client.request("ping", request_id="abc-1"), request_id="abc-1") == {}


# --- sessions

def test_request_without_session_is_400(client):
    reply = client.post({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}, with_session=False)
    assert "Mcp-Session-Id" in assert_rpc_error(reply, 400, -32600, request_id=5)["message"]


def test_notification_without_session_is_400(client):
    reply = client.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, with_session=False)
    assert_rpc_error(reply, 400, -32600)


def forged_sessions():
    tokens = mcp_core.SessionTokens(KEY.encode(), "github", ttl_seconds=3600)
    good = tokens.issue()
    return {
        "garbage": "not-a-session",
        "other-key": mcp_core.SessionTokens(b"another-key-0123456789", "github", 3600).issue(),
        "other-server": mcp_core.SessionTokens(KEY.encode(), "slack", 3600).issue(),
        "expired": tokens.issue(issued_at=1_000_000),
        "from-the-future": tokens.issue(issued_at=4_000_000_000),
        "tampered": good[:-1] + ("0" if good[-1] != "0" else "1"),
    }


@pytest.mark.parametrize("kind", list(forged_sessions()))
def test_unknown_or_invalid_session_is_404(client, kind):
    client.session_id = forged_sessions()[kind]
    assert_rpc_error(client.request("tools/list", request_id=9), 404, -32600, request_id=9)


def test_session_made_with_the_shared_key_is_accepted(client):
    client.session_id = mcp_core.SessionTokens(KEY.encode(), "github", 3600).issue()
    assert result_of(client.request("ping")) == {}


def test_delete_ends_the_session(client):
    assert client.delete().status_code == 204
    assert_rpc_error(client.request("ping"), 404, -32600, request_id=1)
    assert_rpc_error(client.delete(), 404, -32600)


def test_delete_without_session_is_400(server):
    assert_rpc_error(requests.delete(server.url, timeout=20), 400, -32600)


# --- notifications, responses, ping, unknown methods

@pytest.mark.parametrize("message", [
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}},
    {"jsonrpc": "2.0", "id": 77, "result": {}},
    {"jsonrpc": "2.0", "id": "s-1", "error": {"code": -1, "message": "no"}},
])
def test_notifications_and_client_responses_get_202_empty(client, message):
    reply = client.post(message)
    assert reply.status_code == 202 and reply.content == b""
    assert reply.headers["Content-Length"] == "0"


@pytest.mark.parametrize("method", ["no/such", "resources/list", "server/discover"])
def test_unknown_method_is_32601(client, method):
    assert_rpc_error(client.request(method, {}, request_id=4), 200, -32601, request_id=4)


def test_modern_discover_probe_gets_32601_so_clients_fall_back(server):
    """What the SDK's mode="auto" sends first: no session, MCP-Protocol-Version 2026-07-28."""
    reply = RawMcp(server.url).post({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {}},
                                    headers={"MCP-Protocol-Version": "2026-07-28"})
    assert_rpc_error(reply, 200, -32601, request_id=1)


def test_params_that_are_not_an_object_are_invalid_params(client):
    assert_rpc_error(client.post({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": [1]}),
                     200, -32602, request_id=2)


# --- tools/list pagination

def test_tools_list_pages_with_cursor(client):
    first = result_of(client.request("tools/list"))
    assert [t["name"] for t in first["tools"]] == ["get_repo", "list_issues", "create_issue"]
    second = result_of(client.request("tools/list", {"cursor": first["nextCursor"]}))
    assert [t["name"] for t in second["tools"]] == ["delete_repo"] and "nextCursor" not in second
    for tool in first["tools"] + second["tools"]:
        assert set(tool) >= {"name", "description", "inputSchema"}


@pytest.mark.parametrize("cursor", ["bogus", "", 3, "b2Zmc2V0Ojk5"])  # last: a well-formed offset past the end
def test_invalid_cursor_is_invalid_params(client, cursor):
    assert_rpc_error(client.request("tools/list", {"cursor": cursor}), 200, -32602, request_id=1)


# --- tools/call

def test_tools_call_returns_text_and_structured_content(client):
    result = result_of(client.call_tool("get_repo", {"owner": "octocat", "repo": "hello-world"}))
    assert result["isError"] is False
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
    assert result["structuredContent"]["full_name"] == "octocat/hello-world"


@pytest.mark.parametrize("arguments,named", [
    ({"owner": "octocat"}, "repo"),
    ({"owner": "octocat", "repo": 5}, "repo"),
    ({"owner": "octocat", "repo": "x", "verbose": True}, "verbose"),
])
def test_bad_arguments_give_is_error_result_naming_the_argument(client, arguments, named):
    result = result_of(client.call_tool("get_repo", arguments))
    assert result["isError"] is True and f"'{named}'" in result["content"][0]["text"]


@pytest.mark.parametrize("params,words", [
    ({"name": "no_such_tool", "arguments": {}}, "no_such_tool"),
    ({"arguments": {}}, "name"),
    ({"name": "get_repo", "arguments": ["octocat"]}, "arguments"),
])
def test_bad_tools_call_params_are_32602(client, params, words):
    assert words in assert_rpc_error(client.request("tools/call", params), 200, -32602, request_id=1)["message"]


# --- malformed bodies

BAD_BODIES = {  # body, HTTP status, JSON-RPC code, id echoed in the error (None when it cannot be read)
    "malformed JSON": (b'{"jsonrpc": "2.0", "id": 1, "method": ', 400, -32700, None),
    "empty body": (b"", 400, -32700, None),
    "non-UTF-8 bytes": (b'{"jsonrpc": "2.0", "id": 1, "method": "ping\xff\xfe"}', 400, -32700, None),
    "JSON array (batch)": (b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', 400, -32600, None),
    "empty array": (b"[]", 400, -32600, None),
    "JSON number": (b"42", 400, -32600, None),
    "JSON string": (b'"ping"', 400, -32600, None),
    "no jsonrpc member": (b'{"id": 1, "method": "ping"}', 400, -32600, 1),
    "jsonrpc 1.0": (b'{"jsonrpc": "1.0", "id": "a", "method": "ping"}', 400, -32600, "a"),
    "null id": (b'{"jsonrpc": "2.0", "id": null, "method": "ping"}', 400, -32600, None),
    "boolean id": (b'{"jsonrpc": "2.0", "id": true, "method": "ping"}', 400, -32600, None),
    "method not a string": (b'{"jsonrpc": "2.0", "id": 1, "method": 7}', 400, -32600, 1),
    "neither request nor response": (b'{"jsonrpc": "2.0", "id": 1}', 400, -32600, 1),
    "lone surrogate in the method": (b'{"jsonrpc": "2.0", "id": 1, "method": "\\ud800"}', 400, -32700, None),
    "lone surrogate in a string id": (b'{"jsonrpc": "2.0", "id": "\\udfff", "method": "ping"}', 400, -32700, None),
    "lone surrogate in a tool name": (b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", '
                                      b'"params": {"name": "get_repo\\uD83D"}}', 400, -32700, None),
    "nesting deeper than the recursion limit": (b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": '
                                                + b"[" * 3000, 400, -32700, None),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_bad_body_gets_json_rpc_error_not_a_dropped_connection(client, case):
    body, status, code, request_id = BAD_BODIES[case]
    assert_rpc_error(client.post(body), status, code, request_id=request_id)


def test_a_surrogate_pair_is_not_mistaken_for_a_lone_surrogate(client):
    reply = client.post(b'{"jsonrpc": "2.0", "id": "\\ud83d\\ude00", "method": "ping"}')
    assert result_of(reply, request_id="\U0001f600") == {}


@pytest.mark.parametrize("method", [b"POST", b"DELETE"])
def test_non_ascii_bytes_in_the_session_id_are_404_not_a_crash(server, method):
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}' if method == b"POST" else b""
    reply = raw_exchange(server, method + b" /mcp HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                                 b"Mcp-Session-Id: v1.1f.00.\xe9\xff\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    assert reply.status == 404 and json.loads(reply.body)["error"]["code"] == -32600


# --- HTTP-level rules

def test_unsupported_protocol_version_header_is_400(client):
    reply = client.post({"jsonrpc": "2.0", "id": 3, "method": "ping"}, headers={"MCP-Protocol-Version": "1999-01-01"})
    error = assert_rpc_error(reply, 400, -32600, request_id=3)
    assert "1999-01-01" in error["message"] and "2025-11-25" in error["data"]["supported"]


@pytest.mark.parametrize("version", ["2025-06-18", "2024-11-05"])
def test_any_supported_protocol_version_header_is_accepted(client, version):
    reply = client.post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"MCP-Protocol-Version": version})
    assert result_of(reply) == {}


def test_missing_protocol_version_header_is_accepted(client):
    client.protocol_version = None
    assert result_of(client.request("ping")) == {}


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "https://console.example.evil.com"])
def test_foreign_origin_is_403(client, origin):
    reply = client.post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Origin": origin})
    assert_rpc_error(reply, 403, -32600)
    assert_rpc_error(client.http.delete(client.url, headers={"Origin": origin, "Mcp-Session-Id": client.session_id},
                                        timeout=20), 403, -32600)


def test_loopback_origin_of_the_server_itself_is_served(client, server):
    """Same-origin on localhost (what the MCP conformance suite's dns-rebinding-protection expects)."""
    for origin in (f"http://127.0.0.1:{server.port}", f"http://127.0.0.1:{server.port}/"):
        assert result_of(client.post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Origin": origin})) == {}
    assert result_of(client.post({"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                 headers={"Origin": "http://localhost:8080", "Host": "localhost:8080"})) == {}


@pytest.mark.parametrize("origin, host", [
    ("http://localhost:{port}", "127.0.0.1:{port}"),        # loopback, but not the origin the request went to
    ("http://127.0.0.1:1", "127.0.0.1:{port}"),             # another port on this machine
    ("http://evil.example.com", "evil.example.com"),       # DNS rebinding: a foreign name for this address
    ("http://127.0.0.1.evil.example:{port}", "127.0.0.1.evil.example:{port}"),
])
def test_other_origins_are_403_even_next_to_a_matching_host(client, server, origin, host):
    headers = {"Origin": origin.format(port=server.port), "Host": host.format(port=server.port)}
    assert_rpc_error(client.post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=headers), 403, -32600)


@pytest.mark.parametrize("origin", [ALLOWED_ORIGIN, "https://other.example"])
def test_allowed_origin_is_served(client, origin):
    assert result_of(client.post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Origin": origin})) == {}


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH"])
def test_other_http_methods_on_mcp_are_405(server, method):
    reply = requests.request(method, server.url, headers={"Accept": ACCEPT}, timeout=20)
    assert_rpc_error(reply, 405, -32600)
    assert reply.headers["Allow"] == "POST, DELETE"


def test_healthz_and_unknown_paths(server):
    assert requests.get(f"{server.base_url}/healthz", timeout=20).status_code == 200
    assert requests.head(f"{server.base_url}/healthz", timeout=20).status_code == 200
    for reply in (requests.get(f"{server.base_url}/nope", timeout=20),
                  requests.post(f"{server.base_url}/mcp/extra", json={}, timeout=20)):
        assert "no such path" in assert_rpc_error(reply, 404, -32600)["message"]  # a JSON-RPC error, like the rest


def test_body_over_the_limit_is_413_and_at_the_limit_is_served(client):
    padding = " " * (MAX_BODY - len(b'{"jsonrpc":"2.0","id":1,"method":"ping"}'))
    at_limit = '{"jsonrpc":"2.0","id":1,"method":"ping"}' + padding
    assert len(at_limit) == MAX_BODY
    assert result_of(client.post(at_limit)) == {}
    reply = client.post(at_limit + " ")
    assert "MCP_MAX_BODY_BYTES" in assert_rpc_error(reply, 413, -32600)["message"]


def raw_exchange(server, request: bytes) -> http.client.HTTPResponse:
    """Send hand-written HTTP bytes and parse the reply (for framing `requests` will not produce)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    conn.connect()
    conn.sock.sendall(request)
    reply = http.client.HTTPResponse(conn.sock)
    reply.begin()
    reply.body = reply.read()
    conn.close()
    return reply


def test_missing_content_length_is_411(server):
    reply = raw_exchange(server, b"POST /mcp HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\r\n")
    assert reply.status == 411 and json.loads(reply.body)["error"]["code"] == -32600


def test_chunked_body_is_read(server, client):
    body = json.dumps({"jsonrpc": "2.0", "id": 8, "method": "ping"}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:])) + b"0\r\n\r\n"
    reply = raw_exchange(server, b"POST /mcp HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                                 b"Mcp-Session-Id: " + client.session_id.encode() + b"\r\n\r\n" + chunks)
    assert reply.status == 200 and json.loads(reply.body) == {"jsonrpc": "2.0", "id": 8, "result": {}}


def test_keep_alive_connection_survives_all_bad_input(server):
    """Every bad input above on one keep-alive connection, then normal calls still work on it."""
    mcp = RawMcp(server.url)
    mcp.initialize()
    for body, status, _, _ in BAD_BODIES.values():
        assert mcp.post(body).status_code == status
    assert mcp.request("nope/nope").json()["error"]["code"] == -32601
    assert mcp.call_tool("no_such_tool", {}).json()["error"]["code"] == -32602
    assert mcp.post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Origin": "http://evil"}).status_code == 403
    assert mcp.post("x" * (MAX_BODY + 1)).status_code == 413
    result = result_of(mcp.call_tool("list_issues", {"owner": "a", "repo": "b", "limit": 2}))
    assert len(result["structuredContent"]["issues"]) == 2
    assert server.proc.poll() is None
    fresh = RawMcp(server.url)
    assert result_of(fresh.initialize(), request_id=0)["serverInfo"]["name"] == "github"
