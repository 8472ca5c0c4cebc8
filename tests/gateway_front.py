"""An MCP front that behaves like agentgateway 1.4 in front of the mock servers (test peer).

Like agentgateway (research: agentgateway.md §2 and §5), the front is a full MCP server, not a proxy:
- one stateful Streamable HTTP endpoint per route path; every reply to a request is SSE; a POST needs `Accept`
  with both JSON and SSE (else 406) and a JSON body (else 415); without `Mcp-Session-Id` only `initialize` is
  allowed (else 400); an unknown session gets 404; an unknown path gets 404; GET gets 405 (no merged stream);
- at client `initialize` it opens one upstream MCP session per target (tests/gateway_front_upstream.py, the
  official SDK client) and keeps them for the client session; DELETE closes them;
- a route multiplexes its targets: tools are listed as `<target>_<tool>` when prefixed (prefixMode
  `Conditional`: more than one target; `Always`; `Never`: names pass through, duplicates dropped, a call goes
  to the target that lists the name); a call is routed by splitting its name at the first `_`;
- each target's denied tools are filtered out of `tools/list`; calling one (or an unknown target) gets HTTP 400
  and a JSON-RPC error -32602 "Unknown tool: <client-visible name>";
- failureMode `FailClosed`: `initialize` fails if any target fails to initialize (here: HTTP 500 with a
  JSON-RPC -32603 error naming the targets; agentgateway's exact status is not established); `FailOpen`: broken
  targets are skipped for that session.
A `FrontRoute` is a route with one target (so names pass through), as a per-server path of the gateway is.

Caller authentication and claim-based tool access (tests/gateway_front_auth.py, as agentgateway v1.4.1): the
front takes a `traffic.jwtAuthentication` spec for every route (a Gateway-targeted policy) and a route may carry
its own (an HTTPRoute-targeted one, which replaces the Gateway's); each route carries the
`backend.mcp.authorization` specs of the policies on its backend, which combine. Paths that match no route get
404 without authentication, as upstream's PostRouting policies do.

    with GatewayFront([FrontRoute("/mcp/github", github.url, denied_tools=("delete_repo",)),
                       AggregateRoute("/mcp", (Target("github", github.url, ("delete_repo",)),
                                               Target("slack", slack.url)), failure_mode="FailOpen")]) as front:
        front.url  # http://127.0.0.1:<port>
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator

import mcp_types as types
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.gateway_front_auth import JwtAuthentication, RuleSet, authorized
from tests.gateway_front_auth_layer import JwtFront
from tests.gateway_front_upstream import UpstreamFailed, UpstreamSessions

START_TIMEOUT = 30.0
DELIMITER = "_"
PREFIX_MODES = ("Conditional", "Always", "Never")
FAILURE_MODES = ("FailClosed", "FailOpen")
SERVER_INFO = {"name": "gateway-front", "version": "1.4.1-test"}


@dataclass(frozen=True)
class Target:
    """One MCP target of a route: its name (no `_`), upstream endpoint and denied (upstream) tool names.

    `hidden_tools` is fault injection: tools left out of `tools/list` but still callable (a gateway whose
    authorization filters lists but not calls), so tests can prove the verifier calls denied tools.
    """

    name: str
    upstream_url: str
    denied_tools: tuple[str, ...] = ()
    hidden_tools: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name or DELIMITER in self.name:
            raise ValueError(f"target name {self.name!r} must be non-empty and must not contain {DELIMITER!r}")


@dataclass(frozen=True)
class AggregateRoute:
    """A gateway path multiplexing several targets (an AgentgatewayBackend with several `mcp.targets`).

    `page_size` makes the front paginate `tools/list` (so clients must follow `nextCursor`).
    """

    path: str
    targets: tuple[Target, ...]
    prefix_mode: str = "Conditional"
    failure_mode: str = "FailClosed"
    page_size: int | None = None
    authorization: tuple[dict, ...] = ()  # backend.mcp.authorization of each policy on the backend
    jwt_authentication: dict | None = None  # a route-level traffic.jwtAuthentication (replaces the Gateway's)

    def __post_init__(self) -> None:
        names = [target.name for target in self.targets]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"route {self.path}: targets must be a non-empty list of unique names, got {names}")
        if self.prefix_mode not in PREFIX_MODES:
            raise ValueError(f"route {self.path}: prefix_mode {self.prefix_mode!r} is not one of {PREFIX_MODES}")
        if self.failure_mode not in FAILURE_MODES:
            raise ValueError(f"route {self.path}: failure_mode {self.failure_mode!r} is not one of {FAILURE_MODES}")

    @property
    def prefixed(self) -> bool:
        """Whether tool names are shown as `<target>_<tool>`."""
        return self.prefix_mode == "Always" or (self.prefix_mode == "Conditional" and len(self.targets) > 1)


@dataclass(frozen=True)
class FrontRoute:
    """One gateway path and the single upstream MCP endpoint behind it (a per-server route)."""

    path: str
    upstream_url: str
    denied_tools: tuple[str, ...] = ()
    page_size: int | None = None
    authorization: tuple[dict, ...] = ()
    jwt_authentication: dict | None = None

    def as_aggregate(self) -> AggregateRoute:
        """The same route as a one-target route (names pass through unprefixed) named after the last path part."""
        name = self.path.rstrip("/").rsplit("/", 1)[-1].replace(DELIMITER, "-") or "upstream"
        return AggregateRoute(self.path, (Target(name, self.upstream_url, tuple(self.denied_tools)),),
                              page_size=self.page_size, authorization=self.authorization,
                              jwt_authentication=self.jwt_authentication)


class UnknownTool(Exception):
    """A call of a tool the client cannot see (denied, or no such target): HTTP 400 + -32602."""


def unknown_tool_error(request_id: Any, name: str) -> bytes:
    """agentgateway's body for a call to a filtered tool (sent with HTTP 400)."""
    return json.dumps(_error(request_id, types.INVALID_PARAMS, f"Unknown tool: {name}")).encode()


