"""Rule dangerous-tools-denied: outside dev stacks, every dangerous tool of every backend is denied at the gateway.

The program marks each AgentgatewayBackend with the annotation `mcp-federation.dev/dangerous-tools`: sorted,
comma-separated `<target>/<tool>` pairs ('' if none; tool names follow the MCP rule, components/tool_names.py).
The rule fails closed: a pair counts as denied only when
* an AgentgatewayPolicy that targets the whole backend (`targetRefs` kind AgentgatewayBackend, same name and
  namespace, no `sectionName`) has `backend.mcp.authorization` action Deny with the pair's canonical expression
  (`components.tool_policy.tool_expression`, target-qualified or by name) among `matchExpressions`; or
* such a policy has action Allow (the default), and no Allow rule that may reach the backend can match the pair.
  An Allow rule is read only in the forms the program writes (policy/tool_rules.py); any other CEL may match
  anything. Allow rules may reach the backend from policies on the backend, on a section of it, or on a route,
  listener or Gateway (agentgateway v1.4.1 `crates/agentgateway/src/store/binds.rs` `internal_backend_policies`
  gathers backend policies of all of them, and authorization rule sets compose).
The backend's own `spec.policies.mcp.authorization` counts like a policy on the whole backend: the controller
translates it as an AgentgatewayPolicy (`controller/pkg/syncer/backend/backend_plugin.go` `BuildAgwBackend` ->
`TranslateBackendPolicies` -> `controller/pkg/agentgateway/plugins/backend_policies.go`
`TranslateInlineBackendPolicy`) into the backend's inline policies, which the proxy puts first in the same
composition (`crates/agentgateway/src/proxy/httpproxy.rs` `get_backend_policies` passes `&backend.inline_policies`
to binds.rs `backend_policies`). An MCP target's own `policies` (`spec.mcp.targets[].static.policies`) are
`BackendSimple` (auth, http, tcp, tls, tunnel: `controller/api/v1alpha1/agentgateway/agentgateway_policy_types.go`),
so they cannot hold MCP authorization.
A Deny counts only on the whole backend: MCP authorization is evaluated with the backend-level policies
(`crates/agentgateway/src/mcp/router.rs` line 114), not the per-target ones merged at lines 86-91, and the CRD
refuses `backend.mcp` on an AgentgatewayBackend `sectionName` anyway.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Iterable, NamedTuple, Optional, Sequence

from components.labels import DANGEROUS_TOOLS_ANNOTATION
from components.tool_names import tool_name_problem
from components.tool_policy import tool_expression

from .k8s_objects import as_list, as_mapping, describe, get_path, namespace_of, stack_of_urn
from .stack_objects import ObjectKey, StackObject, Violation, object_key, of_kind, provider_props
from .tool_rules import parse_tool_rule

DEFAULT_DEV_STACKS = ("dev",)
BACKEND = ("agentgateway.dev", "AgentgatewayBackend")
POLICY = ("agentgateway.dev", "AgentgatewayPolicy")


class DangerousTool(NamedTuple):
    """One `<target>/<tool>` pair of the annotation."""

    target: str
    tool: str


class Authorization(NamedTuple):
    """One MCP authorization that may reach a backend: its action, its CEL expressions, whether it applies to the
    whole backend (False: a policy on a section of it, a route, listener or Gateway) and where it is set."""

    action: str
    expressions: tuple[str, ...]
    whole_backend: bool = True
    source: str = ""


def parse_annotation(value: str) -> tuple[list[DangerousTool], list[str]]:
    """The pairs of an annotation value, and a message for each malformed entry."""
    pairs, problems = [], []
    for entry in value.split(",") if value else ():
        target, slash, tool = entry.partition("/")
        if not slash or not target or not tool or "/" in tool:
            problems.append(f"entry {entry!r} is not <target>/<tool>")
        elif tool_name_problem(tool):
            problems.append(f"entry {entry!r}: {tool_name_problem(tool)}")
        else:
            pairs.append(DangerousTool(target, tool))
    return pairs, problems


def matching_expressions(pair: DangerousTool) -> tuple[str, str]:
    """The canonical CEL expressions that match this tool: target-qualified first, then by tool name only."""
    return tool_expression(pair.target, pair.tool), tool_expression(None, pair.tool)


def stack_name(resources: Sequence[StackObject]) -> Optional[str]:
    """The stack being checked, read from the engine's URNs (`urn:pulumi:<stack>::...`); None if no resources."""
    return stack_of_urn(resources[0].urn) if resources else None


def checked_stack(resources: Sequence[StackObject], dev_stacks: Sequence[str]) -> tuple[Optional[str], list]:
    """What a non-dev rule checks: the stack's name and its AgentgatewayPolicies, or (None, []) for a dev stack
    (or no resources)."""
    stack = stack_name(resources)
    if stack is None or stack in dev_stacks:
        return None, []
    return stack, of_kind(resources, *POLICY)


def _reach(policy: StackObject, key: ObjectKey) -> Optional[bool]:
    """Whether `policy`'s backend policies reach the backend `key`: True on the whole backend, False possibly
    (a section of it, a route, listener or Gateway, or selectors: binds.rs gathers them all), None not at all."""
    if as_list(get_path(policy.props, "spec", "targetSelectors")):
        return False
    same_namespace = namespace_of(policy.props, provider_props(policy)) == key.namespace
    reach = None
    for ref in (as_mapping(r) for r in as_list(get_path(policy.props, "spec", "targetRefs"))):
        if (ref.get("group"), ref.get("kind")) == BACKEND:
            if ref.get("name") == key.name and same_namespace:
                if ref.get("sectionName") is None:
                    return True
                reach = False
        elif ref.get("kind") != "Service":
            reach = False
    return reach


