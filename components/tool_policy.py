"""Tool authorization at the gateway: which tools each server's clients may see and call.

`tool_rules(config, catalogs)` combines each server's `deniedTools`/`allowedTools` with `denyDangerousTools` and
the tools its catalog marks dangerous, and checks the names against the catalog (a `ConfigError` lists every
problem). `ToolPolicy` declares the `AgentgatewayPolicy` (`backend.mcp.authorization`, research §2) that makes
agentgateway filter `tools/list` and reject `tools/call` of the other tools.

CEL semantics (agentgateway v1.4.1, research §2): every expression is a separate rule. With action Deny a tool is
hidden when ANY rule matches and everything else stays allowed; with action Allow a tool is visible when ANY rule
matches and everything else is hidden (so are prompts and resources, which have no `mcp.tool`).
`mcp.tool.name` is the upstream, unprefixed name and `mcp.tool.target` the backend's target name.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterable, Literal, Mapping, Optional, Protocol, Sequence

import pulumi

from .config import ConfigError, FederationConfig, ServerConfig
from .tool_access import group_rule_errors, tool_condition, with_condition
from .readiness import POLICY_WAIT_FOR, WAIT_FOR_ANNOTATION
from .crds import (
    AgentgatewayPolicy,
    AgentgatewayPolicySpec,
    AuthorizationPolicy,
    BackendPolicy,
    McpAuthorization,
    McpPolicy,
    PolicyTargetReference,
)

DANGEROUS_TOOLS_ANNOTATION = "mcp-federation.dev/dangerous-tools"  # on every AgentgatewayBackend (read by policy/)
BACKEND_GROUP = "agentgateway.dev"
BACKEND_KIND = "AgentgatewayBackend"
# `pulumi up` waits until the policy is Accepted and Attached on a Gateway at its current generation
# (components/readiness.py), so the tools are filtered before anything (e.g. the verifier) talks to the route.

Action = Literal["Deny", "Allow"]


def tool_expression(target: Optional[str], tool: str) -> str:
    """The CEL rule matching one tool: `mcp.tool.name == "delete_repo"` on a single-target backend, and
    `mcp.tool.target == "github" && mcp.tool.name == "delete_repo"` on an aggregated one (target given).
    JSON string literals are valid CEL string literals (same quoting and escapes)."""
    name_rule = f"mcp.tool.name == {json.dumps(tool)}"
    return name_rule if target is None else f"mcp.tool.target == {json.dumps(target)} && {name_rule}"


def dangerous_tools_annotation(pairs: Iterable[tuple[str, str]]) -> str:
    """The value of DANGEROUS_TOOLS_ANNOTATION: sorted, comma-separated `<target>/<tool>` pairs ("" if none)."""
    return ",".join(sorted({f"{target}/{tool}" for target, tool in pairs}))


class _Catalog(Protocol):
    """What tool_rules needs from a catalog (components.catalog.ServerCatalog has it)."""

    @property
    def tool_names(self) -> list[str]: ...

    @property
    def dangerous_tool_names(self) -> list[str]: ...

    @property
    def probe_tool(self) -> Optional[str]: ...


@dataclass(frozen=True)
class ToolRule:
    """The gateway's rule for one server: `action` on `tools` (None: nothing to enforce), and `denied`, the tools
    a client must neither see nor call (catalog order; for the verification plan). `conditions` (Allow only) maps
    a tool to the JWT-claim condition its rule also requires (components/tool_access.py)."""

    action: Optional[Action]
    tools: tuple[str, ...]
    denied: tuple[str, ...]
    conditions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def _names(tools: Iterable[str]) -> str:
    return ", ".join(tools)


def _server_rule(key: str, server: ServerConfig, catalog: _Catalog, deny_dangerous: bool,
                 errors: list[str], claim: str = "groups") -> ToolRule:
    known, dangerous, probe = catalog.tool_names, set(catalog.dangerous_tool_names), catalog.probe_tool
    field = "allowedTools" if server.allowed_tools is not None else "deniedTools"
    listed = server.allowed_tools if server.allowed_tools is not None else server.denied_tools
    count = len(errors)
    for tool in listed:
        if tool not in known:
            errors.append(f"{key}.{field}: {tool!r} is not a tool of server {server.name!r} "
                          f"(its tools: {_names(known)})")
    if server.allowed_tools is not None:
        if probe is not None and probe not in server.allowed_tools:
            errors.append(f"{key}.allowedTools: must include the probe tool {probe!r} (the verifier calls it)")
        for tool in server.allowed_tools:
            if deny_dangerous and tool in dangerous:
                errors.append(f"{key}.allowedTools: {tool!r} is dangerous and denyDangerousTools is true "
                              "(remove it, or set denyDangerousTools to false)")
        allowed = set(server.allowed_tools)
        denied = tuple(tool for tool in known if tool not in allowed)
        rule = ToolRule("Allow", tuple(server.allowed_tools), denied)
    else:
        deny = set(server.denied_tools) | (dangerous if deny_dangerous else set())
        if probe is not None and probe in server.denied_tools:
            errors.append(f"{key}.deniedTools: the probe tool {probe!r} cannot be denied (the verifier calls it)")
        elif probe is not None and probe in deny:
            errors.append(f"{key}: the probe tool {probe!r} is dangerous, so denyDangerousTools would deny it "
                          "(mark a harmless tool as the probe)")
        denied = tuple(tool for tool in known if tool in deny)
        rule = ToolRule("Deny" if denied else None, denied, denied)
    groups = server.groups
    if groups.restricted:
        # One coherent Allow set: every visible tool, each with its claim condition (tool_access.py explains why).
        errors += group_rule_errors(key, groups, known, rule.denied, server.name)
        visible = tuple(tool for tool in known if tool not in rule.denied)
        conditions = {tool: tool_condition(claim, groups, tool) for tool in visible}
        rule = ToolRule("Allow", visible, rule.denied,
                        MappingProxyType({tool: c for tool, c in conditions.items() if c is not None}))
    return rule if len(errors) == count else ToolRule(None, (), ())


def tool_rules(config: FederationConfig, catalogs: Mapping[str, _Catalog]) -> dict[str, ToolRule]:
    """Each server's ToolRule, by server name. Raises ConfigError naming every unknown tool, a denied or missing
    probe tool, and a dangerous tool on an allow list while denyDangerousTools is true."""
    errors: list[str] = []
    rules = {server.name: _server_rule(f"servers[{index}]", server, catalogs[server.name],
                                       config.deny_dangerous_tools, errors, config.auth.groups_claim)
             for index, server in enumerate(config.servers)}
    if errors:
        raise ConfigError(errors)
    return rules


@dataclass(frozen=True)
class ToolPolicyArgs:
    """Inputs of a ToolPolicy: the backend it guards and the rules, as (target, tool) pairs; a target of None
    matches the tool on any target (single-target backends). `conditions` adds a JWT-claim condition to the rule
    of a (target, tool) pair (Allow only: a claim-dependent Deny would fail open)."""

    namespace: pulumi.Input[str]      # the backend's namespace (targetRefs are local)
    backend_name: pulumi.Input[str]
    action: Action
    tools: Sequence[tuple[Optional[str], str]]
    conditions: Mapping[tuple[Optional[str], str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action not in ("Deny", "Allow"):
            raise ValueError(f"ToolPolicyArgs.action: {self.action!r} is not Deny or Allow")
        if not self.tools:
            raise ValueError("ToolPolicyArgs.tools: is empty (a policy needs at least one rule)")
        if self.conditions and self.action != "Allow":
            raise ValueError("ToolPolicyArgs.conditions: claim conditions need action Allow (a Deny rule that "
                             "depends on a claim fails open when the claim is missing)")


class ToolPolicy(pulumi.ComponentResource):
    """One AgentgatewayPolicy on one AgentgatewayBackend: `backend.mcp.authorization` with one CEL rule per tool."""

    policy_name: pulumi.Output[str]

    def __init__(self, name: str, args: ToolPolicyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mcpfederation:components:ToolPolicy", name, None, opts)
        expressions = [with_condition(tool_expression(target, tool), args.conditions.get((target, tool)))
                       for target, tool in args.tools]
        self.policy = AgentgatewayPolicy(
            f"{name}-tools",
            metadata={"name": f"{name}-tools", "namespace": args.namespace,
                      "labels": {"app.kubernetes.io/part-of": "mcp-federation"},
                      "annotations": {WAIT_FOR_ANNOTATION: POLICY_WAIT_FOR}},
            spec=AgentgatewayPolicySpec(
                targetRefs=[PolicyTargetReference(group=BACKEND_GROUP, kind=BACKEND_KIND, name=args.backend_name)],
                backend=BackendPolicy(mcp=McpPolicy(authorization=McpAuthorization(
                    action=args.action, policy=AuthorizationPolicy(matchExpressions=expressions))))),
            opts=pulumi.ResourceOptions(parent=self))
        self.policy_name = self.policy.metadata["name"]
        self.register_outputs({"policyName": self.policy_name})