def _error(request_id: Any, code: int, message: str) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def _dump(model: Any) -> dict:
    """An SDK result as legacy-era JSON (no 2026-07-28 `resultType`)."""
    data = model.model_dump(by_alias=True, mode="json", exclude_none=True)
    data.pop("resultType", None)
    return data


class ToolCatalog:
    """A route's tool naming: which upstream tools a client sees, under which names, and where a call goes."""

    def __init__(self, route: AggregateRoute):
        self.route = route
        self.targets = {target.name: target for target in route.targets}
        self.rule_sets = [RuleSet.from_spec(spec) for spec in route.authorization]

    def _allowed(self, target: Target, tool: str, claims: dict | None) -> bool:
        return tool not in target.denied_tools and authorized(self.rule_sets, tool, target.name, claims)

    async def visible_tools(self, upstream: UpstreamSessions, claims: dict | None = None) -> list[dict]:
        """Every connected target's tools minus its denied ones and those the caller's claims may not use,
        renamed per prefixMode."""
        tools, seen = [], set()
        for target, tool in await self._all_tools(upstream):
            name = f"{target.name}{DELIMITER}{tool.name}" if self.route.prefixed else tool.name
            if not self._allowed(target, tool.name, claims) or tool.name in target.hidden_tools or name in seen:
                continue  # Never: the first target wins
            seen.add(name)
            tools.append({**_dump(tool), "name": name})
        return tools

    async def resolve(self, upstream: UpstreamSessions, name: str, claims: dict | None = None) -> tuple[str, str]:
        """(target name, upstream tool name) for a visible tool name; UnknownTool if the client cannot see it."""
        if self.route.prefixed:
            target_name, _, tool = name.partition(DELIMITER)
            target = self.targets.get(target_name)
            if target is None or not tool or target_name not in upstream.connected or \
                    not self._allowed(target, tool, claims):
                raise UnknownTool(name)
            return target_name, tool
        owners = [target for target, listed in await self._all_tools(upstream) if listed.name == name]
        allowed = [target for target in owners if self._allowed(target, name, claims)]
        if allowed:
            return allowed[0].name, name
        if owners:
            raise UnknownTool(name)
        only = self.targets.get(upstream.connected[0]) if len(self.targets) == 1 and upstream.connected else None
        if only is not None and self._allowed(only, name, claims):  # pass through; the upstream answers unknown names
            return only.name, name
        raise UnknownTool(name)

    async def _all_tools(self, upstream: UpstreamSessions) -> list[tuple[Target, types.Tool]]:
        listed = []
        for name in upstream.connected:
            listed += [(self.targets[name], tool) for tool in await upstream.list_tools(name)]
        return listed


