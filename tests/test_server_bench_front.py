"""bench/passthrough_front.py, the light gateway stand-in the verifier benchmark runs against: it must behave
like agentgateway on the wire (SSE replies, denied tools hidden and refused, sessions passed through), or the
benchmark would measure a verifier that fails."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests

from tests.server_process import REPO_ROOT, start_server

KEY = "front-test-key-0123456789abcdef"
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("front")
    upstream = start_server("github", env={"MCP_SESSION_KEY": KEY}, tmp_dir=tmp)
    routes = tmp / "routes.json"
    routes.write_text(json.dumps([{"path": "/mcp/gh", "upstream": upstream.base_url, "denied": ["delete_repo"]}]))
    proc = subprocess.Popen([sys.executable, str(REPO_ROOT / "bench" / "passthrough_front.py"), "--routes", str(routes)],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("LISTENING "), line
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0
        proc.stdout.close()
        upstream.stop()


def sse_message(reply: requests.Response) -> dict:
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "text/event-stream"
    event, data = reply.text.split("\n", 1)
    assert event == "event: message" and data.startswith("data: ") and data.endswith("\n\n")
    return json.loads(data[len("data: "):])


def test_front_relays_a_session_as_sse_and_applies_the_deny_list(front):
    http = requests.Session()
    url = f"{front}/mcp/gh"
    reply = http.post(url, headers=ACCEPT, timeout=20, json={
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}})
    assert sse_message(reply)["result"]["serverInfo"]["name"] == "github"
    session = {**ACCEPT, "Mcp-Session-Id": reply.headers["Mcp-Session-Id"], "MCP-Protocol-Version": "2025-11-25"}
    assert http.post(url, headers=session, timeout=20, json={"jsonrpc": "2.0", "method": "notifications/initialized"}
                     ).status_code == 202
    listed = sse_message(http.post(url, headers=session, timeout=20,
                                   json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
    assert [t["name"] for t in listed["result"]["tools"]] == ["get_repo", "list_issues", "create_issue"]
    refused = http.post(url, headers=session, timeout=20, json={
        "jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "delete_repo", "arguments": {}}})
    assert refused.status_code == 400 and refused.json()["error"] == {"code": -32602, "message": "Unknown tool: delete_repo"}
    called = sse_message(http.post(url, headers=session, timeout=20, json={
        "jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "get_repo", "arguments": {"owner": "octocat", "repo": "hello-world"}}}))
    assert called["id"] == 4 and called["result"]["structuredContent"]["full_name"] == "octocat/hello-world"
    assert http.delete(url, headers=session, timeout=20).status_code == 204
    assert http.post(url, headers=session, timeout=20, json={"jsonrpc": "2.0", "id": 5, "method": "ping"}
                     ).status_code == 404  # the upstream's answer for the deleted session, passed on


def test_front_answers_404_for_unknown_paths_and_405_for_get(front):
    assert requests.post(f"{front}/mcp/nope", headers=ACCEPT, json={}, timeout=20).status_code == 404
    assert requests.get(f"{front}/mcp/gh", timeout=20).status_code == 405


def test_front_with_jwt_refuses_anonymous_callers_on_auth_routes_only(tmp_path):
    """`--jwt`: routes marked auth answer 401 as agentgateway does (the verifier auth benchmark relies on it)."""
    from tests.jwt_tokens import AUDIENCE, ISSUER, SigningKey, claims, jwt_spec, provider
    key = SigningKey.rsa()
    upstream = start_server("fetch", env={"MCP_SESSION_KEY": KEY}, tmp_dir=tmp_path)
    routes, jwt = tmp_path / "routes.json", tmp_path / "jwt.json"
    routes.write_text(json.dumps([{"path": "/mcp/open", "upstream": upstream.base_url},
                                  {"path": "/mcp/auth", "upstream": upstream.base_url, "auth": True}]))
    jwt.write_text(json.dumps(jwt_spec("Strict", [provider(ISSUER, [AUDIENCE], key)])))
    proc = subprocess.Popen([sys.executable, str(REPO_ROOT / "bench" / "passthrough_front.py"), "--routes",
                             str(routes), "--jwt", str(jwt)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("LISTENING "), line
        base = f"http://127.0.0.1:{int(line.split()[1])}"
        body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                           "clientInfo": {"name": "t", "version": "0"}}}
        anonymous = requests.post(f"{base}/mcp/auth", headers=ACCEPT, json=body, timeout=20)
        assert anonymous.status_code == 401 and anonymous.text == "authentication failure: no bearer token found"
        authorized = requests.post(f"{base}/mcp/auth", json=body, timeout=20,
                                   headers={**ACCEPT, "Authorization": f"Bearer {key.mint(claims())}"})
        assert sse_message(authorized)["result"]["serverInfo"]["name"] == "fetch"
        assert sse_message(requests.post(f"{base}/mcp/open", headers=ACCEPT, json=body, timeout=20))["result"]
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0
        proc.stdout.close()
        upstream.stop()
