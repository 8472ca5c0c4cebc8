"""The checks for one route: reachable, MCP handshake, exact tool list, denied tools refused, probe call."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from verify.mcp_client import ConnectFailed, HttpStatusError, JsonRpcError, McpError, McpHttpClient, NotMcpReply
from verify.plan import RoutePlan
from verify.tool_names import compare_tools, listed, visible_name

HANDSHAKE = ("initialize", "notifications/initialized")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a route. `kind` is a stable code for --json; `detail` is for a person."""

    kind: str
    detail: str


@dataclass
class RouteResult:
    """The outcome of checking one route (the last attempt when retried)."""

    name: str
    path: str
    url: str
    problems: list[Problem] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    latency_ms: float = 0.0
    attempts: int = 1

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def reason(self) -> str:
        return "; ".join(problem.detail for problem in self.problems)


def route_url(gateway_url: str, path: str) -> str:
    """The MCP endpoint of a route: gateway base URL + route path."""
    return gateway_url.rstrip("/") + path


def describe_failure(exc: McpError, stage: str) -> Problem:
    """Turn a client error during `stage` (an MCP method) into a reason a person can act on."""
    if isinstance(exc, ConnectFailed):
        return Problem("unreachable", str(exc))
    if isinstance(exc, NotMcpReply):
        return Problem("not_mcp", f"not an MCP endpoint: {exc}")
    status = exc.status if isinstance(exc, HttpStatusError) else getattr(exc, "http_status", 200)
    if stage == "initialize" and status == 404:
        return Problem("route_not_found", "route not found (HTTP 404 on initialize)")
    if status in (400, 404) and stage != "initialize":
        return Problem("session_rejected", f"session rejected: {exc}")
    if isinstance(exc, JsonRpcError):
        if stage in HANDSHAKE:
            return Problem("session_rejected", f"session rejected: {stage} error {exc.code}: {exc.message}")
        return Problem("mcp_error", f"{stage} failed: {exc.message} (JSON-RPC {exc.code})")
    if status >= 500:
        return Problem("server_error", f"{exc}")
    return Problem("not_mcp", f"not an MCP endpoint: {exc}")


def _tool_problems(route: RoutePlan, seen: list[str]) -> list[Problem]:
    diff = compare_tools(route.expected_tools, seen)
    denied_names = {visible_name(tool) for tool in route.denied_tools}
    unexpected = [name for name in diff.unexpected if name not in denied_names]  # reported as denied below
    parts = []
    if diff.missing:
        parts.append(f"tools missing: {', '.join(diff.missing)}")
    if unexpected:
        parts.append(f"unexpected tools: {', '.join(unexpected)}")
    return [Problem("tools_mismatch", "; ".join(parts))] if parts else []


def _denied_problems(client: McpHttpClient, route: RoutePlan, seen: list[str]) -> list[Problem]:
    problems = []
    for tool in route.denied_tools:
        if listed(tool, seen):  # already exposed: do not also call a dangerous tool
            problems.append(Problem("denied_tool_listed", f"denied tool listed: {tool}"))
            continue
        try:
            client.call_tool(visible_name(tool), {})
        except JsonRpcError:
            continue  # refused, as agentgateway does (HTTP 400 + -32602 "Unknown tool")
        except HttpStatusError as exc:
            if 400 <= exc.status < 500:
                continue
            problems.append(Problem("denied_tool_callable", f"denied tool {tool}: call was not refused ({exc})"))
        except McpError as exc:
            problems.append(Problem("denied_tool_callable", f"denied tool {tool}: call was not refused ({exc})"))
        else:
            problems.append(Problem("denied_tool_callable", f"denied tool callable: {tool}"))
    return problems


def _result_text(result: dict) -> str:
    content = result.get("content")
    texts = [block.get("text", "") for block in content or [] if isinstance(block, dict)]
    return " ".join(" ".join(texts).split())[:200] or "no message"


def _probe_problems(client: McpHttpClient, route: RoutePlan, seen: list[str]) -> list[Problem]:
    tool = route.probe_tool
    if not listed(tool, seen):
        return []  # already reported as missing
    try:
        result = client.call_tool(visible_name(tool), route.probe_arguments)
    except JsonRpcError as exc:
        return [Problem("probe_failed", f"probe {tool} failed: {exc.message} (JSON-RPC {exc.code})")]
    except McpError as exc:
        return [Problem("probe_failed", f"probe {tool} failed: {describe_failure(exc, 'tools/call').detail}")]
    if result.get("isError"):
        return [Problem("probe_failed", f"probe {tool} failed: {_result_text(result)}")]
    if not isinstance(result.get("content"), list) or not result["content"]:
        return [Problem("probe_failed", f"probe {tool} returned no content")]
    return []


def check_route(gateway_url: str, route: RoutePlan, timeout: float = 10.0) -> RouteResult:
    """Run every check against one route and collect its problems (none means it passed)."""
    result = RouteResult(name=route.name, path=route.path, url=route_url(gateway_url, route.path))
    started = time.monotonic()
    stage = "initialize"
    try:
        with McpHttpClient(result.url, timeout=timeout) as client:
            client.initialize()
            stage = "tools/list"
            result.tools = [str(tool.get("name")) for tool in client.list_tools() if isinstance(tool, dict)]
            result.problems = (_tool_problems(route, result.tools) + _denied_problems(client, route, result.tools)
                               + _probe_problems(client, route, result.tools))
    except McpError as exc:
        result.problems = [describe_failure(exc, getattr(exc, "method", stage))]
    result.latency_ms = (time.monotonic() - started) * 1000
    return result
