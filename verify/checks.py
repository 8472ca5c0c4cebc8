"""The checks for one route: reachable, MCP handshake, tool list, denied tools refused, probe call.

The tool list must equal the plan's `expectedTools` (`toolsMatch: exact`) or contain them (`atLeast`). On an
aggregated route (the plan lists `targets`), differences are reported per target, and a target whose tools are
all gone is named as down: with failureMode FailOpen agentgateway silently skips a target that failed to
initialize, so a missing target is the only sign of it. Routes the plan marks `auth.required` are also checked
for refusing anonymous callers and for hiding group-restricted tools from a restricted token (verify/auth_checks.py).
Whatever a peer answers, a check ends in problems with a reason, never in an exception.
"""
from __future__ import annotations

import threading
import time

from verify.auth_checks import anonymous_problems, call_refusal, restricted_problems, result_text
from verify.credentials import NO_CREDENTIALS, Credentials
from verify.mcp_client import (ConnectFailed, DeadlineReached, HttpStatusError, JsonRpcError, McpError, McpHttpClient,
                               NotMcpReply, Redirected, ReplyTooLarge)
from verify.plan import RoutePlan
from verify.results import PROBE_FAILED, PROBE_NOT_RUN, PROBE_PASSED, PROBE_SKIPPED, Problem, RouteResult
from verify.tool_names import ToolDiff, compare_tools, diff_by_target, listed

HANDSHAKE = ("initialize", "notifications/initialized")
AUTH_KINDS = ("anonymous_accepted", "anonymous_not_refused", "www_authenticate")


def route_url(gateway_url: str, path: str) -> str:
    """The MCP endpoint of a route: gateway base URL + route path."""
    return gateway_url.rstrip("/") + path


def describe_failure(exc: McpError, stage: str) -> Problem:
    """Turn a client error during `stage` (an MCP method) into a reason a person can act on."""
    if isinstance(exc, ConnectFailed):
        return Problem("unreachable", str(exc))
    if isinstance(exc, DeadlineReached):
        return Problem("deadline", f"{exc}")
    if isinstance(exc, Redirected):
        return Problem("redirected", f"{exc}")
    if isinstance(exc, ReplyTooLarge):
        return Problem("reply_too_large", f"{exc}")
    if isinstance(exc, HttpStatusError) and exc.status == 401:
        return Problem("token_rejected" if stage != "anonymous" else "unauthorized",
                       f"{stage} got HTTP 401: the gateway refused the caller's credentials")
    if isinstance(exc, NotMcpReply):
        return Problem("not_mcp", f"not an MCP endpoint: {exc}")
    status = exc.status if isinstance(exc, HttpStatusError) else getattr(exc, "http_status", 200)
    if stage == "initialize" and status == 404:
        return Problem("route_not_found", "route not found (HTTP 404 on initialize)")
    if status in (400, 404) and stage != "initialize":
        return Problem("session_rejected", f"session rejected: {exc}")
    if isinstance(exc, JsonRpcError) and status >= 500:
        return Problem("server_error", f"{stage} failed: {exc.message} (JSON-RPC {exc.code}, HTTP {status})")
    if isinstance(exc, JsonRpcError):
        if stage in HANDSHAKE:
            return Problem("session_rejected", f"session rejected: {stage} error {exc.code}: {exc.message}")
        return Problem("mcp_error", f"{stage} failed: {exc.message} (JSON-RPC {exc.code})")
    if status >= 500:
        return Problem("server_error", f"{exc}")
    return Problem("not_mcp", f"not an MCP endpoint: {exc}")


def _tool_problems(route: RoutePlan, result: RouteResult) -> list[Problem]:
    """Compare the listed tools with the plan; fill the result's tool fields; return the problems."""
    denied_listed = [tool for tool in route.denied_tools if listed(tool, result.tools)]  # reported as denied
    diff = compare_tools(route.expected_tools, result.tools, route.tools_match, reported_elsewhere=denied_listed)
    result.missing_tools, result.unexpected_tools = list(diff.missing), list(diff.unexpected)
    result.extra_tools = list(diff.extra)
    if diff.extra:
        result.notes.append(f"extra tools allowed by atLeast: {', '.join(diff.extra)}")
    if route.prefixed:
        return _target_problems(route, result, diff)
    parts = []
    if diff.missing:
        parts.append(f"tools missing: {', '.join(diff.missing)}")
    if diff.unexpected:
        parts.append(f"unexpected tools: {', '.join(diff.unexpected)}")
    return [Problem("tools_mismatch", "; ".join(parts))] if parts else []


