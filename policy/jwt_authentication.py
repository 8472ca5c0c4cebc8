"""Rule jwt-authentication-required: outside dev stacks, every HTTPRoute is covered by exactly one Strict
`traffic.jwtAuthentication` (agentgateway v1.4.1).

A request on a route passes the jwtAuthentication of every AgentgatewayPolicy of the stack that targets
* the route itself (targetRefs kind HTTPRoute, same name and namespace), or
* a Gateway the route attaches to (a parentRef; namespace defaulting to the route's; a policy's `sectionName`
  must then equal the parentRef's). Gateway-level policies apply to every route on the Gateway
  (agentgateway `crates/agentgateway/src/store/binds.rs` `route_policies`).
Exactly one must apply: none leaves the tools open; two are either a random winner (same level, v1.4.1) or two
checks, and the first strips the validated token so a second Strict check answers 401 (`http/jwt.rs`).
`mode` must be set to Strict explicitly: Optional and Permissive let anonymous callers through, and an unset mode
is the CRD's default in the API server but the controller's proto default (Optional) otherwise
(`controller/pkg/agentgateway/plugins/traffic_plugin.go`).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Iterable, Sequence

from .dangerous_tools import DEFAULT_DEV_STACKS, checked_stack
from .k8s_objects import as_list, as_mapping, describe, get_path, metadata_name, namespace_of
from .stack_objects import StackObject, Violation, of_kind, provider_props

ROUTE = ("gateway.networking.k8s.io", "HTTPRoute")
GATEWAY_GROUP = "gateway.networking.k8s.io"


def _checks(policies: Sequence[StackObject], route: StackObject) -> list[tuple[StackObject, Mapping]]:
    """(policy, its jwtAuthentication) of every policy that authenticates requests on `route`."""
    route_namespace = namespace_of(route.props, provider_props(route))
    route_name = metadata_name(route.props)
    parents = [as_mapping(p) for p in as_list(get_path(route.props, "spec", "parentRefs"))]
    found = []
    for policy in policies:
        authentication = as_mapping(get_path(policy.props, "spec", "traffic", "jwtAuthentication"))
        if not authentication:
            continue
        policy_namespace = namespace_of(policy.props, provider_props(policy))
        for ref in (as_mapping(r) for r in as_list(get_path(policy.props, "spec", "targetRefs"))):
            if ref.get("group") != GATEWAY_GROUP:
                continue
            if ref.get("kind") == "HTTPRoute":
                hit = policy_namespace == route_namespace and ref.get("name") == route_name
            elif ref.get("kind") == "Gateway":
                hit = any((parent.get("group") or GATEWAY_GROUP, parent.get("kind") or "Gateway") ==
                          (GATEWAY_GROUP, "Gateway") and parent.get("name") == ref.get("name")
                          and (parent.get("namespace") or route_namespace) == policy_namespace
                          and ref.get("sectionName") in (None, parent.get("sectionName")) for parent in parents)
            else:
                hit = False
            if hit:
                found.append((policy, authentication))
                break
    return found


def violations(resources: Iterable[StackObject], dev_stacks: Sequence[str] = DEFAULT_DEV_STACKS) -> list[Violation]:
    """Every route without exactly one Strict jwtAuthentication, unless the stack is one of `dev_stacks`."""
    resources = list(resources)
    stack, policies = checked_stack(resources, dev_stacks)
    found: list[Violation] = []
    if stack is None:
        return found
    for route in of_kind(resources, *ROUTE):
        what = describe(route.resource_type, route.props, route.name)
        checks = _checks(policies, route)
        if not checks:
            found.append(Violation(route.urn, (
                f"{what} is not covered by JWT authentication in stack {stack!r}: declare an AgentgatewayPolicy "
                "with traffic.jwtAuthentication mode Strict targeting its Gateway or the route (config: auth.mode "
                "Strict with auth.providers)")))
        elif len(checks) > 1:
            names = ", ".join(sorted(describe(p.resource_type, p.props, p.name) for p, _ in checks))
            found.append(Violation(route.urn, (
                f"{what} is covered by {len(checks)} jwtAuthentication policies ({names}): keep exactly one (a "
                "validated token is stripped, so a second Strict check refuses it; two at one level pick a random "
                "winner)")))
        else:
            ((policy, authentication),) = checks
            if authentication.get("mode") != "Strict":
                found.append(Violation(route.urn, (
                    f"{what}: {describe(policy.resource_type, policy.props, policy.name)} has jwtAuthentication "
                    f"mode {authentication.get('mode')!r}; stack {stack!r} needs mode Strict set explicitly "
                    "(Optional and Permissive let anonymous callers through)")))
    return found