def _sse(message: dict, status: int = 200, headers: dict | None = None) -> Response:
    body = f"event: message\ndata: {json.dumps(message)}\n\n"
    return Response(body, status_code=status, media_type="text/event-stream",
                    headers={"Cache-Control": "no-cache", **(headers or {})})


def _json(message: dict, status: int) -> Response:
    return Response(json.dumps(message), status_code=status, media_type="application/json")


class RouteEndpoint:
    """The MCP endpoint of one route: sessions, handshake, tools/list and tools/call."""

    def __init__(self, route: AggregateRoute):
        self.route = route
        self.catalog = ToolCatalog(route)
        self.sessions: dict[str, UpstreamSessions] = {}
        self.seen_authorization: list[str | None] = []  # the Authorization header each MCP request still had
        self.seen_headers: list[list[tuple[bytes, bytes]]] = []  # every header each MCP request still had

    async def close_all(self) -> None:
        """Close every client session's upstream sessions (front shutdown)."""
        for upstream in list(self.sessions.values()):
            await upstream.close()
        self.sessions.clear()

    async def handle(self, request: Request) -> Response:
        """Answer one HTTP request to the route path."""
        self.seen_authorization.append(request.headers.get("authorization"))
        self.seen_headers.append(list(request.headers.raw))
        if request.method == "DELETE":
            upstream = self.sessions.pop(request.headers.get("mcp-session-id", ""), None)
            if upstream is None:
                return Response(status_code=404)
            await upstream.close()
            return Response(status_code=200)
        if request.method != "POST":
            return Response(status_code=405, headers={"Allow": "POST, DELETE"})
        accept = request.headers.get("accept", "")
        if "application/json" not in accept or "text/event-stream" not in accept:
            return Response("Accept must list application/json and text/event-stream", status_code=406)
        if not request.headers.get("content-type", "").lower().startswith("application/json"):
            return Response("Content-Type must be application/json", status_code=415)
        try:
            message = json.loads(await request.body())
        except ValueError:
            return _json(_error(None, types.PARSE_ERROR, "Parse error"), 400)
        if not isinstance(message, dict) or not isinstance(message.get("method", ""), str):
            return _json(_error(None, types.INVALID_REQUEST, "Invalid request"), 400)
        session_id = request.headers.get("mcp-session-id")
        if session_id is None:
            if message.get("method") != "initialize":
                return _json(_error(message.get("id"), types.INVALID_REQUEST,
                                    "session header is required for non-initialize requests"), 400)
            return await self._initialize(message)
        upstream = self.sessions.get(session_id)
        if upstream is None:
            return _json(_error(message.get("id"), types.INVALID_REQUEST, "Session not found"), 404)
        if "id" not in message:  # a notification (or a client response): accepted
            return Response(status_code=202)
        return await self._request(upstream, message, getattr(request.state, "jwt_claims", None))

    async def _initialize(self, message: dict) -> Response:
        upstream = UpstreamSessions(self.route.targets)
        await upstream.open()
        if not upstream.connected or (upstream.failures and self.route.failure_mode == "FailClosed"):
            await upstream.close()
            failed = "; ".join(f"target {name} failed to initialize: {why}" for name, why in upstream.failures.items())
            return _json(_error(message.get("id"), types.INTERNAL_ERROR, failed), 500)
        session_id = uuid.uuid4().hex
        self.sessions[session_id] = upstream
        result = {"protocolVersion": min(upstream.protocol_versions.values()),  # agentgateway: the lowest upstream's
                  "capabilities": {"tools": {}}, "serverInfo": SERVER_INFO}
        return _sse({"jsonrpc": "2.0", "id": message.get("id"), "result": result},
                    headers={"Mcp-Session-Id": session_id})

    async def _request(self, upstream: UpstreamSessions, message: dict, claims: dict | None) -> Response:
        request_id, method = message["id"], message.get("method")
        params = message.get("params") if isinstance(message.get("params"), dict) else {}
        try:
            if method == "ping":
                result = {}
            elif method == "tools/list":
                result = self._page(await self.catalog.visible_tools(upstream, claims), params.get("cursor"))
            elif method == "tools/call":
                name = str(params.get("name", ""))
                target, tool = await self.catalog.resolve(upstream, name, claims)
                result = _dump(await upstream.call_tool(target, tool, params.get("arguments") or {}))
            else:
                return _sse(_error(request_id, types.METHOD_NOT_FOUND, f"Method not found: {method}"))
        except UnknownTool as exc:
            return Response(unknown_tool_error(request_id, str(exc)), status_code=400, media_type="application/json")
        except InvalidCursor as exc:
            return _sse(_error(request_id, types.INVALID_PARAMS, str(exc)))
        except UpstreamFailed as exc:
            return _sse(_error(request_id, exc.code, exc.message))
        return _sse({"jsonrpc": "2.0", "id": request_id, "result": result})

    def _page(self, tools: list[dict], cursor: Any) -> dict:
        if not self.route.page_size:
            return {"tools": tools}
        if cursor is not None and not (isinstance(cursor, str) and cursor.isdigit()):
            raise InvalidCursor(f"invalid cursor {cursor!r}")
        start = int(cursor or 0)
        end = start + self.route.page_size
        return {"tools": tools[start:end], **({"nextCursor": str(end)} if end < len(tools) else {})}


