"""Markdown of an inventory and of a diff (GitHub-flavoured: it becomes a pull-request comment)."""
from __future__ import annotations

from typing import Optional

from review.inventory import DENIAL_REASONS

CHANGE_TEXT = {
    "appeared": "new tool", "disappeared": "removed", "becameReachable": "becomes reachable",
    "becameRestricted": "becomes restricted", "becameDenied": "becomes denied",
    "accessChanged": "who may call changes", "reasonChanged": "denied for another reason",
    "markingChanged": "marking changes",
}
WARNING = "⚠️"
MARK_REMOVED = "dangerous mark removed"
MAX_CODE_CHARS = 120  # characters of one value in the report; a longer name is cut with an ellipsis
TRUNCATED = "\n\n… (report truncated: run `make review` locally for all of it)\n"


def _visible(char: str) -> str:
    """A character as it may appear in a code span: printable as it is, anything else (control, format such as
    bidi overrides and zero-width, surrogate, unassigned) as a visible escape."""
    if char.isprintable():
        return char
    return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"


def code(text: object) -> str:
    """`text` as inline code that stays one table cell on one line: whitespace runs (line breaks included) become
    one space, other invisible characters are escaped visibly, a backtick becomes ' (no closing the span early),
    a pipe is escaped, and the result is cut to MAX_CODE_CHARS with an ellipsis. GitHub's table scanner keeps an
    escaped pipe in its cell even after a backslash (github/cmark-gfm extensions/ext_scanners.re: `table_cell` is
    the longest run of `escaped_char` or non-pipe characters)."""
    flat = "".join(_visible(char) for char in " ".join(str(text).split()))
    if len(flat) > MAX_CODE_CHARS:
        flat = flat[:MAX_CODE_CHARS - 1] + "…"
    return "`" + flat.replace("`", "'").replace("|", "\\|") + "`"


def callers(tool: dict) -> str:
    """Who may call a tool, in words."""
    if tool["state"] == "denied":
        return "nobody"
    access = tool["access"]
    sets = [" or ".join(code(g) for g in groups) for groups in access["groups"]]
    if sets:
        return "groups " + " and ".join(f"({s})" if len(groups) > 1 else s
                                        for s, groups in zip(sets, access["groups"]))
    return "any authenticated caller" if access["authentication"] else "anyone"


def state(tool: Optional[dict], with_callers: bool = True) -> str:
    """A tool's state with its denial reasons (and who may call it); an em dash when it does not exist."""
    if tool is None:
        return "—"
    if tool["state"] == "denied":
        return "denied: " + ", ".join(DENIAL_REASONS.get(r) or code(r) for r in tool["deniedBy"])
    return f"{tool['state']} ({callers(tool)})" if with_callers else tool["state"]


def marks(tool: dict) -> str:
    """Dangerous / read-only markings of a tool."""
    found = []
    if tool["dangerous"]:
        found.append(f"{WARNING} dangerous")
    if tool["readOnly"] is True:
        found.append("read-only")
    elif tool["readOnly"] is None:
        found.append("read-only: unknown")
    return ", ".join(found) or "writes"


def route_title(route: dict) -> str:
    """`name` `path` and what serves it."""
    servers = [code(server) for server in route["servers"]]
    serves = f"aggregated: {', '.join(servers)}" if route["aggregated"] else f"server {servers[0]}"
    prefix = ", names prefixed <server>_<tool>" if route.get("prefixed") else ""
    return f"{code(route['name'])} {code(route['path'])} ({serves}{prefix})"


def inventory_markdown(inventory: dict) -> str:
    """The inventory of one stack: one table per route."""
    dev = " (dev stack)" if inventory["devStack"] else ""
    lines = [f"## Tool inventory: stack {code(inventory['stack'])}{dev}", ""]
    for route in inventory["routes"]:
        lines += [f"### Route {route_title(route)}", "",
                  "| Tool (as an agent sees it) | Server tool | State | Who may call | Marked |",
                  "|---|---|---|---|---|"]
        for tool in route["tools"]:
            lines.append(f"| {code(tool['name'])} | {code(tool['server'] + '/' + tool['tool'])} | "
                         f"{state(tool, with_callers=False)} | {callers(tool)} | {marks(tool)} |")
        lines.append("")
    return "\n".join(lines)


def _stack_markdown(stack: dict) -> list[str]:
    name = code(stack["stack"]) + (" (dev stack)" if stack["devStack"] else "")
    if stack["status"] == "unchanged":
        return [f"**Stack {name}: no change in routes or tools.**", ""]
    status = {"added": " (new stack)", "removed": " (stack removed)"}.get(stack["status"], "")
    lines = [f"### Stack {name}{status}", ""]
    lines += [f"- Route added: {route_title(r)}" for r in stack["routesAdded"]]
    lines += [f"- Route removed: {route_title(r)}" for r in stack["routesRemoved"]]
    lines += [f"- Route {code(r['name'])} moved: {code(r['pathBefore'])} → {code(r['pathAfter'])}"
              for r in stack["routesMoved"]]
    if lines[-1] != "":
        lines.append("")
    if stack["tools"]:
        lines += ["| | Route | Tool (as an agent sees it) | Change | Before | After |", "|---|---|---|---|---|---|"]
        for change in stack["tools"]:
            flag = f"{WARNING} **dangerous, now callable**" if change["dangerousMadeReachable"] else \
                f"{WARNING} dangerous" if change["dangerous"] else ""
            detail = CHANGE_TEXT[change["change"]]
            if change["change"] == "markingChanged":
                detail += f" ({marks(change['after'])})"
            if change["dangerousMarkRemoved"]:
                detail += f"; {MARK_REMOVED}"
            lines.append(f"| {flag} | {code(change['route'])} {code(change['path'])} | {code(change['name'])} | "
                         f"{detail} | {state(change['before'])} | {state(change['after'])} |")
        lines.append("")
    return lines


def diff_markdown(review: dict) -> str:
    """The whole review: the dangerous tools made callable first, then one section (or line) per stack."""
    base = review["base"]
    head = review.get("head", "working tree")
    lines = [f"## Tool review: {code(base['ref'])} ({code(base['commit'][:12])}) → "
             f"{head if head == 'working tree' else code(head)}", ""]
    dangerous = review["dangerousMadeReachable"]
    if dangerous:
        lines += [f"> {WARNING} **Dangerous tools made callable** (in a non-dev stack this fails "
                  "`--fail-on-dangerous`):"]
        lines += [f"> - {code(d['name'])}: stack {code(d['stack'])}, route {code(d['route'])} {code(d['path'])}"
                  + (" (dev stack)" if d["devStack"] else "") + (f" ({MARK_REMOVED})" if d["dangerousMarkRemoved"]
                                                                   else "") for d in dangerous]
        lines.append("")
    for stack in review["stacks"]:
        lines += _stack_markdown(stack)
    return "\n".join(lines).rstrip() + "\n"


def fit(text: str, limit: Optional[int]) -> str:
    """`text` cut at a line end to at most `limit` characters, with a note when cut (a GitHub comment holds at most
    65536 characters)."""
    if limit is None or len(text) <= limit:
        return text
    cut = text[: max(0, limit - len(TRUNCATED))]
    return cut[: cut.rfind("\n") + 1] + TRUNCATED.lstrip("\n")
