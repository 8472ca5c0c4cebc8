"""A light pass-through MCP gateway front for benchmarks: path -> upstream mock server, replies as SSE.

Does per request what agentgateway does on the wire, and nothing more, so that a benchmark of the verifier
measures the verifier, not the front (tests/gateway_front.py opens an SDK client per call and is the bottleneck
there):
- an unknown path gets 404; `GET` on a route gets 405;
- a `tools/call` of a denied tool gets HTTP 400 + JSON-RPC -32602 "Unknown tool: <name>" without reaching the
  upstream; denied tools are removed from `tools/list` results;
- every other POST/DELETE is forwarded to `<upstream>/mcp` over a keep-alive connection (one per front thread
  and upstream) with the MCP headers; `Mcp-Session-Id` is passed through both ways (agentgateway issues its own;
  passing the upstream's through needs no session table);
- a 200 JSON reply is sent on as one SSE event (`event: message`, `data: <json>`), as agentgateway does;
  202 and error replies are passed on as they are.
`--latency-ms` adds a fixed delay before each request is handled: a stand-in for the network hop between a
verifier and a real gateway, so that the verifier's concurrency (not local CPU) decides the wall time.
`--jwt FILE` (a `traffic.jwtAuthentication` spec as JSON) makes the routes marked `"auth": true` authenticate
callers as agentgateway does, with the test front's validator (tests/gateway_front_auth.py: JWKS parsed once,
401 `authentication failure: ...` as text); the credential is never forwarded upstream.
One thread per downstream connection (http.server); standard library only, except for `--jwt`.

    python bench/passthrough_front.py --routes routes.json [--port 0] [--latency-ms 0] [--jwt jwt.json]
    routes.json: [{"path": "/mcp/r0", "upstream": "http://127.0.0.1:8081", "denied": ["delete_repo"],
                   "auth": false}, ...]

It prints `LISTENING <port>` once it accepts connections, and exits 0 on SIGTERM.
"""
from __future__ import annotations

import argparse
import http.client
import json
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FORWARDED_HEADERS = ("Content-Type", "Accept", "Mcp-Session-Id", "MCP-Protocol-Version")
UPSTREAM_TIMEOUT = 30.0


@dataclass(frozen=True)
class Route:
    """One front path, its upstream host and port, and the tools hidden and refused there."""

    path: str
    host: str
    port: int
    denied: frozenset
    auth: bool = False