class InvalidCursor(Exception):
    """A tools/list cursor this front did not issue (-32602)."""


def build_app(routes: list[FrontRoute | AggregateRoute], jwt_authentication: dict | None = None) -> JwtFront:
    """One Starlette app: an MCP endpoint per route path; anything else is 404; behind the JWT layer.

    `jwt_authentication` is a Gateway-level `traffic.jwtAuthentication` spec (None: no authentication)."""
    endpoints = [RouteEndpoint(route.as_aggregate() if isinstance(route, FrontRoute) else route) for route in routes]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for endpoint in endpoints:
                await endpoint.close_all()

    app = Starlette(routes=[Route(endpoint.route.path, endpoint=endpoint.handle, methods=["GET", "POST", "DELETE"])
                            for endpoint in endpoints], lifespan=lifespan)
    route_auth = {endpoint.route.path: JwtAuthentication.from_spec(endpoint.route.jwt_authentication)
                  for endpoint in endpoints if endpoint.route.jwt_authentication is not None}
    gateway_auth = JwtAuthentication.from_spec(jwt_authentication) if jwt_authentication is not None else None
    front = JwtFront(app, gateway_auth, route_auth)
    front.route_paths = {endpoint.route.path for endpoint in endpoints}
    front.endpoints = {endpoint.route.path: endpoint for endpoint in endpoints}
    return front


class GatewayFront:
    """Runs `build_app(routes)` with uvicorn in a background thread on a free 127.0.0.1 port."""

    def __init__(self, routes: list[FrontRoute | AggregateRoute], jwt_authentication: dict | None = None):
        self.routes = routes
        self.app = build_app(routes, jwt_authentication)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))  # the OS picks the port; uvicorn serves this very socket
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"gateway-front-{self.port}", daemon=True)
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def seen_authorization(self, path: str) -> list[str | None]:
        """The Authorization header of each request that reached the MCP layer of route `path`."""
        return self.app.endpoints[path].seen_authorization

    def seen_header(self, path: str, name: str) -> list[list[str]]:
        """The values of header `name` (any case) in each request that reached the MCP layer of route `path`."""
        wanted = name.lower().encode()
        return [[value.decode("latin-1") for key, value in headers if key.lower() == wanted]
                for headers in self.app.endpoints[path].seen_headers]

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._error = exc

    def start(self) -> "GatewayFront":
        """Start serving; returns once uvicorn accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gateway front did not start: {self._error!r}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit, wait for the thread, close the socket."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        self._socket.close()

    def __enter__(self) -> "GatewayFront":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
