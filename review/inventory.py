"""The tool inventory of one stack: every route, every tool its servers offer, and what the gateway does with it.

Built from a run of the real program under mocks with the stack's config (render.core.run_stack, as `render`
does): the routes and tool states come from the program's `verificationPlan` output (what the gateway is
configured to show and hide, and the optional auth keys of the plan contract: `auth`, `allowedGroups`,
`toolGroups`); dangerous and read-only markings from the servers' catalogs; why a tool is denied from the
stack config (`allowedTools`, `deniedTools`, `denyDangerousTools`).

The `components` package is imported from whatever comes first on `sys.path`: the caller puts the project it
inventories there (review/side.py does that for a git ref).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from render.core import _NoCliConfig, run_stack
from render.stack_config import program_path, stack_config

SCHEMA = "mcp-federation/tool-inventory"
VERSION = 1
STATES = ("reachable", "restricted", "denied")
# Why a tool is denied at the gateway (deniedBy codes, in this order).
DENIAL_REASONS = {
    "allowList": "left off the allow list (allowedTools)",
    "deniedTools": "listed in deniedTools",
    "dangerous": "dangerous tool (denyDangerousTools)",
    "gatewayPolicy": "denied by the gateway policy",  # denied, but no config key explains it
}

Log = Callable[[str], None]


class InventoryError(Exception):
    """The program's plan and the servers' catalogs disagree (a defect of the program, exit 1)."""


def _quiet(_: str) -> None:
    """Drop render's progress messages (the review prints a report, not a render log)."""


def _read_only(info: Any) -> Optional[bool]:
    """A tool's readOnlyHint from its catalog entry; None where unknown (an image server's tool, or a catalog of an
    older ref whose ToolInfo has no `read_only`)."""
    hint = getattr(info, "read_only", None)
    return hint if isinstance(hint, bool) else None


def _denied_by(server: Any, tool: str, dangerous: bool, deny_dangerous: bool) -> list[str]:
    """The config reasons a tool of `server` (a components.config.ServerConfig) is denied."""
    reasons = []
    if server.allowed_tools is not None and tool not in server.allowed_tools:
        reasons.append("allowList")
    if tool in server.denied_tools:
        reasons.append("deniedTools")
    if dangerous and deny_dangerous:
        reasons.append("dangerous")
    return reasons or ["gatewayPolicy"]


def _groups(values: Any) -> list[str]:
    return sorted({str(v) for v in values}) if isinstance(values, (list, tuple)) else []


def _mapping(value: object) -> Mapping[str, Any]:
    """`value` if it is an object, else an empty one (plan keys that are absent or malformed)."""
    return value if isinstance(value, dict) else {}


def access_of(entry: Mapping[str, Any], seen_name: str) -> dict:
    """Who may call a tool of a plan entry (the plan contract's auth keys): `authentication` required or not, and
    `groups`, a list of group sets: a caller must belong to one group of every set (route allowedGroups AND the
    tool's toolGroups); empty means every (authenticated, if required) caller."""
    auth = _mapping(entry.get("auth"))
    requirements = []
    route_groups = _groups(entry.get("allowedGroups"))
    if route_groups:
        requirements.append(route_groups)
    tool_groups = _mapping(entry.get("toolGroups"))
    if _groups(tool_groups.get(seen_name)):
        requirements.append(_groups(tool_groups[seen_name]))
    return {"authentication": bool(auth.get("required")), "groups": requirements}


def _route(entry: Mapping[str, Any], config: Any, catalogs: Mapping[str, Any]) -> dict:
    """The inventory of one plan entry."""
    aggregate = config.aggregate
    aggregated = bool(aggregate.enabled and entry["name"] == aggregate.name and entry["path"] == aggregate.path)
    servers = list(aggregate.servers) if aggregated else [entry["name"]]
    by_name = {server.name: server for server in config.servers}
    unknown = [name for name in servers if name not in by_name]
    if unknown:
        raise InventoryError(f"plan entry {entry['name']!r}: no server named {', '.join(unknown)} in the config")
    prefixed = "targets" in entry
    expected, denied = set(entry.get("expectedTools") or []), set(entry.get("deniedTools") or [])
    tools = []
    for server_name in servers:
        for info in catalogs[server_name].tools:
            seen = f"{server_name}_{info.name}" if prefixed else info.name
            if seen not in expected | denied:
                raise InventoryError(f"plan entry {entry['name']!r}: tool {seen!r} of server {server_name!r} is "
                                     "neither in expectedTools nor in deniedTools")
            access = access_of(entry, seen)
            state = "denied" if seen in denied else "restricted" if access["groups"] else "reachable"
            tools.append({
                "name": seen, "tool": info.name, "server": server_name, "state": state,
                "deniedBy": _denied_by(by_name[server_name], info.name, info.dangerous,
                                       config.deny_dangerous_tools) if state == "denied" else [],
                "dangerous": bool(info.dangerous), "readOnly": _read_only(info),
                "access": access})
    listed = {tool["name"] for tool in tools}
    extra = sorted((expected | denied) - listed)
    if extra:
        raise InventoryError(f"plan entry {entry['name']!r}: {', '.join(extra)} in the plan but in no catalog")
    auth = _mapping(entry.get("auth"))
    return {"name": entry["name"], "path": entry["path"], "aggregated": aggregated, "servers": servers,
            "prefixed": prefixed, "auth": {"required": bool(auth.get("required"))},
            "allowedGroups": _groups(entry.get("allowedGroups")), "tools": tools}


def stack_inventory(stack: str, project_dir: Path, dev_stacks: tuple[str, ...], log: Log = _quiet) -> dict:
    """The inventory of `stack` of the project in `project_dir` (its `components` must be the importable one).

    Raises StackConfigError (unknown stack, unreadable file), the program's ConfigError/CatalogError, InventoryError
    or whatever the program raises."""
    from components.catalog import server_catalog
    from components.config import parse_config, raw_project_config

    program = program_path(project_dir)
    config = stack_config(stack, Path(project_dir))
    with _NoCliConfig(log):
        declared, _, config = run_stack(config, program, log)
    raw, _ = raw_project_config(config.values)  # the program accepted this config, so it parses
    federation = parse_config(raw)
    catalogs = {server.name: server_catalog(federation.code_dir, server) for server in federation.servers}
    plan = declared.outputs.get("verificationPlan")
    if not isinstance(plan, list):
        raise InventoryError(f"stack {stack!r}: the program exported no verificationPlan list")
    return {"schema": SCHEMA, "version": VERSION, "stack": stack, "devStack": stack in dev_stacks,
            "routes": [_route(entry, federation, catalogs) for entry in plan]}
