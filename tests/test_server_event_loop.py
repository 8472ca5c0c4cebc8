"""Risks of the single-threaded event-loop server: many connections, pipelining, clients that do not read
their replies, broken or hostile HTTP framing. Every check is on behaviour, none on timing."""
from __future__ import annotations

import json
import socket
import struct
import threading
import time

import pytest

from tests.server_process import SERVER_CODE, RawMcp, start_server

KEY = "event-loop-test-key-0123456789"
SOCKET_TIMEOUT = 60


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = start_server("github", env={"MCP_SESSION_KEY": KEY, "MCP_MAX_BODY_BYTES": "65536"},
                        tmp_dir=tmp_path_factory.mktemp("loop"))
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def session(server) -> dict:
    mcp = RawMcp(server.url)
    mcp.initialize()
    return {"Mcp-Session-Id": mcp.session_id, "MCP-Protocol-Version": mcp.protocol_version}


def post_bytes(session: dict, message: dict, extra: str = "") -> bytes:
    body = json.dumps(message).encode()
    head = (f"POST /mcp HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            f"Mcp-Session-Id: {session['Mcp-Session-Id']}\r\nMCP-Protocol-Version: {session['MCP-Protocol-Version']}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n")
    return head.encode() + body


def connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT)


class Replies:
    """Reads HTTP/1.1 replies (Content-Length framed) off a socket, one at a time."""

    def __init__(self, sock: socket.socket):
        self.sock, self.buf = sock, b""

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buf += data

    def next(self) -> tuple[int, dict, bytes]:
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers["content-length"])
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return int(lines[0].split()[1]), headers, body

    def closed_by_server(self) -> bool:
        """True if the server ends the connection (EOF or reset) after what was read."""
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except ConnectionResetError:
            return True


def test_many_concurrent_keep_alive_connections_are_all_served(server, session):
    """200 open connections at once (far more than any thread pool), each used twice."""
    sockets = [connect(server) for _ in range(200)]
    try:
        for round_ in range(2):
            for i, sock in enumerate(sockets):
                sock.sendall(post_bytes(session, {"jsonrpc": "2.0", "id": i, "method": "ping"}))
            for i, sock in enumerate(sockets):
                status, _, body = Replies(sock).next()
                assert status == 200 and json.loads(body) == {"jsonrpc": "2.0", "id": i, "result": {}}, round_
    finally:
        for sock in sockets:
            sock.close()


def test_pipelined_requests_are_answered_in_order(server, session):
    with connect(server) as sock:
        sock.sendall(b"".join(post_bytes(session, {"jsonrpc": "2.0", "id": i, "method": "ping"}) for i in range(50)))
        replies = Replies(sock)
        assert [json.loads(replies.next()[2])["id"] for _ in range(50)] == list(range(50))


def test_client_that_does_not_read_its_replies_blocks_nobody(server, session):
    """A client pipelines many large replies and reads none; others are served; later it gets every reply."""
    count = 3000  # tools/list replies of ~2 KB each: far more than the socket buffers hold
    slow = connect(server)
    requests = b"".join(post_bytes(session, {"jsonrpc": "2.0", "id": i, "method": "tools/list"}) for i in range(count))
    sender = threading.Thread(target=slow.sendall, args=(requests,), daemon=True)  # blocks once buffers fill
    sender.start()
    try:
        other = RawMcp(server.url, timeout=SOCKET_TIMEOUT)
        other.initialize()
        for _ in range(20):
            reply = other.call_tool("get_repo", {"owner": "octocat", "repo": "hello-world"})
            assert reply.status_code == 200 and reply.json()["result"]["isError"] is False
        replies = Replies(slow)
        ids = []
        for _ in range(count):
            status, _, body = replies.next()
            assert status == 200
            ids.append(json.loads(body)["id"])
        assert ids == list(range(count))
        sender.join(timeout=SOCKET_TIMEOUT)
        assert not sender.is_alive()
    finally:
        slow.close()


def test_client_reset_mid_request_does_not_disturb_the_server(server, session):
    for partial in (b"POST /mcp HTTP/1.1\r\nContent-Le", post_bytes(session, {"jsonrpc": "2.0", "id": 1,
                                                                               "method": "ping"})[:-5]):
        sock = connect(server)
        sock.sendall(partial)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # RST instead of FIN
    with connect(server) as sock:
        sock.sendall(post_bytes(session, {"jsonrpc": "2.0", "id": 2, "method": "ping"}))
        assert Replies(sock).next()[0] == 200
    assert server.proc.poll() is None


def test_expect_100_continue_gets_an_interim_reply_before_the_body(server, session):
    whole = post_bytes(session, {"jsonrpc": "2.0", "id": 5, "method": "ping"}, extra="Expect: 100-continue\r\n")
    head, body = whole.split(b"\r\n\r\n", 1)
    with connect(server) as sock:
        sock.sendall(head + b"\r\n\r\n")
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            interim += sock.recv(1)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        status, _, reply = Replies(sock).next()
        assert status == 200 and json.loads(reply)["id"] == 5


def test_http_1_0_closes_unless_keep_alive_is_asked_for(server, session):
    ping = post_bytes(session, {"jsonrpc": "2.0", "id": 1, "method": "ping"}).replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    with connect(server) as sock:
        sock.sendall(ping)
        replies = Replies(sock)
        status, headers, _ = replies.next()
        assert status == 200 and headers["connection"] == "close" and replies.closed_by_server()
    keep = ping.replace(b"\r\n\r\n", b"\r\nConnection: keep-alive\r\n\r\n", 1)
    with connect(server) as sock:
        replies = Replies(sock)
        for _ in range(2):
            sock.sendall(keep)
            status, headers, _ = replies.next()
            assert status == 200 and headers["connection"] == "keep-alive"