def _target_problems(route: RoutePlan, result: RouteResult, diff: ToolDiff) -> list[Problem]:
    """An aggregated route's differences, one problem per target (and one for names without a prefix)."""
    per_target, unprefixed = diff_by_target(diff, route.expected_tools, result.tools, route.targets)
    problems = []
    for part in per_target:
        label = f"target {part.target}" if part.known else f"target {part.target} (not in the plan's targets)"
        if part.down:
            result.targets_down.append(part.target)
            problems.append(Problem("target_down", f"{label}: all {len(part.missing)} tools missing "
                                                   f"({', '.join(part.missing)}): the target looks down or failed "
                                                   "to initialize (failureMode FailOpen skips such a target)"))
            continue
        details = ([f"tools missing {', '.join(part.missing)}"] if part.missing else []) + \
                  ([f"unexpected tools {', '.join(part.unexpected)}"] if part.unexpected else [])
        problems.append(Problem("tools_mismatch", f"{label}: {'; '.join(details)}"))
    if unprefixed:
        problems.append(Problem("tools_mismatch", f"unexpected tools without a '<target>_' prefix: "
                                                  f"{', '.join(unprefixed)}"))
    return problems


def _denied_problems(client: McpHttpClient, route: RoutePlan, seen: list[str]) -> list[Problem]:
    """A denied tool must be neither listed nor callable: its call (by the visible name) must be refused with
    HTTP 4xx or a JSON-RPC error, as agentgateway does (HTTP 400 + -32602 "Unknown tool")."""
    problems = []
    for tool in route.denied_tools:
        if listed(tool, seen):  # already exposed: do not also call a dangerous tool
            problems.append(Problem("denied_tool_listed", f"denied tool listed: {tool}"))
            continue
        answer = call_refusal(client, tool)
        if answer is not None:
            problems.append(Problem("denied_tool_callable", f"denied tool callable: {tool} ({answer})"))
    return problems


def _probe_problems(client: McpHttpClient, route: RoutePlan, result: RouteResult) -> list[Problem]:
    """Call the plan's probe tool (if any) and set `result.probe`."""
    tool = route.probe_tool
    if tool is None:
        result.probe = PROBE_SKIPPED
        result.notes.append("no probe in the plan: tool call skipped")
        return []
    if not listed(tool, result.tools):
        return []  # already reported as missing
    result.probe = PROBE_FAILED
    try:
        answer = client.call_tool(tool, route.probe_arguments)
    except JsonRpcError as exc:
        return [Problem("probe_failed", f"probe {tool} failed: {exc.message} (JSON-RPC {exc.code})")]
    except McpError as exc:
        return [Problem("probe_failed", f"probe {tool} failed: {describe_failure(exc, 'tools/call').detail}")]
    if answer.get("isError"):
        return [Problem("probe_failed", f"probe {tool} failed: {result_text(answer)}")]
    if not isinstance(answer.get("content"), list) or not answer["content"]:
        return [Problem("probe_failed", f"probe {tool} returned no content")]
    result.probe = PROBE_PASSED
    return []


