"""Rule route-backend-declared: every HTTPRoute backendRef points at an object this stack declares.

A backendRef names `group` (default '' = core), `kind` (default Service), `namespace` (default: the route's) and
`name`. It must resolve to an AgentgatewayBackend (agentgateway.dev) or a Service declared in the same stack; a
reference to anything else (a typo, an object managed elsewhere, another kind) is reported.
"""
from __future__ import annotations

from typing import Iterable

from .k8s_objects import as_list, as_mapping, describe, get_path, namespace_of
from .stack_objects import ObjectKey, StackObject, Violation, object_key, of_kind, provider_props

ALLOWED_BACKENDS = (("agentgateway.dev", "AgentgatewayBackend"), ("", "Service"))
ROUTE = ("gateway.networking.k8s.io", "HTTPRoute")


def violations(resources: Iterable[StackObject]) -> list[Violation]:
    """One violation per backendRef of an HTTPRoute that does not resolve to a declared backend or Service."""
    resources = list(resources)
    declared = {key for key in map(object_key, resources) if key is not None}
    found = []
    for route in of_kind(resources, *ROUTE):
        route_namespace = namespace_of(route.props, provider_props(route))
        what = describe(route.resource_type, route.props, route.name)
        for rule_index, rule in enumerate(as_list(get_path(route.props, "spec", "rules"))):
            for ref in as_list(as_mapping(rule).get("backendRefs")):
                ref = as_mapping(ref)
                key = ObjectKey(ref.get("group") or "", ref.get("kind") or "Service",
                                ref.get("namespace") or route_namespace, str(ref.get("name")))
                where = f"{what}: spec.rules[{rule_index}].backendRefs {key.kind} {key.namespace}/{key.name}"
                if (key.group, key.kind) not in ALLOWED_BACKENDS:
                    found.append(Violation(route.urn, f"{where} (group {key.group!r}) is neither an "
                                                      "AgentgatewayBackend nor a Service"))
                elif key not in declared:
                    found.append(Violation(route.urn, f"{where} is not declared in this stack"))
    return found