def _authorization(authorization: Mapping, whole_backend: bool, source: str) -> Authorization:
    expressions = as_list(get_path(authorization, "policy", "matchExpressions"))
    return Authorization(str(authorization.get("action") or "Allow"),
                         tuple(e if isinstance(e, str) else repr(e) for e in expressions),  # a non-string: unknown CEL
                         whole_backend, source)


def _authorizations(policies: Iterable[StackObject], backend: StackObject) -> list[Authorization]:
    """The MCP authorizations that may reach `backend`: its own `spec.policies.mcp.authorization`, then those of
    the declared AgentgatewayPolicies."""
    found = []
    inline = as_mapping(get_path(backend.props, "spec", "policies", "mcp", "authorization"))
    if inline:
        found.append(_authorization(inline, True, "the backend's spec.policies.mcp.authorization"))
    key = object_key(backend)
    for policy in policies:
        reach = None if key is None else _reach(policy, key)
        authorization = as_mapping(get_path(policy.props, "spec", "backend", "mcp", "authorization"))
        if reach is not None and authorization:
            found.append(_authorization(authorization, reach, describe(policy.resource_type, policy.props,
                                                                       policy.name)))
    return found


def _short(expression: str) -> str:
    return repr(expression if len(expression) <= 200 else expression[:200] + "...")


def why_callable(pair: DangerousTool, authorizations: Sequence[Authorization]) -> Optional[str]:
    """Why agentgateway may let callers use `pair` given the rules that may reach its backend; None if denied."""
    if any(a.action == "Deny" and a.whole_backend and set(matching_expressions(pair)) & set(a.expressions)
           for a in authorizations):
        return None
    allows = [a for a in authorizations if a.action == "Allow"]
    if not any(a.whole_backend for a in allows):
        return ("neither the backend's spec.policies nor an AgentgatewayPolicy on the whole backend denies it (a "
                "Deny rule counts only in the canonical form, an Allow list only when set on the whole backend)")
    for allow in allows:
        origin = f" ({allow.source})" if allow.source else ""
        for expression in allow.expressions:
            rule = parse_tool_rule(expression)
            if rule is None:
                return (f"Allow rule {_short(expression)} is not in a form the program writes, so it may match any "
                        f"tool{origin}")
            if rule.matches(pair.target, pair.tool):
                return f"Allow rule {_short(expression)} allows it{origin}"
    return None


def is_denied(pair: DangerousTool, authorizations: Sequence[Authorization]) -> bool:
    """Whether agentgateway denies `pair` given the rules that may reach its backend (fail closed)."""
    return why_callable(pair, authorizations) is None


def _backend_violations(backend: StackObject, policies: Sequence[StackObject], stack: str) -> list[Violation]:
    what = describe(backend.resource_type, backend.props, backend.name)
    annotation = get_path(backend.props, "metadata", "annotations", DANGEROUS_TOOLS_ANNOTATION)
    if not isinstance(annotation, str):
        return [Violation(backend.urn, f"{what} has no annotation {DANGEROUS_TOOLS_ANNOTATION} (the program sets "
                                       "it on every backend), so its dangerous tools cannot be checked")]
    pairs, problems = parse_annotation(annotation)
    found = [Violation(backend.urn, f"{what}: annotation {DANGEROUS_TOOLS_ANNOTATION}: {p}") for p in problems]
    if not pairs:
        return found
    single_target = len(as_list(get_path(backend.props, "spec", "mcp", "targets"))) == 1
    authorizations = _authorizations(policies, backend)
    for pair in pairs:
        reason = why_callable(pair, authorizations)
        if reason is not None:
            targeted, by_name = matching_expressions(pair)
            expression = by_name if single_target else targeted
            found.append(Violation(backend.urn, (
                f"{what}: dangerous tool {pair.target}/{pair.tool} is not denied in stack {stack!r}; {reason}; declare an "
                f"AgentgatewayPolicy targeting this backend with backend.mcp.authorization action Deny and "
                f"matchExpressions [{expression}] (config: denyDangerousTools: true)")))
    return found


def violations(resources: Iterable[StackObject], dev_stacks: Sequence[str] = DEFAULT_DEV_STACKS) -> list[Violation]:
    """Every dangerous tool left callable, unless the stack (from the URNs) is one of `dev_stacks`."""
    resources = list(resources)
    stack, policies = checked_stack(resources, dev_stacks)
    found: list[Violation] = []
    if stack is None:
        return found
    for backend in of_kind(resources, *BACKEND):
        if get_path(backend.props, "spec", "mcp") is None:
            continue  # not an MCP backend (e.g. the static one a remote JWKS is fetched from): it has no tools
        found += _backend_violations(backend, policies, stack)
    return found


def dev_stacks_from_config(config: Mapping) -> tuple[str, ...]:
    """The `devStacks` policy config value (default: dev); ValueError naming the key if it is not a string list."""
    value = config.get("devStacks", list(DEFAULT_DEV_STACKS))
    if not isinstance(value, Sequence) or isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"dangerous-tools-denied.devStacks must be a list of stack names, got {value!r}")
    return tuple(value)
