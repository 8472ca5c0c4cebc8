"""Render results: a table for people (one row per route + a summary line) or a JSON document."""
from __future__ import annotations

import json
from typing import Sequence

from verify.checks import RouteResult

COLUMNS = ("ROUTE", "PATH", "RESULT", "TOOLS", "LATENCY", "REASON")


def summary_line(results: Sequence[RouteResult], elapsed: float) -> str:
    """E.g. `3 routes: 2 passed, 1 failed (slack) in 4.2s`."""
    failed = [result.name for result in results if not result.passed]
    line = f"{len(results)} routes: {len(results) - len(failed)} passed, {len(failed)} failed"
    if failed:
        line += f" ({', '.join(failed)})"
    return f"{line} in {elapsed:.1f}s"


def _row(result: RouteResult) -> tuple[str, ...]:
    """A failing route shows its reason; a passing one its notes (no probe, extra tools), or '-'."""
    return (result.name, result.path, "PASS" if result.passed else "FAIL", str(len(result.tools)),
            f"{result.latency_ms:.0f}ms", result.reason or "; ".join(result.notes) or "-")


def render_table(results: Sequence[RouteResult], elapsed: float) -> str:
    """Aligned text table plus the summary line."""
    rows = [COLUMNS] + [_row(result) for result in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows]
    return "\n".join(lines + ["", summary_line(results, elapsed)]) + "\n"


def report_dict(results: Sequence[RouteResult], gateway_url: str, elapsed: float) -> dict:
    """The machine-readable report (what --json prints).

    Per route: name, path, url, passed, tools (listed names), latencyMs, attempts, reason, problems[{kind,
    detail}], and (since aggregated routes) toolsMatch, targets ([] unless names are prefixed), missingTools,
    unexpectedTools, extraTools (allowed by atLeast), targetsDown, probe (passed | failed | skipped: the plan
    has none | not_run) and notes. Problem kinds: unreachable, deadline, redirected, reply_too_large, not_mcp,
    bad_reply, route_not_found, session_rejected, server_error, mcp_error, tools_mismatch, target_down,
    denied_tool_listed, denied_tool_callable, probe_failed; for routes with auth.required also
    anonymous_accepted, anonymous_not_refused, anonymous_check_failed, www_authenticate, token_rejected,
    restricted_tool_listed, restricted_tool_callable, restricted_tools_missing, restricted_token_rejected,
    restricted_check_failed.
    """
    return {
        "gatewayUrl": gateway_url,
        "passed": all(result.passed for result in results),
        "summary": {"routes": len(results), "passed": sum(r.passed for r in results),
                    "failed": sum(not r.passed for r in results), "elapsedSeconds": round(elapsed, 3)},
        "routes": [{"name": r.name, "path": r.path, "url": r.url, "passed": r.passed, "tools": r.tools,
                    "latencyMs": round(r.latency_ms, 1), "attempts": r.attempts, "reason": r.reason,
                    "problems": [{"kind": p.kind, "detail": p.detail} for p in r.problems],
                    "toolsMatch": r.tools_match, "targets": list(r.targets), "missingTools": r.missing_tools,
                    "unexpectedTools": r.unexpected_tools, "extraTools": r.extra_tools,
                    "targetsDown": r.targets_down, "probe": r.probe, "notes": r.notes} for r in results],
    }


def render_json(results: Sequence[RouteResult], gateway_url: str, elapsed: float) -> str:
    """`report_dict` as indented JSON."""
    return json.dumps(report_dict(results, gateway_url, elapsed), indent=2) + "\n"
