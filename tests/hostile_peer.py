"""A loopback MCP endpoint that misbehaves on purpose, one way per scenario (test peer for the verifier).

Every scenario answers `initialize`, `notifications/initialized`, `tools/list` and `tools/call` of one tool
(`ping_tool`) correctly except where it breaks the rule it is named after. Every loop is bounded (a stream stops
after MAX_STREAM_SECONDS or when the client goes away), so a broken verifier cannot hang the suite for long.

    with HostilePeer("endless_sse") as peer:
        peer.url  # http://127.0.0.1:<port>/mcp
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_STREAM_SECONDS = 40.0
TOOL = {"name": "ping_tool", "description": "answers pong", "inputSchema": {"type": "object"}}
SESSION = "hostile-session-1"
EVIL_TOOL = "evil\x1b[2K\r\x1b[32mALL ROUTES PASS\x1b[0m\nfake  /mcp/x  PASS"
EVIL_MESSAGE = "boom\x1b[2K\r\x1b[32mPASS\x1b[0m\n\nINJECTED LINE\x07"
ONE_GIB = 1 << 30
MIB = 1 << 20


def deep_list(depth: int) -> str:
    """A JSON text nested `depth` lists deep (past Python's recursion limit)."""
    return "[" * depth + "]" * depth


def _ok(request_id, result: dict) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}).encode()


# Headers every verifier request has; the echo_token scenario quotes the others (whichever carries the token).
PLAIN = frozenset(("host", "user-agent", "accept", "accept-encoding", "connection", "content-type", "content-length",
                   "mcp-session-id", "mcp-protocol-version"))


