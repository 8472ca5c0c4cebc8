"""AggregateRoute: one path on the Gateway whose AgentgatewayBackend has several MCP servers as targets.

agentgateway multiplexes the targets behind one MCP endpoint: with `prefixMode` Conditional (and more than one
target) or Always, a client sees `<target>_<tool>` (research §5). Target names are the server names, DNS labels,
so they never contain the `_` delimiter.

The route's PathPrefix (e.g. `/mcp`) does not take over the per-server routes (e.g. `/mcp/github`): Gateway API
PathPrefix matching is per path element, and among matching rules of routes on one listener the longest
matching path wins (HTTPRoute spec, "Rule precedence": the largest number of characters in a matching path
first), so `/mcp/github/...` goes to the server's own route and only the rest of `/mcp/...` here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi

from .auth_plan import aggregate_auth_fields
from .catalog import AggregateTarget, ServerCatalog, aggregate_verification_entry
from .config import FederationConfig
from .crds.agentgateway import MAX_TARGETS
from .mcp_route import McpRouteTarget, mcp_backend, path_route
from .tool_policy import ToolRule


def aggregate_plan_entry(config: FederationConfig, catalogs: Mapping[str, ServerCatalog],
                         rules: Mapping[str, ToolRule]) -> Optional[dict]:
    """The aggregated route's `verificationPlan` entry (None when disabled). Each target hides what its own
    route hides, and keeps its server's group rules. Raises ConfigError when prefixMode Never meets a tool name
    offered by two targets, or when group rules cannot be stated in the plan (auth_plan.py)."""
    if not config.aggregate.enabled:
        return None
    entry = aggregate_verification_entry(config.aggregate, [
        AggregateTarget(name, catalogs[name], rules[name].denied) for name in config.aggregate.servers])
    servers = {server.name: server for server in config.servers}
    entry.update(aggregate_auth_fields(config.auth, [
        (name, servers[name].groups, [t for t in catalogs[name].tool_names if t not in rules[name].denied])
        for name in config.aggregate.servers], prefixed="targets" in entry))
    return entry


def aggregate_tool_rule(servers: Sequence[str], rules: Mapping[str, ToolRule], catalogs: Mapping[str, ServerCatalog]
                        ) -> Optional[tuple[str, list[tuple[str, str]], dict[tuple[str, str], str]]]:
    """The one (action, [(target, tool)], {(target, tool): claim condition}) of the aggregated backend's policy, or
    None if nothing is restricted.

    One AgentgatewayPolicy has one action. With deny lists only, it denies each target's denied tools. As soon as
    one target has an allow list or a group rule, the policy is an allow list: that target's allowed tools (each
    with its claim condition), plus every non-denied catalog tool of the other targets. (So an image target
    without an allow list then shows only its expectedTools here, not any extra tool it may offer.)"""
    actions = {rules[name].action for name in servers} - {None}
    if not actions:
        return None
    if actions == {"Deny"}:
        return "Deny", [(name, tool) for name in servers for tool in rules[name].tools], {}
    pairs = []
    conditions: dict[tuple[str, str], str] = {}
    for name in servers:
        rule = rules[name]
        tools = rule.tools if rule.action == "Allow" else \
            tuple(t for t in catalogs[name].tool_names if t not in rule.denied)
        pairs += [(name, tool) for tool in tools]
        conditions.update({(name, tool): condition for tool, condition in rule.conditions.items()})
    return "Allow", pairs, conditions


@dataclass(frozen=True)
class AggregateRouteArgs:
    """Inputs of an AggregateRoute: the targets (Services in `namespace`), the modes and the Gateway listener."""

    namespace: pulumi.Input[str]
    path: str
    targets: Sequence[McpRouteTarget]
    gateway_name: pulumi.Input[str]
    gateway_namespace: pulumi.Input[str]
    listener_name: str = "http"
    prefix_mode: str = "Conditional"
    failure_mode: str = "FailClosed"
    session_routing: str = "Stateful"
    backend_annotations: Mapping[str, str] = field(default_factory=dict)  # e.g. the dangerous-tools list
    extra_path_prefixes: Sequence[str] = ()  # more PathPrefix matches (OAuth well-known paths of the route)

    def __post_init__(self) -> None:
        names = [target.name for target in self.targets]
        if not 1 <= len(names) <= MAX_TARGETS:
            raise ValueError(f"AggregateRouteArgs.targets: {len(names)} targets (1..{MAX_TARGETS} allowed)")
        if len(set(names)) != len(names):
            raise ValueError(f"AggregateRouteArgs.targets: target names repeat ({', '.join(names)})")


class AggregateRoute(pulumi.ComponentResource):
    """The multi-target AgentgatewayBackend and the HTTPRoute that sends a path prefix to it."""

    backend_name: pulumi.Output[str]
    route_name: pulumi.Output[str]

    def __init__(self, name: str, args: AggregateRouteArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mcpfederation:components:AggregateRoute", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.backend = mcp_backend(f"{name}-backend", name, args.namespace, args.targets, args.backend_annotations,
                                   child, prefix_mode=args.prefix_mode, failure_mode=args.failure_mode,
                                   session_routing=args.session_routing)
        self.backend_name = self.backend.metadata["name"]
        self.route = path_route(f"{name}-route", name, args.namespace, args.path,
                                (args.gateway_name, args.gateway_namespace, args.listener_name),
                                self.backend_name, child, extra_prefixes=args.extra_path_prefixes)
        self.route_name = self.route.metadata["name"]
        self.register_outputs({"backendName": self.backend_name, "routeName": self.route_name})
