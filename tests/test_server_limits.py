"""Whole-server limits against real server processes on loopback: the memory budget (503 + Retry-After past
it, admitted requests still served, RSS bounded under many unfinished bodies) and the whole-request deadline
(a drip-feeding client is answered 408 and cut off). Loops are bounded; nothing asserts on speed."""
from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from tests.server_process import read_http_reply, start_server

KEY = "limits-test-key-0123456789"
MIB = 1024 * 1024


def initialize_body(size: int) -> bytes:
    """A valid initialize request padded with trailing spaces to exactly `size` bytes."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                       "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                                  "clientInfo": {"name": "limits", "version": "0"}}}).encode()
    return body + b" " * (size - len(body))


def head(length: int) -> bytes:
    return (b"POST /mcp HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % length)


def has_reply(sock: socket.socket, wait: float) -> bool:
    sock.settimeout(wait)
    try:
        return bool(sock.recv(1, socket.MSG_PEEK))
    except (socket.timeout, BlockingIOError):
        return False
    finally:
        sock.settimeout(30)


def assert_refused_for_memory(sock: socket.socket) -> None:
    status, headers, body = read_http_reply(sock)
    assert status == 503 and headers["retry-after"].isdigit() and headers["connection"] == "close"
    assert json.loads(body)["error"]["code"] == -32600


def assert_initialized(sock: socket.socket) -> None:
    status, _, body = read_http_reply(sock)
    assert status == 200 and json.loads(body)["result"]["protocolVersion"] == "2025-11-25"


def wait_for_log(server, text: str) -> None:
    for _ in range(100):  # log lines are written in batches: wait up to 5 s
        if text in server.log():
            return
        time.sleep(0.05)
    raise AssertionError(f"{text} not logged:\n{server.log()[-1500:]}")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_past_the_memory_budget_new_bodies_get_503_while_admitted_ones_are_served(tmp_path):
    """Budget 4 MiB, bodies of 1 MiB announced: the first connections are admitted, a later one is refused at
    once with 503 + Retry-After (before sending its body), and an admitted one still completes."""
    server = start_server("github", env={"MCP_SESSION_KEY": KEY, "MCP_MAX_BODY_BYTES": str(MIB),
                                         "MCP_MEMORY_BUDGET_BYTES": str(4 * MIB)}, tmp_dir=tmp_path)
    sockets = []
    try:
        refused = None
        for _ in range(8):  # 8 x 1 MiB announced: more than the budget holds
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            sockets.append(sock)
            sock.sendall(head(MIB) + b"{")
            if has_reply(sock, 1.0):
                refused = sock
                break
        assert refused is not None, f"no connection was refused; log:\n{server.log()[-1500:]}"
        assert_refused_for_memory(refused)
        admitted = sockets[0]
        admitted.sendall(initialize_body(MIB)[1:])
        assert_initialized(admitted)
        wait_for_log(server, '"memory_budget"')
    finally:
        for sock in sockets:
            sock.close()
        server.stop()


def test_many_unfinished_large_bodies_do_not_grow_the_server_past_its_budget(tmp_path):
    """80 connections each send all but the last byte of a 1 MiB body (80 MiB in flight, above what a 128Mi pod
    can hold next to Python): the server holds at most its default budget (32 MiB) and stays healthy."""
    server = start_server("fetch", env={"MCP_SESSION_KEY": KEY}, tmp_dir=tmp_path)
    sockets = []
    body = initialize_body(MIB)
    try:
        for _ in range(80):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            sockets.append(sock)
            try:
                sock.sendall(head(MIB) + body[:-1])
            except OSError:  # refused and closed while sending: expected past the budget
                pass
        time.sleep(0.5)  # let the server read what the kernel still buffers
        assert rss_mib(server.proc.pid) < 32 + 40, f"RSS {rss_mib(server.proc.pid):.0f} MiB"
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as probe:
            probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            assert read_http_reply(probe)[0] == 200
    finally:
        for sock in sockets:
            sock.close()
        server.stop()


def test_a_drip_fed_request_is_cut_off_at_the_request_deadline(tmp_path):
    """One byte every 0.2 s keeps a connection active (the idle timeout never fires), but the whole request
    must arrive within MCP_REQUEST_TIMEOUT_SECONDS: the server answers 408 and closes."""
    server = start_server("slack", env={"MCP_SESSION_KEY": KEY, "MCP_REQUEST_TIMEOUT_SECONDS": "1",
                                        "MCP_READ_TIMEOUT_SECONDS": "5"}, tmp_dir=tmp_path)
    request = head(len(initialize_body(4000))) + initialize_body(4000)
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            answered = False
            for byte in request[:60]:  # 60 x 0.2 s = 12 s, far past the 1 s deadline
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    break
                if has_reply(sock, 0.2):
                    answered = True
                    break
            assert answered, "still reading a drip-fed request after 12 s"
            status, headers, body = read_http_reply(sock)
            assert status == 408 and headers["connection"] == "close"
            assert "MCP_REQUEST_TIMEOUT_SECONDS" in json.loads(body)["error"]["message"]
    finally:
        server.stop()


def expect_continue_head(length: int) -> bytes:
    return head(length)[:-2] + b"Expect: 100-continue\r\n\r\n"


def wait_for_continue(sock: socket.socket) -> bytes:
    """Read up to the end of the server's first reply head (100 Continue, or a refusal)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        more = sock.recv(1)
        if not more:
            raise ConnectionError(f"closed after {buf!r}")
        buf += more
    return buf


def closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(10)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def healthz(sock: socket.socket) -> int:
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
    return read_http_reply(sock)[0]


def test_idle_connections_cannot_fill_the_budget_and_lock_out_health_probes(tmp_path):
    """Budget 1 MiB (128 connections of 8 KiB overhead): 200 connections that send nothing. A new connection
    closes the least recently active idle ones instead of being refused, so /healthz answers 200; a request
    whose body is still arriving (older than every idle connection) is never closed, and completes."""
    server = start_server("github", env={"MCP_SESSION_KEY": KEY, "MCP_MAX_BODY_BYTES": "65536",
                                         "MCP_MEMORY_BUDGET_BYTES": str(MIB)}, tmp_dir=tmp_path)
    sockets = []
    body = initialize_body(4000)
    try:
        in_flight = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        sockets.append(in_flight)
        in_flight.sendall(expect_continue_head(len(body)))
        assert wait_for_continue(in_flight).startswith(b"HTTP/1.1 100 ")  # the server has read the head
        in_flight.sendall(body[:2000])
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=30) for _ in range(200)]
        sockets += idle
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as probe:
            assert healthz(probe) == 200, server.log()[-1500:]
        assert closed_by_server(idle[0])  # the least recently active idle connection went first
        assert healthz(idle[-1]) == 200   # the newest ones are still served
        in_flight.sendall(body[2000:])
        assert_initialized(in_flight)
        wait_for_log(server, '"evicted"')
    finally:
        for sock in sockets:
            sock.close()
        server.stop()


def test_a_new_connection_that_fits_only_by_closing_requests_in_flight_is_refused(tmp_path):
    """Budget 1 MiB filled by requests in flight (bodies announced with Expect: 100-continue, then unfinished
    heads): nothing idle can be closed, so a further connection gets 503 + Retry-After, and the admitted
    requests are still served."""
    server = start_server("github", env={"MCP_SESSION_KEY": KEY, "MCP_MAX_BODY_BYTES": "65536",
                                         "MCP_MEMORY_BUDGET_BYTES": str(MIB)}, tmp_dir=tmp_path)
    sockets = []
    body = initialize_body(60000)
    try:
        bodies = []
        for _ in range(20):  # bodies may fill 7/8 of the budget: ~13 of 68 KiB each
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            sockets.append(sock)
            sock.sendall(expect_continue_head(len(body)))
            if not wait_for_continue(sock).startswith(b"HTTP/1.1 100 "):
                break
            bodies.append(sock)
        assert 5 < len(bodies) < 20
        refused = None
        for _ in range(60):  # the rest (1/8) holds ~16 connections with an unfinished head
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            sockets.append(sock)
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
            except OSError:
                pass
            if has_reply(sock, 0.2):
                refused = sock
                break
        assert refused is not None, f"no connection was refused; log:\n{server.log()[-1500:]}"
        assert_refused_for_memory(refused)
        bodies[0].sendall(body)
        assert_initialized(bodies[0])
    finally:
        for sock in sockets:
            sock.close()
        server.stop()