class Handler(BaseHTTPRequestHandler):
    """Dispatches on the server's scenario; `self.server.seen` records (method, headers) of each request."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json", headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_DELETE(self) -> None:  # noqa: N802 - http.server naming
        self.server.seen.append(("DELETE", dict(self.headers)))
        self._send(200, b"")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        message = json.loads(self.rfile.read(length) or b"{}")
        method, request_id = message.get("method"), message.get("id")
        self.server.seen.append((method, dict(self.headers)))
        scenario = self.server.scenario
        handler = getattr(self, f"_{scenario}", None)
        if handler is not None and handler(method, request_id):
            return
        self._normal(method, request_id)

    def _normal(self, method: str, request_id) -> None:
        if request_id is None:
            self._send(202, b"")
        elif method == "initialize":
            self._send(200, _ok(request_id, {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                                             "serverInfo": {"name": "hostile", "version": "0"}}),
                       headers={"Mcp-Session-Id": SESSION})
        elif method == "tools/list":
            self._send(200, _ok(request_id, {"tools": [TOOL]}))
        elif method == "tools/call":
            self._send(200, _ok(request_id, {"content": [{"type": "text", "text": "pong"}]}))
        else:
            self._send(200, json.dumps({"jsonrpc": "2.0", "id": request_id,
                                        "error": {"code": -32601, "message": "no"}}).encode())

    def _stream(self, content_type: str, first: bytes, piece: bytes, interval: float, total: int | None) -> None:
        """Send headers, `first`, then `piece` every `interval` s until the client leaves or time is up."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if total is not None:
            self.send_header("Content-Length", str(total))
        self.end_headers()
        stop = time.monotonic() + MAX_STREAM_SECONDS
        sent = 0
        try:
            self.wfile.write(first)
            sent += len(first)
            while time.monotonic() < stop and (total is None or sent + len(piece) <= total):
                self.wfile.write(piece)
                self.wfile.flush()
                sent += len(piece)
                if interval:
                    time.sleep(interval)
        except OSError:  # the client went away, as it should
            pass
        self.close_connection = True

    # ---- scenarios: return True when the request was answered here

    def _endless_sse(self, method, request_id) -> bool:
        if method != "tools/list":
            return False
        self._stream("text/event-stream", b": hello\n\n", b": keep-alive\n\n", 0.05, None)
        return True

    def _drip(self, method, request_id) -> bool:
        if method != "tools/list":
            return False
        self._stream("application/json", b"{", b" ", 0.2, 10 * MIB)
        return True

    def _slow_pages(self, method, request_id) -> bool:
        if method != "tools/list":
            return False
        time.sleep(0.4)
        self._send(200, _ok(request_id, {"tools": [TOOL], "nextCursor": "more"}))
        return True

    def _huge_json(self, method, request_id) -> bool:
        if method != "tools/list":
            return False
        self._stream("application/json", b'{"jsonrpc":"2.0","id":3,"result":{"tools":[],"pad":"', b"x" * MIB, 0,
                     ONE_GIB)
        return True

    def _huge_sse_line(self, method, request_id) -> bool:
        if method != "tools/list":
            return False
        self._stream("text/event-stream", b"data: ", b"x" * MIB, 0, None)
        return True

    def _redirect(self, method, request_id) -> bool:
        self._send(307, b"", headers={"Location": self.server.redirect_to})
        return True

    def _deep_nesting(self, method, request_id) -> bool:
        if method != "tools/list":
            return False
        self._send(200, ('{"jsonrpc":"2.0","id":%d,"result":{"tools":%s}}' % (request_id, deep_list(100_000)))
                   .encode())
        return True

    def _content_not_list(self, method, request_id) -> bool:
        if method != "tools/call":
            return False
        self._send(200, _ok(request_id, {"isError": True, "content": 5}))
        return True

    def _text_not_string(self, method, request_id) -> bool:
        if method != "tools/call":
            return False
        self._send(200, _ok(request_id, {"isError": True, "content": [{"type": "text", "text": {"a": [1]}}]}))
        return True

    def _non_ascii_version(self, method, request_id) -> bool:
        if method != "initialize":
            return False
        self._send(200, _ok(request_id, {"protocolVersion": "2025-06-18\u2603", "capabilities": {},
                                         "serverInfo": {"name": "hostile", "version": "0"}}),
                   headers={"Mcp-Session-Id": SESSION})
        return True

    def _set_cookie(self, method, request_id) -> bool:
        """A peer that answers initialize normally but also sets cookies, one named like the verifier's token cookie."""
        if method != "initialize":
            return False
        self.send_response(200)
        body = _ok(request_id, {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                                "serverInfo": {"name": "hostile", "version": "0"}})
        for name, value in (("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                            ("Mcp-Session-Id", SESSION), ("Set-Cookie", "mcp_token=planted; Path=/"),
                            ("Set-Cookie", "sticky=1; Path=/")):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        return True

    def _echo_token(self, method, request_id) -> bool:
        """A peer that quotes every header the caller sent but the standard HTTP/MCP ones (so the one carrying the
        token, wherever it is, comes first in the verifier's 200-character snippet) back in an error: the verifier
        must redact it."""
        if method != "tools/list":
            return False
        sent = "; ".join(f"{name}: {value}" for name, value in self.headers.items() if name.lower() not in PLAIN)
        self._send(500, f"boom: you sent {sent}".encode(), content_type="text/plain")
        return True

    def _control_chars(self, method, request_id) -> bool:
        """Terminal escapes, CR and LF in a tool name and in a JSON-RPC error message (the probe's answer)."""
        if method == "tools/list":
            self._send(200, _ok(request_id, {"tools": [TOOL, {"name": EVIL_TOOL, "inputSchema": {"type": "object"}}]}))
            return True
        if method == "tools/call":
            self._send(200, json.dumps({"jsonrpc": "2.0", "id": request_id,
                                        "error": {"code": -32000, "message": EVIL_MESSAGE}}).encode())
            return True
        return False

    def _sse_priming(self, method, request_id) -> bool:
        """tools/list over SSE as a 2025-11-25 server streams it: a priming event (an id, empty data) first, then a
        `ping` event whose data is not JSON, then the response."""
        if method != "tools/list":
            return False
        self._send(200, b"id: 0\ndata: \n\n" + b"event: ping\ndata: keepalive\n\n" +
                   b"id: 1\nevent: message\ndata: " + _ok(request_id, {"tools": [TOOL]}) + b"\n\n",
                   content_type="text/event-stream")
        return True

    def _sse_cr_only(self, method, request_id) -> bool:
        """tools/list over SSE with a leading BOM and lone-CR line endings (both allowed by the SSE standard)."""
        if method != "tools/list":
            return False
        self._send(200, "\ufeff: hello\r\rdata: ".encode() + _ok(request_id, {"tools": [TOOL]}) + b"\r\r",
                   content_type="text/event-stream")
        return True

    def _sse_split_crlf(self, method, request_id) -> bool:
        """tools/list over SSE with CRLF line endings, one event's data on two lines, and a CRLF split across two
        writes (so across two reads): the LF after a CR at the end of a read is not a line of its own."""
        if method != "tools/list":
            return False
        body = _ok(request_id, {"tools": [TOOL]})
        half = body.index(b'"result"')
        first, rest = b"data: " + body[:half] + b"\r", b"\ndata: " + body[half:] + b"\r\n\r\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(first) + len(rest)))
        self.end_headers()
        try:
            self.wfile.write(first)
            self.wfile.flush()
            time.sleep(0.3)
            self.wfile.write(rest)
        except OSError:
            pass
        return True


class HostilePeer:
    """Serves one scenario on a free loopback port (daemon threads; `stop` shuts it down)."""

    def __init__(self, scenario: str, redirect_to: str = ""):
        if not hasattr(Handler, f"_{scenario}"):
            raise ValueError(f"unknown scenario {scenario!r}")
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.scenario = scenario
        self.server.redirect_to = redirect_to
        self.server.seen = []
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/mcp"

    @property
    def seen(self) -> list:
        return self.server.seen

    def __enter__(self) -> "HostilePeer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()
