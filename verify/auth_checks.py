"""Checks of a route the plan marks `auth.required`: anonymous callers are refused, restricted ones see less.

What agentgateway v1.4.1 answers (crates/agentgateway/src/proxy/mod.rs, mcp/auth.rs): a request without a valid token gets HTTP 401. With plain `jwtAuthentication` there
is no WWW-Authenticate header; with its `mcp` block the 401 carries exactly
`WWW-Authenticate: Bearer resource_metadata="<base>/.well-known/oauth-protected-resource<request path>"`.
Tools that `backend.mcp.authorization` rules keep from a caller are left out of tools/list and a call gets
HTTP 400 with JSON-RPC -32602 "Unknown tool".
"""
from __future__ import annotations

import http.client
import json
import re
import socket
import time
from urllib.parse import urlsplit

from verify.mcp_client import (CLIENT_INFO, PROTOCOL_VERSION, ConnectFailed, DeadlineReached, HttpStatusError,
                               JsonRpcError, McpError, McpHttpClient)
from verify.wire import JSON_TYPE, SSE_TYPE
from verify.plan import RoutePlan
from verify.results import Problem, RouteResult
from verify.tool_names import listed

WELL_KNOWN = "/.well-known/oauth-protected-resource"


def result_text(result: dict) -> str:
    """The text blocks of a CallToolResult, whitespace-collapsed, ASCII-escaped, at most 200 characters."""
    content = result.get("content")
    blocks = content if isinstance(content, list) else []
    texts = [block["text"] for block in blocks if isinstance(block, dict) and isinstance(block.get("text"), str)]
    return ascii(" ".join(" ".join(texts).split())[:200])[1:-1] or "no message"


def call_refusal(client: McpHttpClient, tool: str) -> str | None:
    """Call `tool` (by its visible name) with no arguments; None if the call was refused (HTTP 4xx or a JSON-RPC
    error), else what happened instead (the tool ran, or the server answered without refusing)."""
    try:
        result = client.call_tool(tool, {})
    except JsonRpcError:
        return None
    except HttpStatusError as exc:
        return None if 400 <= exc.status < 500 else f"the call was not refused: {exc}"
    except McpError as exc:
        return f"the call was not refused: {exc}"
    answer = f"the server answered: {result_text(result)}" if result.get("isError") else "it ran"
    return f"the call was not refused; {answer}"


def www_authenticate_pattern(path: str) -> re.Pattern:
    """The exact header agentgateway sends for a 401 on `path` when the OAuth metadata (`mcp`) block is set."""
    return re.compile(r'Bearer resource_metadata="https?://[^"\s]+' + re.escape(WELL_KNOWN + path) + '"')


def anonymous_status(url: str, timeout: float, stop_at: float | None) -> tuple[int, str | None]:
    """POST an MCP `initialize` without credentials; (HTTP status, WWW-Authenticate header or None).

    Plain http.client, not the session client: one request, no session, the body never read (status and
    headers are all this check needs), several times cheaper in CPU than a `requests` exchange. Redirects are
    not followed by http.client. Raises McpError subclasses like the client does."""
    parts = urlsplit(url)
    left = timeout if stop_at is None else min(timeout, stop_at - time.monotonic())
    if left <= 0:
        raise DeadlineReached("anonymous initialize: no time left before the deadline")
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname or "", parts.port, timeout=left)  # cli.gateway_url: a host
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                       "params": {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": CLIENT_INFO}})
    try:
        connection.request("POST", parts.path + (f"?{parts.query}" if parts.query else ""), body=body,
                           headers={"Accept": f"{JSON_TYPE}, {SSE_TYPE}", "Content-Type": JSON_TYPE,
                                    "Accept-Encoding": "identity", "Connection": "close"})
        reply = connection.getresponse()
        return reply.status, reply.getheader("WWW-Authenticate")
    except (TimeoutError, socket.timeout):
        raise DeadlineReached(f"anonymous initialize timed out after {left:.3g}s") from None
    except ConnectionRefusedError:
        raise ConnectFailed("connection refused") from None
    except (OSError, http.client.HTTPException) as exc:
        raise ConnectFailed(f"anonymous initialize failed: {type(exc).__name__}") from None
    finally:
        connection.close()


def anonymous_problems(url: str, route: RoutePlan, timeout: float, stop_at: float | None) -> list[Problem]:
    """An `initialize` without a token must get HTTP 401, with the WWW-Authenticate header exactly when the plan
    says the route serves OAuth protected-resource metadata."""
    try:
        status, header = anonymous_status(url, timeout, stop_at)
    except McpError as exc:
        return [Problem("anonymous_check_failed", f"anonymous initialize: {exc}")]
    if status == 401:
        return _www_authenticate_problems(route, header)
    if 200 <= status < 300:
        return [Problem("anonymous_accepted", f"anonymous initialize was accepted (HTTP {status}); the plan says "
                                              "the route requires authentication")]
    return [Problem("anonymous_not_refused", f"anonymous initialize got HTTP {status}, not 401")]


def _www_authenticate_problems(route: RoutePlan, header: str | None) -> list[Problem]:
    shown = ascii(header)[:200] if header is not None else "none"
    if route.resource_metadata:
        if header is None or not www_authenticate_pattern(route.path).fullmatch(header.strip()):
            return [Problem("www_authenticate", f"401 without the expected WWW-Authenticate: Bearer "
                                                f'resource_metadata=".../{WELL_KNOWN.lstrip("/")}{route.path}" '
                                                f"(got {shown})")]
    elif header is not None and "resource_metadata" in header:
        return [Problem("www_authenticate", f"401 advertises OAuth metadata ({shown}) but the plan says the route "
                                            "has none (auth.resourceMetadata false)")]
    return []


def restricted_problems(result: RouteResult, route: RoutePlan, timeout: float, stop_at: float | None,
                        token: str | None) -> list[Problem]:
    """With the restricted token (in none of the plan's groups): every group-restricted tool is neither listed
    nor callable, and the route's other tools are still listed (so the token itself was accepted)."""
    if not route.group_restricted:
        return []
    if token is None:
        result.notes.append("group rules not checked: no --restricted-token-env/--restricted-token-file")
        return []
    restricted = route.restricted_tools()
    try:
        with McpHttpClient(result.url, timeout=timeout, stop_at=stop_at, token=token,
                           location=route.token_location) as client:
            client.initialize()
            seen = [tool["name"] for tool in client.list_tools()]
            problems = [Problem("restricted_tool_listed", f"restricted token: group-restricted tool listed: {tool}")
                        for tool in restricted if listed(tool, seen)]
            for tool in restricted:
                if not listed(tool, seen) and (answer := call_refusal(client, tool)) is not None:
                    problems.append(Problem("restricted_tool_callable",
                                            f"restricted token: group-restricted tool callable: {tool} ({answer})"))
    except HttpStatusError as exc:
        if exc.status == 403 and route.allowed_groups:
            return []  # refused outright (a traffic-level authorization rule): nothing listed, nothing callable
        return [Problem("restricted_token_rejected", f"restricted token: {exc.method} got HTTP {exc.status} (it "
                                                     "must be a valid token in none of the plan's groups)")]
    except McpError as exc:
        return [Problem("restricted_check_failed", f"restricted token: {exc}")]
    open_tools = [tool for tool in route.expected_tools if tool not in restricted]
    missing = [tool for tool in open_tools if not listed(tool, seen)]
    if missing:
        problems.append(Problem("restricted_tools_missing", f"restricted token: tools open to every caller not "
                                                            f"listed: {', '.join(missing)}"))
    return problems