def check_route(gateway_url: str, route: RoutePlan, timeout: float = 10.0, stop_at: float | None = None,
                credentials: Credentials = NO_CREDENTIALS) -> RouteResult:
    """Run every check against one route and collect its problems (none means it passed).

    Every request ends by `stop_at` (time.monotonic) at the latest. The token is sent only to routes the plan
    marks `auth.required`, where its `auth.location` says; every text of the result is redacted of the tokens.
    """
    result = RouteResult(name=route.name, path=route.path, url=route_url(gateway_url, route.path),
                         tools_match=route.tools_match, targets=route.targets,
                         probe=PROBE_NOT_RUN if route.probe_tool else PROBE_SKIPPED)
    started = time.monotonic()
    stage = "initialize"
    token = credentials.token if route.auth_required else None
    anonymous = AnonymousCheck(result.url, route, timeout, stop_at) if route.auth_required else None
    try:
        problems = []
        with McpHttpClient(result.url, timeout=timeout, stop_at=stop_at, token=token,
                           location=route.token_location) as client:
            client.initialize()
            stage = "tools/list"
            result.tools = [tool["name"] for tool in client.list_tools()]
            problems += (_tool_problems(route, result) + _denied_problems(client, route, result.tools)
                         + _probe_problems(client, route, result))
        problems += restricted_problems(result, route, timeout, stop_at, credentials.restricted_token)
        result.problems = (anonymous.problems() if anonymous else []) + problems
    except McpError as exc:
        problem = describe_failure(exc, getattr(exc, "method", stage))
        if problem.kind == "token_rejected":  # say where it was sent: a wrong auth.location looks just like this
            problem = Problem(problem.kind, f"{problem.detail} (token sent as {route.token_location.describe()})")
        if route.prefixed and stage == "initialize" and problem.kind != "route_not_found":
            problem = Problem(problem.kind, f"{problem.detail} (an aggregated route with failureMode FailClosed "
                                            "fails to initialize when any of its targets does)")
        result.problems = [problem]
    except Exception as exc:  # noqa: BLE001 - a reply shape nobody foresaw is a route failure, not a traceback
        result.problems = [Problem("bad_reply", f"{stage}: unexpected reply ({type(exc).__name__}: "
                                                f"{ascii(str(exc))[1:-1][:200]})")]
    if anonymous and not anonymous.reported:  # the session failed: keep only what is about authentication
        result.problems = [p for p in anonymous.problems() if p.kind in AUTH_KINDS] + result.problems
    result.latency_ms = (time.monotonic() - started) * 1000
    return redacted(result, credentials)


class AnonymousCheck:
    """`anonymous_problems` on its own daemon thread, so the extra round trip runs alongside the route's session
    instead of before it (bench/verifier_auth.py: authenticated routes cost about what anonymous ones do)."""

    def __init__(self, url: str, route: RoutePlan, timeout: float, stop_at: float | None):
        self._limit = time.monotonic() + timeout if stop_at is None else min(stop_at, time.monotonic() + timeout)
        self._result: list[Problem] | None = None
        self.reported = False
        self._thread = threading.Thread(target=self._run, args=(url, route, timeout, stop_at), daemon=True)
        self._thread.start()

    def _run(self, url: str, route: RoutePlan, timeout: float, stop_at: float | None) -> None:
        try:
            self._result = anonymous_problems(url, route, timeout, stop_at)
        except Exception as exc:  # noqa: BLE001 - reported as the route's problem, never a traceback
            self._result = [Problem("bad_reply", f"anonymous initialize: unexpected reply ({type(exc).__name__})")]

    def problems(self) -> list[Problem]:
        """The check's problems once it is done (waiting at most until its own time is up)."""
        self.reported = True
        self._thread.join(max(0.0, self._limit - time.monotonic()) + 0.1)
        if self._result is None:
            return [Problem("deadline", "anonymous initialize did not finish in time")]
        return self._result


def printable(text: str) -> str:
    """`text` with every non-printable character (ESC, CR, LF, BEL, bidi overrides ...) written as its Python
    escape (`\\x1b`, `\\r`, `\\n`, `\\u202e`): a peer's tool name or error message must not move the cursor,
    recolour or add lines to the table and the progress lines a person reads."""
    return text if text.isprintable() else "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def redacted(result: RouteResult, credentials: Credentials) -> RouteResult:
    """The result with every token removed from its texts (a hostile peer may echo the token back) and every
    non-printable character escaped: everything the table, --json and the progress lines show passes here."""
    def clean(text: str) -> str:
        return printable(credentials.redact(text))

    result.problems = [Problem(p.kind, clean(p.detail)) for p in result.problems]
    result.notes = [clean(note) for note in result.notes]
    for name in ("tools", "missing_tools", "unexpected_tools", "extra_tools"):
        setattr(result, name, [clean(tool) for tool in getattr(result, name)])
    return result
