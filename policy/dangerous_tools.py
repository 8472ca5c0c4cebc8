"""Rule dangerous-tools-denied: outside dev stacks, every dangerous tool of every backend is denied at the gateway.

The program marks each AgentgatewayBackend with the annotation `mcp-federation.dev/dangerous-tools`: sorted,
comma-separated `<target>/<tool>` pairs ('' if none). A pair is denied when an AgentgatewayPolicy declared in the
stack targets that backend (`targetRefs` kind AgentgatewayBackend, same name and namespace) and its
`backend.mcp.authorization` either has action Deny with the pair's canonical expression among `matchExpressions`,
or has action Allow (the default) while no Allow policy of the backend lists that expression (agentgateway denies
everything an Allow list does not match; a matching Deny rule wins over any Allow rule). The canonical expressions
come from `components.tool_policy.tool_expression`, the function the program builds its policies with: both the
target-qualified form and the plain `mcp.tool.name` form match the pair (the latter on every target), so either
counts, whichever form the program chose for the backend.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Iterable, NamedTuple, Optional, Sequence

from components.labels import DANGEROUS_TOOLS_ANNOTATION

from .k8s_objects import as_list, as_mapping, describe, get_path, namespace_of, stack_of_urn
from .stack_objects import StackObject, Violation, object_key, of_kind, provider_props

DEFAULT_DEV_STACKS = ("dev",)
BACKEND = ("agentgateway.dev", "AgentgatewayBackend")
POLICY = ("agentgateway.dev", "AgentgatewayPolicy")


class DangerousTool(NamedTuple):
    """One `<target>/<tool>` pair of the annotation."""

    target: str
    tool: str


class Authorization(NamedTuple):
    """The MCP authorization of one AgentgatewayPolicy: its action and its CEL expressions."""

    action: str
    expressions: tuple[str, ...]


def parse_annotation(value: str) -> tuple[list[DangerousTool], list[str]]:
    """The pairs of an annotation value, and a message for each malformed entry."""
    pairs, problems = [], []
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        target, slash, tool = entry.partition("/")
        if not slash or not target or not tool or "/" in tool:
            problems.append(f"entry {entry!r} is not <target>/<tool>")
        else:
            pairs.append(DangerousTool(target, tool))
    return pairs, problems


def matching_expressions(pair: DangerousTool) -> tuple[str, str]:
    """The canonical CEL expressions that match this tool: target-qualified first, then by tool name only."""
    from components.tool_policy import tool_expression  # lazy: the repo root is put on sys.path by the pack

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


def _authorizations(policies: Iterable[StackObject], backend: StackObject) -> list[Authorization]:
    """The MCP authorizations of the declared AgentgatewayPolicies that target `backend`."""
    key = object_key(backend)
    found = []
    for policy in policies:
        if key is None or namespace_of(policy.props, provider_props(policy)) != key.namespace:
            continue
        refs = [as_mapping(r) for r in as_list(get_path(policy.props, "spec", "targetRefs"))]
        if not any((r.get("group"), r.get("kind"), r.get("name")) == (*BACKEND, key.name) for r in refs):
            continue
        authorization = as_mapping(get_path(policy.props, "spec", "backend", "mcp", "authorization"))
        if authorization:
            expressions = as_list(get_path(authorization, "policy", "matchExpressions"))
            found.append(Authorization(str(authorization.get("action") or "Allow"),
                                       tuple(e for e in expressions if isinstance(e, str))))
    return found


def _may_allow(matching: Sequence[str], expression: str) -> bool:
    """Whether an Allow expression may match the tool: one of its canonical expressions, alone or narrowed by a
    condition (`<canonical> && <claim condition>`, components/tool_access.py: it allows the tool to some callers)."""
    return any(expression == m or expression.startswith(f"{m} && ") for m in matching)


def is_denied(matching: Sequence[str], authorizations: Sequence[Authorization]) -> bool:
    """Whether agentgateway denies a tool that the `matching` expressions describe, given the backend's rules."""
    if any(a.action == "Deny" and set(matching) & set(a.expressions) for a in authorizations):
        return True
    allows = [a for a in authorizations if a.action == "Allow"]
    return bool(allows) and not any(_may_allow(matching, e) for a in allows for e in a.expressions)


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
        targeted, by_name = matching_expressions(pair)
        if not is_denied((targeted, by_name), authorizations):
            expression = by_name if single_target else targeted
            found.append(Violation(backend.urn, (
                f"{what}: dangerous tool {pair.target}/{pair.tool} is not denied in stack {stack!r}; declare an "
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
