"""Check what a side's child process printed before the diff trusts it: exactly the requested stacks, each a
complete inventory (every key of the documented schema, with the right types) or an error, and for the base side
the dev-stack list. Anything else is ChildOutputError: the review then fails (exit 3), never reports "no change".
"""
from __future__ import annotations

from typing import Any, Optional

from render.stack_config import STACK_NAME
from review.inventory import DENIAL_REASONS, SCHEMA, STATES, VERSION

ERROR_KINDS = ("config", "program")


class ChildOutputError(Exception):
    """A side's output is not a complete, well-formed set of results; the message says where."""


def _expect(condition: bool, where: str, what: str) -> None:
    if not condition:
        raise ChildOutputError(f"{where}: {what}")


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _object(value: Any, keys: set[str], where: str) -> dict:
    _expect(isinstance(value, dict), where, "not an object")
    missing, extra = keys - set(value), set(value) - keys
    _expect(not missing and not extra, where, f"keys missing {sorted(missing)}, unexpected {sorted(extra)}")
    return value


def _tool(tool: Any, where: str) -> None:
    tool = _object(tool, {"name", "tool", "server", "state", "deniedBy", "dangerous", "readOnly", "access"}, where)
    _expect(all(isinstance(tool[key], str) for key in ("name", "tool", "server")), where, "name/tool/server")
    _expect(tool["state"] in STATES, where, f"state {tool['state']!r}")
    _expect(_strings(tool["deniedBy"]) and all(r in DENIAL_REASONS for r in tool["deniedBy"]), where, "deniedBy")
    _expect(bool(tool["deniedBy"]) == (tool["state"] == "denied"), where, "deniedBy does not match the state")
    _expect(isinstance(tool["dangerous"], bool), where, "dangerous")
    _expect(tool["readOnly"] is None or isinstance(tool["readOnly"], bool), where, "readOnly")
    access = _object(tool["access"], {"authentication", "groups"}, f"{where}.access")
    _expect(isinstance(access["authentication"], bool), where, "access.authentication")
    _expect(isinstance(access["groups"], list) and all(_strings(g) and g for g in access["groups"]), where,
            "access.groups")


def _route(route: Any, where: str) -> dict:
    route = _object(route, {"name", "path", "aggregated", "servers", "prefixed", "auth", "allowedGroups", "tools"},
                    where)
    _expect(isinstance(route["name"], str) and isinstance(route["path"], str), where, "name/path")
    _expect(isinstance(route["aggregated"], bool) and isinstance(route["prefixed"], bool), where,
            "aggregated/prefixed")
    _expect(_strings(route["servers"]) and bool(route["servers"]), where, "servers")
    _expect(isinstance(_object(route["auth"], {"required"}, f"{where}.auth")["required"], bool), where, "auth")
    _expect(_strings(route["allowedGroups"]), where, "allowedGroups")
    _expect(isinstance(route["tools"], list), where, "tools")
    for index, tool in enumerate(route["tools"]):
        _tool(tool, f"{where}.tools[{index}]")
    names = [tool["name"] for tool in route["tools"]]
    _expect(len(names) == len(set(names)), where, "a tool name appears twice")
    return route


def inventory(value: Any, stack: str, where: str) -> dict:
    """`value` if it is a complete inventory of `stack` (review/inventory.py's schema); else ChildOutputError."""
    value = _object(value, {"schema", "version", "stack", "devStack", "routes"}, where)
    _expect((value["schema"], value["version"]) == (SCHEMA, VERSION), where, "schema/version")
    _expect(value["stack"] == stack and isinstance(value["devStack"], bool), where, "stack/devStack")
    _expect(isinstance(value["routes"], list), where, "routes")
    names = [_route(route, f"{where}.routes[{index}]")["name"] for index, route in enumerate(value["routes"])]
    _expect(len(names) == len(set(names)), where, "a route name appears twice")
    return value


def side_output(document: Any, stacks: list[str],
                with_dev_stacks: bool) -> tuple[dict, Optional[tuple[str, ...]]]:
    """The per-stack results of a side (review/side.py's output) and its dev-stack list (when asked for)."""
    keys = {"stacks", "devStacks"} if with_dev_stacks else {"stacks"}
    document = _object(document, keys, "output")
    results = document["stacks"]
    _expect(isinstance(results, dict) and set(results) == set(stacks), "output",
            f"results for stacks {sorted(results) if isinstance(results, dict) else results!r}, asked for "
            f"{sorted(stacks)}")
    for stack, result in results.items():
        where = f"stack {stack!r}"
        _expect(isinstance(result, dict) and len(result) == 1 and set(result) <= {"inventory", "error"}, where,
                "neither one inventory nor one error")
        if "error" in result:
            error = _object(result["error"], {"kind", "message"}, f"{where}.error")
            _expect(error["kind"] in ERROR_KINDS and isinstance(error["message"], str), where, "error kind/message")
        else:
            inventory(result["inventory"], stack, f"{where}.inventory")
    devs = None
    if with_dev_stacks:
        _expect(_strings(document["devStacks"]) and all(STACK_NAME.fullmatch(s) for s in document["devStacks"]),
                "output", "devStacks is not a list of stack names")
        devs = tuple(document["devStacks"])
    return results, devs
