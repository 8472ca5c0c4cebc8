"""McpFederation: the whole stack from its config — namespace, Gateway, and one McpServer + McpRoute per server."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from .catalog import ServerCatalog, verification_entry
from .config import CORE_FILE, FederationConfig, ServerConfig
from .crds import AllowedRoutes, Gateway, GatewaySpec, LabelSelector, Listener, RouteGroupKind, RouteNamespaces
from .mcp_route import GATEWAY_GROUP, McpRoute, McpRouteArgs
from .mcp_server import McpServer, McpServerArgs
from .tool_policy import DANGEROUS_TOOLS_ANNOTATION, ToolPolicy, ToolPolicyArgs, ToolRule, \
    dangerous_tools_annotation, tool_rules

GATEWAY_CLASS = "agentgateway"  # created and owned by the agentgateway controller; never declared here
LISTENER_NAME = "http"
GATEWAY_WAIT_FOR = "condition=Accepted"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by Kubernetes on every namespace, immutable
# Pod Security Admission: reject (enforce), log (audit) and warn about pods that break the "restricted" profile.
POD_SECURITY_LABELS = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}


def read_server_code(config: FederationConfig, server: ServerConfig) -> dict[str, str]:
    """The files of one server's ConfigMap: the shared core and the server file."""
    return {name: (config.code_dir / name).read_text(encoding="utf-8") for name in (CORE_FILE, server.code)}


@dataclass(frozen=True)
class McpFederationArgs:
    """Validated config plus the catalog of every server (keyed by server name)."""

    config: FederationConfig
    catalogs: Mapping[str, ServerCatalog]
    # Derived: each server's tool authorization. Built here, so bad tool names fail before any resource exists.
    tool_rules: Mapping[str, ToolRule] = field(init=False)

    def __post_init__(self) -> None:
        missing = sorted({s.name for s in self.config.servers} - set(self.catalogs))
        if missing:
            raise ValueError(f"McpFederationArgs.catalogs: no catalog for server(s) {', '.join(missing)}")
        object.__setattr__(self, "tool_rules", tool_rules(self.config, self.catalogs))  # raises ConfigError


class McpFederation(pulumi.ComponentResource):
    """Every MCP server behind one agentgateway Gateway, one path prefix each."""

    namespace: pulumi.Output[str]
    gateway: pulumi.Output[dict]
    routes: dict[str, str]
    verification_plan: list[dict]

    def __init__(self, name: str, args: McpFederationArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mcpfederation:components:McpFederation", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)

        self.namespace_resource: Optional[k8s.core.v1.Namespace] = None
        namespace: pulumi.Input[str] = config.namespace
        if config.create_namespace:
            self.namespace_resource = k8s.core.v1.Namespace(
                config.namespace,
                metadata=k8s.meta.v1.ObjectMetaArgs(name=config.namespace,
                                                    labels={"app.kubernetes.io/part-of": "mcp-federation",
                                                            **POD_SECURITY_LABELS}),
                opts=child)
            namespace = self.namespace_resource.metadata.name  # so everything in it waits for it
        self.namespace = pulumi.Output.from_input(namespace)

        gateway_name: pulumi.Input[str] = config.gateway.name
        self.gateway_resource: Optional[Gateway] = None
        if config.gateway.create:
            self.gateway_resource = self._gateway(config, child)
            gateway_name = self.gateway_resource.metadata["name"]
        self.gateway = pulumi.Output.from_input({"name": gateway_name, "namespace": config.gateway.namespace,
                                                 "port": config.gateway.port})

        rules = args.tool_rules
        self.servers: dict[str, McpServer] = {}
        self.mcp_routes: dict[str, McpRoute] = {}
        self.tool_policies: dict[str, ToolPolicy] = {}
        for server in config.servers:
            self.servers[server.name] = McpServer(server.name, McpServerArgs(
                namespace=namespace, image=server.image, code_file=server.code,
                code=read_server_code(config, server), port=server.port, replicas=server.replicas,
                resources=server.resources.to_k8s()), opts=child)
            self.mcp_routes[server.name] = McpRoute(server.name, McpRouteArgs(
                namespace=namespace, path=server.path, service_name=self.servers[server.name].service_name,
                service_port=server.port, gateway_name=gateway_name, gateway_namespace=config.gateway.namespace,
                listener_name=LISTENER_NAME, backend_annotations={DANGEROUS_TOOLS_ANNOTATION: dangerous_tools_annotation(
                    (server.name, tool) for tool in args.catalogs[server.name].dangerous_tool_names)}), opts=child)
            rule = rules[server.name]
            if rule.action is not None:
                self.tool_policies[server.name] = ToolPolicy(server.name, ToolPolicyArgs(
                    namespace=namespace, backend_name=self.mcp_routes[server.name].backend_name,
                    action=rule.action, tools=[(None, tool) for tool in rule.tools]), opts=child)

        self.routes = {server.name: server.path for server in config.servers}
        self.verification_plan = [verification_entry(s.name, s.path, args.catalogs[s.name], rules[s.name].denied)
                                  for s in config.servers]
        self.register_outputs({"namespace": self.namespace, "gateway": self.gateway, "routes": self.routes,
                               "verificationPlan": self.verification_plan})

    def _gateway(self, config: FederationConfig, child: pulumi.ResourceOptions) -> Gateway:
        """The Gateway, with an HTTP listener that admits HTTPRoutes from the servers' namespace only."""
        admitted = RouteNamespaces(from_="Selector",
                                   selector=LabelSelector(matchLabels={NAMESPACE_NAME_LABEL: config.namespace}))
        return Gateway(
            config.gateway.name,
            metadata={"name": config.gateway.name, "namespace": config.gateway.namespace,
                      "labels": {"app.kubernetes.io/part-of": "mcp-federation"},
                      "annotations": {"pulumi.com/waitFor": GATEWAY_WAIT_FOR}},
            spec=GatewaySpec(gatewayClassName=GATEWAY_CLASS, listeners=[Listener(
                name=LISTENER_NAME, port=config.gateway.port, protocol="HTTP",
                allowedRoutes=AllowedRoutes(namespaces=admitted,
                                            kinds=[RouteGroupKind(group=GATEWAY_GROUP, kind="HTTPRoute")]))]),
            opts=child)