def test_lf_only_line_endings_are_accepted(server):
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\nHost: t\n\n")
        status, _, body = Replies(sock).next()
        assert status == 200 and json.loads(body) == {"status": "ok"}


BROKEN_HEADS = {  # request head, expected HTTP status
    "no HTTP version": (b"GET /healthz\r\n\r\n", 400),
    "garbage request line": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),  # a TLS hello
    "HTTP/2 preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    "header without colon": (b"GET /healthz HTTP/1.1\r\nHost t\r\n\r\n", 400),
    "space before colon": (b"GET /healthz HTTP/1.1\r\nHost : t\r\n\r\n", 400),
    "conflicting lengths": (b"POST /mcp HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400),
    "negative length": (b"POST /mcp HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
    "bad chunk size": (b"POST /mcp HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    "chunks over the limit": (b"POST /mcp HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n20000\r\n", 413),
    "headers too large": (b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", 431),
}


@pytest.mark.parametrize("case", list(BROKEN_HEADS))
def test_broken_http_gets_a_json_error_and_a_closed_connection(server, case):
    request, status = BROKEN_HEADS[case]
    with connect(server) as sock:
        sock.sendall(request)
        replies = Replies(sock)
        got, headers, body = replies.next()
        assert got == status and headers["content-type"] == "application/json"
        assert json.loads(body)["error"]["code"] == -32600
        assert headers["connection"] == "close" and replies.closed_by_server()
    with connect(server) as sock:  # and the server carries on
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        assert Replies(sock).next()[0] == 200


def test_every_request_of_a_burst_gets_its_log_line(tmp_path):
    """Log lines are written in batches by the loop, but each request still has exactly one."""
    server = start_server("fetch", env={"MCP_SESSION_KEY": KEY}, tmp_dir=tmp_path)
    try:
        mcp = RawMcp(server.url)
        mcp.initialize()
        with connect(server) as sock:
            headers = {"Mcp-Session-Id": mcp.session_id, "MCP-Protocol-Version": mcp.protocol_version}
            sock.sendall(b"".join(post_bytes(headers, {"jsonrpc": "2.0", "id": i, "method": "ping"})
                                  for i in range(100)))
            replies = Replies(sock)
            for _ in range(100):
                replies.next()
    finally:
        assert server.stop(timeout=20) == 0
    pings = [json.loads(line) for line in server.log().splitlines() if '"ping"' in line]
    assert len(pings) == 100 and all(p["status"] == 200 and p["http_method"] == "POST" for p in pings)


def test_out_of_file_descriptors_pauses_accepting_and_serves_everyone_later(tmp_path):
    """With room for only ~30 connections, 60 clients connect at once: the server keeps serving the ones it
    has, retries accept() after a pause instead of spinning on it, and in the end every client is answered."""
    wrapper = tmp_path / "github_few_fds.py"
    wrapper.write_text(
        "import resource, runpy, sys\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))\n"
        f"sys.path.insert(0, {str(SERVER_CODE)!r})\n"
        f"runpy.run_path({str(SERVER_CODE / 'github.py')!r}, run_name='__main__')\n")
    server = start_server("github-few-fds", env={"MCP_SESSION_KEY": KEY}, tmp_dir=tmp_path, script=wrapper)
    try:
        mcp = RawMcp(server.url)
        mcp.initialize()
        headers = {"Mcp-Session-Id": mcp.session_id, "MCP-Protocol-Version": mcp.protocol_version}
        mcp.http.close()
        sockets = [connect(server) for _ in range(60)]  # the kernel queues what the server cannot accept yet
        for i, sock in enumerate(sockets):
            sock.sendall(post_bytes(headers, {"jsonrpc": "2.0", "id": i, "method": "ping"}))
        first = Replies(sockets[0])
        assert json.loads(first.next()[2])["id"] == 0
        for i in range(300):  # served one by one while the others still wait to be accepted
            sockets[0].sendall(post_bytes(headers, {"jsonrpc": "2.0", "id": 1000 + i, "method": "ping"}))
            assert json.loads(first.next()[2])["id"] == 1000 + i
        for i, sock in enumerate(sockets[1:], start=1):
            status, _, body = Replies(sock).next()
            assert status == 200 and json.loads(body)["id"] == i
            sock.close()
        assert server.proc.poll() is None
    finally:
        assert server.stop(timeout=20) == 0
    failures = server.log().count('"accept_failed"')
    assert 0 < failures < 200, failures  # it did run out, and it did not retry in a busy loop


def test_a_rejected_client_that_keeps_sending_is_cut_off(server):
    """After an error reply the server reads and drops the rest of the request for a while (so the client sees
    the reply, not a reset), but a client that never stops sending does not keep the connection forever."""
    with connect(server) as sock:
        sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: t\r\nContent-Length: 999999999\r\n\r\n")
        assert Replies(sock).next()[0] == 413
        with pytest.raises(OSError):  # BrokenPipe or ConnectionReset once the server has closed the connection
            for _ in range(3000):  # would keep sending for 5 minutes; the server cuts it off after seconds
                sock.sendall(b"x" * 1024)
                time.sleep(0.1)
