"""AggregateRoute: one path on the Gateway whose AgentgatewayBackend has several MCP servers as targets.

agentgateway multiplexes the targets behind one MCP endpoint: with `prefixMode` Conditional (and more than one
target) or Always, a client sees `<target>_<tool>` (v1.4.1 `crates/agentgateway/src/mcp/handler.rs`,
`mcp/upstream/mod.rs`). Target names are the server names, DNS labels,
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

from .crds.agentgateway import MAX_TARGETS, FailureMode, PrefixMode, SessionRouting
from .mcp_route import McpRouteTarget, mcp_backend, path_route


@dataclass(frozen=True)
class AggregateRouteArgs:
    """Inputs of an AggregateRoute: the targets (Services in `namespace`), the modes and the Gateway listener."""

    namespace: pulumi.Input[str]
    path: str
    targets: Sequence[McpRouteTarget]
    gateway_name: pulumi.Input[str]
    gateway_namespace: pulumi.Input[str]
    listener_name: str = "http"
    prefix_mode: PrefixMode = "Conditional"
    failure_mode: FailureMode = "FailClosed"
    session_routing: SessionRouting = "Stateful"
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
