"""The upstream MCP sessions of one client session of tests/gateway_front.py (official SDK client).

agentgateway opens its upstream sessions when the client initializes and keeps them for the client session.
The SDK `Client` is an anyio context manager that must be entered and left in one task, so one worker task
owns all the upstream clients of a session and runs the operations handed to it, one at a time.
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Awaitable, Callable, Iterable

import mcp_types as types
from mcp import Client
from mcp.shared.exceptions import MCPError

UPSTREAM_TIMEOUT = 20.0
OPERATION_TIMEOUT = 60.0
CLOSE_TIMEOUT = 10.0


class UpstreamFailed(Exception):
    """An upstream answered with a JSON-RPC error, or could not be reached; `code`/`message` go to the client."""

    def __init__(self, code: int, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def first_cause(exc: BaseException) -> str:
    """The innermost first exception of an exception group, as `Type: message`."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


class UpstreamSessions:
    """One SDK client session per target (each target has `.name` and `.upstream_url`).

    After `open()`: `connected` lists the targets that initialized (in target order), `failures` maps the
    others to the reason, `protocol_versions` maps connected targets to their negotiated version.
    """

    def __init__(self, targets: Iterable[Any]):
        self.targets = tuple(targets)
        self.connected: list[str] = []
        self.failures: dict[str, str] = {}
        self.protocol_versions: dict[str, str] = {}
        self._clients: dict[str, Client] = {}
        self._queue: asyncio.Queue = asyncio.Queue()
        self._task: asyncio.Task | None = None

    async def open(self) -> None:
        """Initialize every target (failures are recorded, not raised)."""
        ready = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._serve(ready))
        await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)

    async def _serve(self, ready: asyncio.Future) -> None:
        try:
            async with contextlib.AsyncExitStack() as stack:
                for target in self.targets:
                    try:
                        client = await stack.enter_async_context(
                            Client(target.upstream_url, mode="legacy", read_timeout_seconds=UPSTREAM_TIMEOUT))
                    except Exception as exc:  # noqa: BLE001 - connection refused arrives as httpx errors in groups
                        self.failures[target.name] = first_cause(exc)
                        continue
                    self._clients[target.name] = client
                    self.connected.append(target.name)
                    self.protocol_versions[target.name] = client.protocol_version
                ready.set_result(None)
                while (item := await self._queue.get()) is not None:
                    operation, future = item
                    try:
                        future.set_result(await operation())
                    except Exception as exc:  # noqa: BLE001 - handed to the waiting request
                        future.set_exception(exc)
        finally:
            if not ready.done():
                ready.set_result(None)

    async def _run(self, target: str, operation: Callable[[Client], Awaitable[Any]]) -> Any:
        """Run `operation(client of target)` in the worker; upstream problems become UpstreamFailed."""
        if self._task is None or self._task.done():  # closed, or the worker died with an upstream
            raise UpstreamFailed(types.INTERNAL_ERROR, "upstream sessions are closed")

        async def guarded() -> Any:
            try:
                return await operation(self._clients[target])
            except MCPError as exc:
                raise UpstreamFailed(exc.code, exc.message) from None
            except Exception as exc:  # noqa: BLE001
                raise UpstreamFailed(types.INTERNAL_ERROR,
                                     f"upstream {target} unavailable: {first_cause(exc)}") from None

        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((guarded, future))
        await asyncio.wait({future, self._task}, timeout=OPERATION_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if not future.done():
            future.cancel()
            raise UpstreamFailed(types.INTERNAL_ERROR, f"upstream {target}: no answer (session worker ended or "
                                                       f"{OPERATION_TIMEOUT:g}s passed)")
        return future.result()

    async def list_tools(self, target: str) -> list[types.Tool]:
        """All tools of a connected target (following its cursors)."""

        async def operation(client: Client) -> list[types.Tool]:
            tools, cursor = [], None
            while True:
                page = await client.list_tools(cursor=cursor)
                tools.extend(page.tools)
                cursor = page.next_cursor
                if not cursor:
                    return tools

        return await self._run(target, operation)

    async def call_tool(self, target: str, tool: str, arguments: dict) -> types.CallToolResult:
        """`tools/call` on a connected target, with the upstream (un-prefixed) tool name."""
        return await self._run(target, lambda client: client.call_tool(tool, arguments))

    async def close(self) -> None:
        """End every upstream session (the SDK client DELETEs it); best effort."""
        if self._task is None:
            return
        task, self._task = self._task, None
        self._queue.put_nowait(None)
        await asyncio.wait({task}, timeout=CLOSE_TIMEOUT)
        if not task.done():
            task.cancel()
        elif not task.cancelled():
            task.exception()  # retrieved: a failing upstream DELETE is not worth a warning
