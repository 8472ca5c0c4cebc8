"""Compare the inventories of one stack at two sides: routes added/removed/moved, and each tool's change.

A tool is identified by (route name, the name an agent sees). Changes, one per tool:
`appeared`, `disappeared`, `becameReachable`, `becameRestricted`, `becameDenied` (its state changed),
`accessChanged` (same state, other callers), `reasonChanged` (still denied, for another reason),
`markingChanged` (the server now marks it dangerous / read-only differently). Whatever the change, a tool that
was marked dangerous and no longer is gets `dangerousMarkRemoved` (renaming the tool in the same change hides that:
the diff then sees one tool disappear and an unmarked one appear).
"""
from __future__ import annotations

from typing import Optional

SCHEMA = "mcp-federation/tool-review"
VERSION = 1
CALLABLE = ("reachable", "restricted")
STATE_CHANGE = {"reachable": "becameReachable", "restricted": "becameRestricted", "denied": "becameDenied"}


def _tools(inventory: Optional[dict]) -> dict[tuple[str, str], tuple[dict, dict]]:
    """(route name, tool name) -> (route, tool) of an inventory (empty for a missing side)."""
    return {(route["name"], tool["name"]): (route, tool)
            for route in (inventory or {}).get("routes", []) for tool in route["tools"]}


def _side(tool: Optional[dict]) -> Optional[dict]:
    """What the report shows of a tool on one side."""
    if tool is None:
        return None
    return {key: tool[key] for key in ("state", "deniedBy", "access", "dangerous", "readOnly")}


def _change(before: Optional[dict], after: Optional[dict]) -> Optional[str]:
    if before is None:
        return "appeared"
    if after is None:
        return "disappeared"
    if before["state"] != after["state"]:
        return STATE_CHANGE[after["state"]]
    if before["access"] != after["access"] and after["state"] != "denied":
        return "accessChanged"
    if before["deniedBy"] != after["deniedBy"]:
        return "reasonChanged"
    if (before["dangerous"], before["readOnly"]) != (after["dangerous"], after["readOnly"]):
        return "markingChanged"
    return None


def makes_dangerous_reachable(before: Optional[dict], after: Optional[dict]) -> bool:
    """True when, after the change, a tool marked dangerous (on either side: a change that drops the mark also takes
    the tool off denyDangerousTools' list) can be called by someone who could not before: it is new or was denied
    and is now callable, it was restricted to some groups and is now open to every caller, or it needed a token and
    now takes anonymous callers. (A group list that changes but stays a group list is not judged: which groups are
    wider is the reviewer's call.)"""
    if after is None or after["state"] not in CALLABLE:
        return False
    if not (after["dangerous"] or (before is not None and before["dangerous"])):
        return False
    if before is None or before["state"] == "denied":
        return True
    if before["state"] == "restricted" and after["state"] == "reachable":
        return True
    return bool(before["access"]["authentication"]) and not after["access"]["authentication"]


def _routes(inventory: Optional[dict]) -> dict[str, dict]:
    return {route["name"]: route for route in (inventory or {}).get("routes", [])}


def _route_summary(route: dict) -> dict:
    return {"name": route["name"], "path": route["path"], "aggregated": route["aggregated"],
            "servers": list(route["servers"])}


def diff_stack(stack: str, before: Optional[dict], after: Optional[dict], dev_stacks: tuple[str, ...]) -> dict:
    """The change of one stack between two inventories (None: the stack does not exist on that side)."""
    routes_before, routes_after = _routes(before), _routes(after)
    tools_before, tools_after = _tools(before), _tools(after)
    changes = []
    for key in list(tools_before) + [k for k in tools_after if k not in tools_before]:
        old, new = tools_before.get(key), tools_after.get(key)
        side_before, side_after = _side(old and old[1]), _side(new and new[1])
        change = _change(side_before, side_after)
        if change is None:
            continue
        pair = new or old
        assert pair is not None  # every key comes from one of the two maps
        route, tool = pair
        changes.append({"route": route["name"], "path": route["path"], "name": tool["name"],
                        "server": tool["server"], "tool": tool["tool"], "change": change,
                        "dangerous": bool(tool["dangerous"] or (old and old[1]["dangerous"])),
                        "dangerousMadeReachable": makes_dangerous_reachable(side_before, side_after),
                        "dangerousMarkRemoved": bool(old and new and old[1]["dangerous"] and not new[1]["dangerous"]),
                        "before": side_before, "after": side_after})
    changes.sort(key=lambda c: (not c["dangerousMadeReachable"], not c["dangerous"]))  # stable: dangerous first
    moved = [{"name": name, "pathBefore": routes_before[name]["path"], "pathAfter": routes_after[name]["path"]}
             for name in routes_before if name in routes_after
             and routes_before[name]["path"] != routes_after[name]["path"]]
    added = [_route_summary(r) for name, r in routes_after.items() if name not in routes_before]
    removed = [_route_summary(r) for name, r in routes_before.items() if name not in routes_after]
    status = "added" if before is None else "removed" if after is None else \
        "changed" if changes or moved or added or removed else "unchanged"
    return {"stack": stack, "devStack": stack in dev_stacks, "status": status, "routesAdded": added,
            "routesRemoved": removed, "routesMoved": moved, "tools": changes}


def dangerous_made_reachable(stacks: list[dict], include_dev: bool = True) -> list[dict]:
    """Every (stack, route, tool) whose change makes a dangerous tool callable; non-dev stacks only unless
    `include_dev`."""
    return [{"stack": stack["stack"], "devStack": stack["devStack"], "route": change["route"], "path": change["path"],
             "name": change["name"], "dangerousMarkRemoved": change["dangerousMarkRemoved"]}
            for stack in stacks if include_dev or not stack["devStack"]
            for change in stack["tools"] if change["dangerousMadeReachable"]]