def load_routes(raw: list[dict]) -> dict[str, Route]:
    """Routes by path from the JSON list; a bad entry raises ValueError naming its index and key."""
    routes = {}
    for i, entry in enumerate(raw):
        try:
            upstream = urlsplit(entry["upstream"])
            routes[entry["path"]] = Route(entry["path"], upstream.hostname, upstream.port or 80,
                                          frozenset(entry.get("denied", ())), bool(entry.get("auth", False)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"routes[{i}]: needs 'path' and 'upstream' (http://host:port): {exc!r}") from None
    return routes


def unknown_tool(request_id, name: str) -> bytes:
    """agentgateway's body for a call to a denied tool (sent with HTTP 400)."""
    return json.dumps({"jsonrpc": "2.0", "id": request_id,
                       "error": {"code": -32602, "message": f"Unknown tool: {name}"}}).encode()


def without_denied(body: bytes, denied: frozenset) -> bytes:
    """A tools/list reply with the denied tools removed (any other reply unchanged)."""
    message = json.loads(body)
    tools = message.get("result", {}).get("tools") if isinstance(message, dict) else None
    if not isinstance(tools, list):
        return body
    message["result"]["tools"] = [tool for tool in tools if tool.get("name") not in denied]
    return json.dumps(message).encode()


class FrontServer(ThreadingHTTPServer):
    """The routes, the added latency, and the per-thread upstream connections."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address, routes: dict[str, Route], latency: float, jwt=None):
        self.routes = routes
        self.latency = latency
        self.jwt = jwt  # tests.gateway_front_auth.JwtAuthentication, or None
        self.local = threading.local()
        super().__init__(address, FrontHandler)

    def upstream(self, route: Route) -> http.client.HTTPConnection:
        """This thread's keep-alive connection to the route's upstream."""
        connections = self.local.__dict__.setdefault("connections", {})
        key = (route.host, route.port)
        if key not in connections:
            connections[key] = http.client.HTTPConnection(route.host, route.port, timeout=UPSTREAM_TIMEOUT)
        return connections[key]

    def drop_upstream(self, route: Route) -> None:
        connection = self.local.__dict__.get("connections", {}).pop((route.host, route.port), None)
        if connection is not None:
            connection.close()


class FrontHandler(BaseHTTPRequestHandler):
    """Forwards /<route> POST and DELETE to the upstream's /mcp (see the module docstring)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: FrontServer

    def log_message(self, format: str, *args) -> None:
        pass  # quiet: this is a benchmark peer

    def do_GET(self) -> None:
        route = self.server.routes.get(self.path.split("?", 1)[0])
        self._reply(405 if route else 404, b"", {})

    def do_POST(self) -> None:
        self._forward("POST")

    def do_DELETE(self) -> None:
        self._forward("DELETE")

    def _forward(self, method: str) -> None:
        route = self.server.routes.get(self.path.split("?", 1)[0])
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if route is None:
            self._reply(404, b"", {})
            return
        if self.server.latency:
            time.sleep(self.server.latency)
        if route.auth and self.server.jwt is not None:
            refusal = self._authentication_failure()
            if refusal is not None:
                self._reply(401, refusal.encode(), {"Content-Type": "text/plain"})
                return
        denied = self._denied_call(route, body) if method == "POST" else None
        if denied is not None:
            self._reply(400, unknown_tool(*denied), {"Content-Type": "application/json"})
            return
        status, headers, reply = self._upstream(route, method, body)
        session = {"Mcp-Session-Id": headers["mcp-session-id"]} if "mcp-session-id" in headers else {}
        if status == 200 and headers.get("content-type", "").startswith("application/json"):
            data = without_denied(reply, route.denied) if route.denied else reply
            self._reply(200, b"event: message\ndata: " + data + b"\n\n",
                        {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", **session})
        else:
            content_type = {"Content-Type": headers["content-type"]} if "content-type" in headers else {}
            self._reply(status, reply, {**content_type, **session})

    def _authentication_failure(self) -> str | None:
        """agentgateway's 401 text for this request, or None when the caller is authenticated."""
        from tests.gateway_front_auth import authenticate
        headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in self.headers.items()]
        outcome = authenticate(self.server.jwt, headers)
        return f"authentication failure: {outcome.error}" if outcome.error else None

    def _denied_call(self, route: Route, body: bytes):
        if not route.denied or b'"tools/call"' not in body:
            return None
        try:
            message = json.loads(body)
            name = message["params"]["name"]
        except (ValueError, KeyError, TypeError):
            return None
        return (message.get("id"), name) if name in route.denied else None

    def _upstream(self, route: Route, method: str, body: bytes) -> tuple[int, dict, bytes]:
        headers = {name: self.headers[name] for name in FORWARDED_HEADERS if self.headers.get(name)}
        error: Exception | None = None
        for _ in range(2):  # a kept-alive connection the upstream has closed meanwhile: reconnect once
            connection = self.server.upstream(route)
            try:
                connection.request(method, "/mcp", body=body if method == "POST" else None, headers=headers)
                reply = connection.getresponse()
                return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
            except (OSError, http.client.HTTPException) as exc:
                self.server.drop_upstream(route)
                error = exc
        message = f"upstream {route.host}:{route.port} unavailable: {error}"
        return 502, {"content-type": "application/json"}, json.dumps(
            {"jsonrpc": "2.0", "id": None, "error": {"code": -32603, "message": message}}).encode()

    def _reply(self, status: int, body: bytes, headers: dict) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routes", required=True, help="JSON file: [{path, upstream, denied}]")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: the OS picks; printed)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added before each request is handled")
    parser.add_argument("--jwt", help="JSON file: a traffic.jwtAuthentication spec for the routes with auth: true")
    args = parser.parse_args()
    with open(args.routes, encoding="utf-8") as file:
        routes = load_routes(json.load(file))
    jwt = None
    if args.jwt:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.gateway_front_auth import JwtAuthentication
        with open(args.jwt, encoding="utf-8") as file:
            jwt = JwtAuthentication.from_spec(json.load(file))
    server = FrontServer(("127.0.0.1", args.port), routes, args.latency_ms / 1000, jwt)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(f"LISTENING {server.server_address[1]}", flush=True)
    server.serve_forever(poll_interval=0.1)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
