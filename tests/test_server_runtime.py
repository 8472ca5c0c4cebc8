"""Process behaviour: concurrency with stuck clients, read timeouts, JSON logs, SIGTERM, bad configuration."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from tests.server_process import SERVER_CODE, RawMcp, free_port, start_server


def open_stuck_connections(port: int) -> list[socket.socket]:
    """An idle connection, one stopped mid-headers and one stopped mid-body (a half-open request)."""
    partial = [b"", b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Ty",
               b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"js"]
    sockets = []
    for data in partial:
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(data)
        sockets.append(sock)
    return sockets


def test_many_clients_are_served_while_others_hold_half_open_connections(tmp_path):
    server = start_server("slack", tmp_dir=tmp_path)  # default read timeout (30 s) outlasts this test
    stuck = open_stuck_connections(server.port)
    failures, results = [], []

    def client_session(n: int) -> None:
        try:
            mcp = RawMcp(server.url, timeout=60)
            mcp.initialize()
            for i in range(5):
                reply = mcp.call_tool("send_message", {"channel": "general", "text": f"client {n} message {i}"})
                results.append(reply.json()["result"]["structuredContent"]["text"])
            mcp.delete()
        except Exception as exc:  # collected and reported below
            failures.append(f"client {n}: {exc!r}")

    try:
        threads = [threading.Thread(target=client_session, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures
        assert sorted(results) == sorted(f"client {n} message {i}" for n in range(16) for i in range(5))
        for sock in stuck:  # the stuck clients are still connected, not dropped to make room
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)
    finally:
        for sock in stuck:
            sock.close()
        server.stop()


def test_idle_and_stalled_connections_are_closed_after_the_read_timeout(tmp_path):
    server = start_server("fetch", env={"MCP_READ_TIMEOUT_SECONDS": "0.5"}, tmp_dir=tmp_path)
    stuck = open_stuck_connections(server.port)
    try:
        for sock in stuck:
            sock.settimeout(30)
            data = sock.recv(65536)
            while data:  # a 408-style reply is fine, as long as the server then closes
                data = sock.recv(65536)
        mcp = RawMcp(server.url)
        assert mcp.initialize().status_code == 200
        assert "client stalled or disconnected" in server.log()
    finally:
        for sock in stuck:
            sock.close()
        server.stop()


def test_sigterm_exits_0_with_one_json_log_line_per_request(tmp_path):
    key = "log-test-key-must-not-be-logged-123"
    server = start_server("github", env={"MCP_SESSION_KEY": key, "PYTHONDONTWRITEBYTECODE": "1"}, tmp_dir=tmp_path)
    idle = socket.create_connection(("127.0.0.1", server.port), timeout=30)  # must not delay shutdown
    try:
        mcp = RawMcp(server.url)
        mcp.initialize()                                                        # 2 requests
        mcp.call_tool("get_repo", {"owner": "octocat", "repo": "hello-world"})  # 3
        mcp.call_tool("nope", {})                                               # 4
        mcp.post(b"{broken")                                                    # 5
        mcp.delete()                                                            # 6
    finally:
        code = server.stop(timeout=20)
        idle.close()
    assert code == 0
    lines = server.log().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    mcp_lines = [r for r in records if r.get("path") == "/mcp"]
    assert [(r["http_method"], r.get("method"), r["status"]) for r in mcp_lines] == [
        ("POST", "initialize", 200), ("POST", "notifications/initialized", 202), ("POST", "tools/call", 200),
        ("POST", "tools/call", 200), ("POST", None, 400), ("DELETE", None, 204)]
    call = mcp_lines[2]
    assert call["tool"] == "get_repo" and isinstance(call["duration_ms"], float)
    assert call["session"] == mcp_lines[0]["session"] and len(call["session"]) == 12
    assert mcp_lines[3]["rpc_error"] == -32602 and mcp_lines[4]["rpc_error"] == -32700
    assert {r["session"] for r in mcp_lines[1:]} == {call["session"]}
    assert records[-1]["event"] == "stopped"
    assert key not in server.log() and mcp.session_id not in server.log()
    assert "ephemeral_session_key" not in server.log()


@pytest.mark.parametrize("variable,value", [
    ("PORT", "eighty"), ("PORT", "70000"), ("MCP_PAGE_SIZE", "0"), ("MCP_MAX_BODY_BYTES", "1MB"),
    ("MCP_SESSION_TTL_SECONDS", "-5"), ("MCP_READ_TIMEOUT_SECONDS", "nan"), ("MCP_SESSION_KEY", "short"),
    ("MCP_BUSY_POLL_MICROSECONDS", "-1"), ("MCP_BUSY_POLL_MICROSECONDS", "fast"),
])
def test_bad_configuration_fails_at_start_naming_the_variable(variable, value):
    env = {**os.environ, "PORT": str(free_port()), variable: value}
    done = subprocess.run([sys.executable, str(SERVER_CODE / "slack.py")], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert variable in done.stderr and done.stdout == ""


def test_port_in_use_fails_naming_port(tmp_path):
    server = start_server("fetch", tmp_dir=tmp_path)
    try:
        env = {**os.environ, "PORT": str(server.port)}
        done = subprocess.run([sys.executable, str(SERVER_CODE / "fetch.py")], env=env, capture_output=True,
                              text=True, timeout=60)
    finally:
        server.stop()
    assert done.returncode == 1 and "PORT" in done.stderr


def test_a_closed_stdout_does_not_stop_the_server(tmp_path):
    """Logging to a pipe nobody reads any more (BrokenPipeError) loses the log lines, not the service."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(SERVER_CODE / "fetch.py")], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PORT": str(port), "PYTHONUNBUFFERED": "1"})
    try:
        while '"listening"' not in proc.stdout.readline().decode():
            assert proc.poll() is None
        proc.stdout.close()  # the log reader goes away
        for _ in range(3):  # every request now logs into a broken pipe
            mcp = RawMcp(f"http://127.0.0.1:{port}/mcp")
            assert mcp.initialize().status_code == 200
            assert mcp.call_tool("fetch", {"url": "https://example.com/"}).json()["result"]["isError"] is False
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.parametrize("microseconds", ["0", "10000"])
def test_busy_poll_can_be_switched_off_or_widened(tmp_path, microseconds):
    server = start_server("fetch", env={"MCP_BUSY_POLL_MICROSECONDS": microseconds}, tmp_dir=tmp_path)
    try:
        mcp = RawMcp(server.url)
        assert mcp.initialize().status_code == 200
        replies = [mcp.call_tool("fetch", {"url": "https://example.com"}) for _ in range(20)]
        assert [r.status_code for r in replies] == [200] * 20
        assert all(r.json()["result"]["isError"] is False for r in replies)
    finally:
        assert server.stop() == 0
