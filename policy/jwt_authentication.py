"""Rule jwt-authentication-required: outside dev stacks, every HTTPRoute is covered by exactly one Strict
`traffic.jwtAuthentication` (agentgateway v1.4.1).

A request on a route passes the jwtAuthentication of every AgentgatewayPolicy of the stack that targets
* the route itself (targetRefs kind HTTPRoute, same name and namespace), or
* a Gateway the route attaches to (a parentRef; namespace defaulting to the route's; a policy's `sectionName`
  must then equal the parentRef's). Gateway-level policies apply to every route on the Gateway
  (agentgateway `crates/agentgateway/src/store/binds.rs` `route_policies`).
It fails closed: the requests through every parentRef must be covered (a policy on one listener leaves a route on
two listeners half open), and a route-level policy with a `sectionName` covers one route rule only, so it is a
violation (the program never writes one).
Exactly one must apply: none leaves the tools open; two are either a random winner (same level, v1.4.1) or two
checks, and the first strips the validated token so a second Strict check answers 401 (`http/jwt.rs`).
A policy that selects its targets by label (`spec.targetSelectors`) and sets jwtAuthentication is a violation by
itself: the pack cannot tell which routes it covers, and one it covers next to another check makes two (the
program never writes selectors). dangerous_tools treats selectors the same way: as possibly reaching every object,
which proves neither coverage nor a single check.
`mode` must be set to Strict explicitly: Optional and Permissive let anonymous callers through, and an unset mode
is the CRD's default in the API server but the controller's proto default (Optional) otherwise
(`controller/pkg/agentgateway/plugins/traffic_plugin.go`).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Iterable, Optional, Sequence

from .dangerous_tools import DEFAULT_DEV_STACKS, checked_stack
from .k8s_objects import as_list, as_mapping, describe, get_path, metadata_name, namespace_of
from .stack_objects import StackObject, Violation, of_kind, provider_props

ROUTE = ("gateway.networking.k8s.io", "HTTPRoute")
GATEWAY_GROUP = "gateway.networking.k8s.io"


Check = tuple[StackObject, Mapping]  # a policy and its jwtAuthentication


def _covers_parent(ref: Mapping, policy_namespace: str, parent: Mapping, route_namespace: str) -> bool:
    """Whether a Gateway targetRef covers the requests a route receives through `parent` (a parentRef): the same
    Gateway, and the whole Gateway or the listener the parentRef names."""
    return ((parent.get("group") or GATEWAY_GROUP, parent.get("kind") or "Gateway") == (GATEWAY_GROUP, "Gateway")
            and parent.get("name") == ref.get("name")
            and (parent.get("namespace") or route_namespace) == policy_namespace
            and ref.get("sectionName") in (None, parent.get("sectionName")))


def _coverage(policies: Sequence[StackObject], route: StackObject) -> tuple[list[list[Check]], list[tuple[Check, str]]]:
    """The checks on the requests through each parentRef of `route` (one list per parentRef; a route without
    parents gets one list of its route-level checks), and the checks that cover only one rule of it (a targetRef
    `sectionName` on an HTTPRoute names a route rule: upstream `RouteTarget{RouteRule}`,
    controller/pkg/agentgateway/utils/utils.go line 162)."""
    route_namespace = namespace_of(route.props, provider_props(route))
    route_name = metadata_name(route.props)
    parents = [as_mapping(p) for p in as_list(get_path(route.props, "spec", "parentRefs"))]
    whole_route: list[Check] = []
    one_rule: list[tuple[Check, str]] = []
    by_parent: list[list[Check]] = [[] for _ in range(max(len(parents), 1))]
    for policy in policies:
        authentication = as_mapping(get_path(policy.props, "spec", "traffic", "jwtAuthentication"))
        if not authentication:
            continue
        policy_namespace = namespace_of(policy.props, provider_props(policy))
        refs = [as_mapping(r) for r in as_list(get_path(policy.props, "spec", "targetRefs"))
                if as_mapping(r).get("group") == GATEWAY_GROUP]
        route_refs = [r for r in refs if r.get("kind") == "HTTPRoute" and r.get("name") == route_name
                      and policy_namespace == route_namespace]
        if any(r.get("sectionName") is None for r in route_refs):
            whole_route.append((policy, authentication))
        else:
            one_rule += [((policy, authentication), str(r["sectionName"])) for r in route_refs[:1]]
        gateway_refs = [r for r in refs if r.get("kind") == "Gateway"]
        for index, parent in enumerate(parents):
            if any(_covers_parent(r, policy_namespace, parent, route_namespace) for r in gateway_refs):
                by_parent[index].append((policy, authentication))
    return [whole_route + [c for c in checks if c not in whole_route] for checks in by_parent], one_rule


def _route_violation(what: str, stack: str, by_parent: list[list[Check]],
                     one_rule: list[tuple[Check, str]]) -> Optional[str]:
    """What is wrong with the JWT checks of one route, or None."""
    if one_rule:
        (policy, _), section = one_rule[0]
        return (f"{what}: {describe(policy.resource_type, policy.props, policy.name)} authenticates only its rule "
                f"{section!r} (targetRef sectionName), so requests matching its other rules are not covered in "
                f"stack {stack!r}: target the whole route (no sectionName) or its Gateway")
    if any(not checks for checks in by_parent):
        return (f"{what} is not covered by JWT authentication in stack {stack!r}"
                f"{' through every parentRef' if len(by_parent) > 1 else ''}: declare an AgentgatewayPolicy with "
                "traffic.jwtAuthentication mode Strict targeting its Gateway or the route (config: auth.mode Strict "
                "with auth.providers)")
    doubled = max(by_parent, key=len)
    if len(doubled) > 1:
        names = ", ".join(sorted(describe(p.resource_type, p.props, p.name) for p, _ in doubled))
        return (f"{what} is covered by {len(doubled)} jwtAuthentication policies ({names}): keep exactly one (a "
                "validated token is stripped, so a second Strict check refuses it; two at one level pick a random "
                "winner)")
    for ((policy, authentication),) in by_parent:
        if authentication.get("mode") != "Strict":
            return (f"{what}: {describe(policy.resource_type, policy.props, policy.name)} has jwtAuthentication "
                    f"mode {authentication.get('mode')!r}; stack {stack!r} needs mode Strict set explicitly "
                    "(Optional and Permissive let anonymous callers through)")
    return None


def _selector_violations(policies: Iterable[StackObject], stack: str) -> list[Violation]:
    """A violation for each jwtAuthentication policy that selects its targets by label."""
    return [Violation(policy.urn, (
        f"{describe(policy.resource_type, policy.props, policy.name)} sets traffic.jwtAuthentication on targets "
        f"chosen by label (spec.targetSelectors) in stack {stack!r}, so which routes it covers cannot be checked, "
        "and with another check on a route it makes two; the program never writes selectors: "
        "use targetRefs naming the Gateway or the route"))
        for policy in policies
        if as_list(get_path(policy.props, "spec", "targetSelectors"))
        and as_mapping(get_path(policy.props, "spec", "traffic", "jwtAuthentication"))]


def violations(resources: Iterable[StackObject], dev_stacks: Sequence[str] = DEFAULT_DEV_STACKS) -> list[Violation]:
    """Every route without exactly one Strict jwtAuthentication on all its requests, and every jwtAuthentication
    policy attached by label selector, unless the stack is one of `dev_stacks`."""
    resources = list(resources)
    stack, policies = checked_stack(resources, dev_stacks)
    if stack is None:
        return []
    found = _selector_violations(policies, stack)
    for route in of_kind(resources, *ROUTE):
        problem = _route_violation(describe(route.resource_type, route.props, route.name), stack,
                                   *_coverage(policies, route))
        if problem:
            found.append(Violation(route.urn, problem))
    return found
