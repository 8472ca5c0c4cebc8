"""A path-prefix MCP front that behaves like agentgateway 1.4 in front of the mock servers (test peer).

Built from the official `mcp` SDK's low-level `Server`: one stateful Streamable HTTP endpoint per route path,
answering with SSE (`json_response=False`) and requiring `Mcp-Session-Id` after `initialize`, as agentgateway
does. Each route proxies `tools/list` and `tools/call` to its upstream mock server through the SDK client.
Like agentgateway:
- an unknown path gets HTTP 404;
- a route's denied tools are filtered out of `tools/list`, and calling one is rejected with HTTP 400 and a
  JSON-RPC error -32602 "Unknown tool: <name>" (agentgateway.md §2);
- DNS-rebinding protection is off (agentgateway's default; the SDK would otherwise turn it on for 127.0.0.1).
Unlike agentgateway, the upstream is contacted per list/call (not at `initialize`), so a dead upstream shows up
as a JSON-RPC error on `tools/list`.

    with GatewayFront([FrontRoute("/mcp/github", github.url, denied_tools=("delete_repo",))]) as front:
        front.url  # http://127.0.0.1:<port>
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator

import mcp_types as types
import uvicorn
from mcp import Client
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette
from starlette.routing import Route

UPSTREAM_TIMEOUT = 20.0
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class FrontRoute:
    """One gateway path and the upstream MCP endpoint behind it.

    `page_size` makes the front paginate `tools/list` (so clients must follow `nextCursor`).
    """

    path: str
    upstream_url: str
    denied_tools: tuple[str, ...] = ()
    page_size: int | None = None


def unknown_tool_error(request_id: Any, name: str) -> bytes:
    """agentgateway's body for a call to a filtered tool (sent with HTTP 400)."""
    return json.dumps({"jsonrpc": "2.0", "id": request_id,
                       "error": {"code": types.INVALID_PARAMS, "message": f"Unknown tool: {name}"}}).encode()


@contextlib.asynccontextmanager
async def _upstream(url: str) -> AsyncIterator[Client]:
    """An SDK client session to the upstream; any failure to reach it becomes a JSON-RPC internal error."""
    try:
        async with Client(url, mode="legacy", read_timeout_seconds=UPSTREAM_TIMEOUT) as client:
            yield client
    except MCPError:
        raise
    except Exception as exc:  # noqa: BLE001 - connection refused arrives as httpx errors in exception groups
        raise MCPError(code=types.INTERNAL_ERROR, message=f"upstream {url} unavailable: {_first_cause(exc)}") from exc


def _first_cause(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


def _route_server(route: FrontRoute) -> Server:
    """The low-level SDK server for one route: lists and calls go to the upstream, denied tools are hidden."""

    async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        tools: list[types.Tool] = []
        async with _upstream(route.upstream_url) as client:
            cursor = None
            while True:
                page = await client.list_tools(cursor=cursor)
                tools.extend(page.tools)
                cursor = page.next_cursor
                if not cursor:
                    break
        visible = [tool for tool in tools if tool.name not in route.denied_tools]
        if not route.page_size:
            return types.ListToolsResult(tools=visible)
        start = int(params.cursor) if params and params.cursor else 0
        end = start + route.page_size
        return types.ListToolsResult(tools=visible[start:end], next_cursor=str(end) if end < len(visible) else None)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        if params.name in route.denied_tools:  # the HTTP filter answers first; this is the in-protocol backstop
            raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown tool: {params.name}")
        async with _upstream(route.upstream_url) as client:
            return await client.call_tool(params.name, params.arguments or {})

    return Server(f"front{route.path.replace('/', '-')}", version="1.4.1-test",
                  on_list_tools=list_tools, on_call_tool=call_tool)


class DeniedCallFilter:
    """ASGI wrapper: a `tools/call` of a denied tool gets HTTP 400 + -32602 before reaching the MCP server."""

    def __init__(self, app: Any, denied_tools: tuple[str, ...]):
        self.app, self.denied_tools = app, denied_tools

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not self.denied_tools:
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)  # client went away; let the app see it
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        denied = self._denied_call(body)
        if denied is not None:
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": unknown_tool_error(*denied)})
            return
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _denied_call(self, body: bytes) -> tuple[Any, str] | None:
        try:
            message = json.loads(body)
        except ValueError:
            return None
        if not isinstance(message, dict) or message.get("method") != "tools/call":
            return None
        name = (message.get("params") or {}).get("name")
        return (message.get("id"), name) if name in self.denied_tools else None


def build_app(routes: list[FrontRoute]) -> Starlette:
    """One Starlette app: a stateful SSE MCP endpoint per route path; anything else is 404."""
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    managers = [StreamableHTTPSessionManager(app=_route_server(route), json_response=False, stateless=False,
                                             security_settings=security) for route in routes]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for manager in managers:
                await stack.enter_async_context(manager.run())
            yield

    return Starlette(routes=[Route(route.path, endpoint=DeniedCallFilter(StreamableHTTPASGIApp(manager),
                                                                         route.denied_tools))
                             for route, manager in zip(routes, managers)],
                     lifespan=lifespan)


class GatewayFront:
    """Runs `build_app(routes)` with uvicorn in a background thread on a free 127.0.0.1 port."""

    def __init__(self, routes: list[FrontRoute]):
        self.routes = routes
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))  # the OS picks the port; uvicorn serves this very socket
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(build_app(routes), log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"gateway-front-{self.port}", daemon=True)
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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
