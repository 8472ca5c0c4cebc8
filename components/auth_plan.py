"""The authentication fields of `verificationPlan` entries (the shared contract in verify/plan.py):
`auth` {required, resourceMetadata}, `allowedGroups`, `toolGroups` (names as the client sees them) and
`groupsClaim`. Only what the gateway really enforces is stated, so the verifier can prove it."""
from __future__ import annotations

from typing import Any, Sequence

from .config import AuthConfig, ServerGroups
from .config import ConfigError
from .tool_access import tool_groups_seen


def _auth(auth: AuthConfig) -> dict[str, Any]:
    """`auth` of an entry when anonymous requests get 401 (mode Strict); {} otherwise (anonymous access passes)."""
    if not auth.required:
        return {}
    return {"auth": {"required": True, "resourceMetadata": auth.mcp is not None}}


def route_auth_fields(auth: AuthConfig, groups: ServerGroups, visible: Sequence[str]) -> dict[str, Any]:
    """The auth fields of one server's own route (`visible`: the tools the route shows to a permitted caller)."""
    fields = _auth(auth)
    if groups.allowed:
        fields["allowedGroups"] = list(groups.allowed)
    tool_groups = tool_groups_seen(groups, visible)
    if tool_groups:
        fields["toolGroups"] = tool_groups
    if groups.restricted:
        fields["groupsClaim"] = auth.groups_claim
    return fields


def aggregate_auth_fields(auth: AuthConfig, targets: Sequence[tuple[str, ServerGroups, Sequence[str]]],
                          prefixed: bool) -> dict[str, Any]:
    """The auth fields of the aggregated route; `targets` are (target name, its server's groups, visible tools).

    The plan has one route-wide `allowedGroups`. When every target has the same allowedGroups it is that list.
    Otherwise each restricted tool is listed in `toolGroups` with the one group list a caller needs: the target's
    allowedGroups, the tool's own groups, or, when it has both, whichever implies the other (a subset). Two
    unrelated lists cannot be stated in the plan format, so that is a ConfigError naming the tool."""
    fields = _auth(auth)
    allowed_sets = {tuple(groups.allowed) for _, groups, _ in targets}
    shared = len(allowed_sets) == 1
    if shared and targets[0][1].allowed:
        fields["allowedGroups"] = list(targets[0][1].allowed)
    tool_groups: dict[str, list[str]] = {}
    errors = []
    for name, groups, visible in targets:
        prefix = f"{name}_" if prefixed else ""
        for tool in visible:
            own = list(groups.tools.get(tool, ()))
            route = [] if shared else list(groups.allowed)
            if own and route and not (set(own) <= set(route) or set(route) <= set(own)):
                errors.append(f"aggregate.servers: tool {tool!r} of {name!r} needs one of allowedGroups "
                              f"{route} and one of toolGroups {own}, and the other targets have different "
                              "allowedGroups: the aggregated route's verification plan cannot state that (give the "
                              "selected servers the same allowedGroups, or make one list a subset of the other)")
                continue
            needed = own if not route else route if not own else (own if set(own) <= set(route) else route)
            if needed:
                tool_groups[prefix + tool] = needed
    if errors:
        raise ConfigError(errors)
    if tool_groups:
        fields["toolGroups"] = tool_groups
    if any(groups.restricted for _, groups, _ in targets):
        fields["groupsClaim"] = auth.groups_claim
    return fields
