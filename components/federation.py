"""McpFederation: the whole stack from its config — namespace, Gateway, and one McpServer + McpRoute per server."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from .catalog import ServerCatalog, verification_entry
from .config import CORE_FILE, SESSION_KEY_SECRET, FederationConfig, ServerConfig, needs_session_key
from .crds import AgentgatewayParameters, AgentgatewayParametersSpec, AllowedRoutes, Gateway, \
    GatewayInfrastructure, GatewaySpec, LabelSelector, Listener, LocalParametersReference, RouteGroupKind, \
    RouteNamespaces, ServiceOverlay, ServiceSpecOverlay
from .aggregate_route import AggregateRoute, AggregateRouteArgs, aggregate_plan_entry, aggregate_tool_rule
from .image_server import McpImageServer, McpImageServerArgs
from .mcp_route import GATEWAY_GROUP, UPSTREAM_MCP_PATH, McpRoute, McpRouteArgs, McpRouteTarget
from .mcp_server import McpServer, McpServerArgs
from .auth_plan import route_auth_fields
from .availability import DisruptionBudget, DisruptionBudgetArgs
from .gateway_auth import AuthTarget, GatewayAuth, GatewayAuthArgs, oauth_metadata_paths
from .workload import EnvValue, server_labels
from .readiness import GATEWAY_WAIT_FOR, WAIT_FOR_ANNOTATION
from .network_policy import McpNetworkPolicies, McpNetworkPoliciesArgs
from .server_secret import ServerSecret, ServerSecretArgs
from .tool_policy import DANGEROUS_TOOLS_ANNOTATION, ToolPolicy, ToolPolicyArgs, ToolRule, \
    dangerous_tools_annotation, tool_rules

GATEWAY_CLASS = "agentgateway"  # created and owned by the agentgateway controller; never declared here
LISTENER_NAME = "http"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by Kubernetes on every namespace, immutable
SESSION_KEY_ENV = "MCP_SESSION_KEY"  # read by server_code/mcp_core.py: replicas sign session ids with it
# Pod Security Admission: reject (enforce), log (audit) and warn about pods that break the "restricted" profile.
POD_SECURITY_LABELS = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}


CORE_MODULES_GLOB = "mcp_*.py"  # the shared core: mcp_core.py and the modules it imports (server_code/mcp_core.py)


def core_files(config: FederationConfig) -> list[str]:
    """File names of the shared core in the code directory (always including CORE_FILE)."""
    return sorted({CORE_FILE, *(path.name for path in config.code_dir.glob(CORE_MODULES_GLOB))})


def read_server_code(config: FederationConfig, server: ServerConfig) -> dict[str, str]:
    """The files of one server's ConfigMap: every module of the shared core and the server file."""
    return {name: (config.code_dir / name).read_text(encoding="utf-8")
            for name in (*core_files(config), server.code)}


def upstream_path(server: ServerConfig) -> str:
    """Where the server's Service serves MCP: /mcp for code servers, the configured mcpPath for images."""
    return server.image_server.mcp_path if server.image_server is not None else UPSTREAM_MCP_PATH


@dataclass(frozen=True)
class McpFederationArgs:
    """Validated config plus the catalog of every server (keyed by server name)."""

    config: FederationConfig
    catalogs: Mapping[str, ServerCatalog]
    # Derived: each server's tool authorization. Built here, so bad tool names fail before any resource exists.
    tool_rules: Mapping[str, ToolRule] = field(init=False)
    aggregate_plan: Optional[dict] = field(init=False)  # the aggregated route's plan entry; None when disabled

    def __post_init__(self) -> None:
        missing = sorted({s.name for s in self.config.servers} - set(self.catalogs))
        if missing:
            raise ValueError(f"McpFederationArgs.catalogs: no catalog for server(s) {', '.join(missing)}")
        object.__setattr__(self, "tool_rules", tool_rules(self.config, self.catalogs))  # raises ConfigError
        object.__setattr__(self, "aggregate_plan",  # raises ConfigError (prefixMode Never with duplicate names)
                           aggregate_plan_entry(self.config, self.catalogs, self.tool_rules))


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
        else:
            pulumi.log.warn(f"namespace {config.namespace!r} is managed elsewhere: label it "
                            f"{', '.join(f'{k}={v}' for k, v in POD_SECURITY_LABELS.items())} to enforce the "
                            "restricted Pod Security profile there", resource=self)
        self.namespace = pulumi.Output.from_input(namespace)

        gateway_name: pulumi.Input[str] = config.gateway.name
        self.gateway_resource: Optional[Gateway] = None
        self.gateway_parameters: Optional[AgentgatewayParameters] = None
        if config.gateway.create:
            self.gateway_resource = self._gateway(config, child)
            gateway_name = self.gateway_resource.metadata["name"]
        self.gateway = pulumi.Output.from_input({"name": gateway_name, "namespace": config.gateway.namespace,
                                                 "port": config.gateway.port})

        rules = args.tool_rules
        self.servers: dict[str, McpServer] = {}
        self.mcp_routes: dict[str, McpRoute] = {}
        self.tool_policies: dict[str, ToolPolicy] = {}
        self.secrets: dict[str, ServerSecret] = {}
        self.disruption_budgets: dict[str, DisruptionBudget] = {}
        for server in config.servers:
            env = self._declare_secret_and_env(config, server, namespace, child)
            if server.replicas > 1:  # drains take one replica at a time (a PDB would only block one replica)
                self.disruption_budgets[server.name] = DisruptionBudget(server.name, DisruptionBudgetArgs(
                    namespace=namespace, labels=server_labels(server.name)), opts=child)
            if server.image_server is not None:
                self.servers[server.name] = self._image_server(server, namespace, child, env)
            else:
                self.servers[server.name] = McpServer(server.name, McpServerArgs(
                    namespace=namespace, image=server.image, code_file=server.code,
                    code=read_server_code(config, server), port=server.port, replicas=server.replicas,
                    resources=server.resources.to_k8s(), env=env), opts=child)
            self.mcp_routes[server.name] = McpRoute(server.name, McpRouteArgs(
                namespace=namespace, path=server.path, service_name=self.servers[server.name].service_name,
                service_port=server.port, gateway_name=gateway_name, gateway_namespace=config.gateway.namespace,
                upstream_path=upstream_path(server),
                extra_path_prefixes=oauth_metadata_paths(config.auth, server.path),
                listener_name=LISTENER_NAME, backend_annotations={DANGEROUS_TOOLS_ANNOTATION: dangerous_tools_annotation(
                    (server.name, tool) for tool in args.catalogs[server.name].dangerous_tool_names)}), opts=child)
            rule = rules[server.name]
            if rule.action is not None:
                self.tool_policies[server.name] = ToolPolicy(server.name, ToolPolicyArgs(
                    namespace=namespace, backend_name=self.mcp_routes[server.name].backend_name,
                    action=rule.action, tools=[(None, tool) for tool in rule.tools],
                    conditions={(None, tool): condition for tool, condition in rule.conditions.items()}), opts=child)

        # Only the Gateway's data plane may reach the servers, and only on their MCP ports.
        self.network_policies = McpNetworkPolicies(config.namespace, McpNetworkPoliciesArgs(
            namespace=namespace, gateway_name=config.gateway.name, gateway_namespace=config.gateway.namespace,
            server_ports={server.name: server.port for server in config.servers}), opts=child)

        self.aggregate_route: Optional[AggregateRoute] = None
        if config.aggregate.enabled:
            self.aggregate_route = self._aggregate_route(args, namespace, gateway_name, child)

        self.auth: Optional[GatewayAuth] = None
        if config.auth.enabled:
            self.auth = self._auth(config, namespace, gateway_name, child)

        self.routes = {server.name: server.path for server in config.servers}
        if config.aggregate.enabled:
            self.routes[config.aggregate.name] = config.aggregate.path
        self.verification_plan = [
            {**verification_entry(s.name, s.path, args.catalogs[s.name], rules[s.name].denied),
             **route_auth_fields(config.auth, s.groups,
                                 [t for t in args.catalogs[s.name].tool_names if t not in rules[s.name].denied])}
            for s in config.servers]
        if args.aggregate_plan is not None:
            self.verification_plan.append(args.aggregate_plan)
        self.register_outputs({"namespace": self.namespace, "gateway": self.gateway, "routes": self.routes,
                               "verificationPlan": self.verification_plan})

    def _auth(self, config: FederationConfig, namespace: pulumi.Input[str], gateway_name: pulumi.Input[str],
              child: pulumi.ResourceOptions) -> GatewayAuth:
        """Exactly one jwtAuthentication per request path: on the Gateway when this stack declares it, else on
        every HTTPRoute of the stack (gateway_auth.py explains why never both)."""
        if config.gateway.create:
            return GatewayAuth("mcp-auth", GatewayAuthArgs(
                auth=config.auth, namespace=config.gateway.namespace,
                targets=[AuthTarget("Gateway", gateway_name, config.gateway.name)]), opts=child)
        routes = [(name, route.route_name) for name, route in self.mcp_routes.items()]
        if self.aggregate_route is not None:
            routes.append((config.aggregate.name, self.aggregate_route.route_name))
        return GatewayAuth("mcp-auth", GatewayAuthArgs(
            auth=config.auth, namespace=namespace,
            targets=[AuthTarget("HTTPRoute", route_name, name) for name, route_name in routes]), opts=child)

    def _declare_secret_and_env(self, config: FederationConfig, server: ServerConfig,
                                namespace: pulumi.Input[str], child: pulumi.ResourceOptions) -> dict[str, EnvValue]:
        """Declare the server's own Secret (only when it uses one; it holds just the values the server uses) and
        return the server's extra container env: its plain `env`, its `secretEnv` and (code servers with
        replicas > 1) MCP_SESSION_KEY, the last two read from that Secret."""
        keys = set(server.secret_env.values()) | ({SESSION_KEY_SECRET} if needs_session_key(server) else set())
        env: dict[str, EnvValue] = dict(server.env)
        if keys:
            secret = ServerSecret(server.name, ServerSecretArgs(
                namespace=namespace, values={key: config.secrets[key] for key in sorted(keys)}), opts=child)
            self.secrets[server.name] = secret
            env.update({name: secret.env_source(key) for name, key in server.secret_env.items()})
            if needs_session_key(server):
                env[SESSION_KEY_ENV] = secret.env_source(SESSION_KEY_SECRET)
        return env

    def _image_server(self, server: ServerConfig, namespace: pulumi.Input[str],
                      child: pulumi.ResourceOptions, env: Mapping[str, EnvValue]) -> McpImageServer:
        """A server that is its own container image."""
        spec = server.image_server
        assert spec is not None
        return McpImageServer(server.name, McpImageServerArgs(
            namespace=namespace, image=server.image, port=server.port, replicas=server.replicas,
            resources=server.resources.to_k8s(), command=spec.command, args=spec.args,
            health_path=spec.health_path, run_as_user=spec.run_as_user, env=dict(env)), opts=child)

    def _aggregate_route(self, args: McpFederationArgs, namespace: pulumi.Input[str],
                         gateway_name: pulumi.Input[str], child: pulumi.ResourceOptions) -> AggregateRoute:
        """The aggregated route: one backend with every selected server as a target (target name = server name),
        its dangerous-tools annotation, and one tool policy with per-target rules when anything is restricted."""
        config, aggregate = args.config, args.config.aggregate
        servers = {server.name: server for server in config.servers}
        selected = [servers[name] for name in aggregate.servers]
        route = AggregateRoute(aggregate.name, AggregateRouteArgs(
            namespace=namespace, path=aggregate.path,
            targets=[McpRouteTarget(s.name, self.servers[s.name].service_name, s.port, upstream_path(s))
                     for s in selected],
            gateway_name=gateway_name, gateway_namespace=config.gateway.namespace, listener_name=LISTENER_NAME,
            prefix_mode=aggregate.prefix_mode, failure_mode=aggregate.failure_mode,
            session_routing=aggregate.session_routing,
            extra_path_prefixes=oauth_metadata_paths(config.auth, aggregate.path),
            backend_annotations={DANGEROUS_TOOLS_ANNOTATION: dangerous_tools_annotation(
                (s.name, tool) for s in selected for tool in args.catalogs[s.name].dangerous_tool_names)}),
            opts=child)
        rule = aggregate_tool_rule(aggregate.servers, args.tool_rules, args.catalogs)
        if rule is not None:
            action, pairs, conditions = rule
            self.tool_policies[aggregate.name] = ToolPolicy(aggregate.name, ToolPolicyArgs(
                namespace=namespace, backend_name=route.backend_name, action=action, tools=pairs,
                conditions=conditions), opts=child)
        return route

    def _gateway(self, config: FederationConfig, child: pulumi.ResourceOptions) -> Gateway:
        """The Gateway, with an HTTP listener that admits HTTPRoutes from the servers' namespace only, and the
        AgentgatewayParameters (same name and namespace) that set the type of its data-plane Service."""
        admitted = RouteNamespaces(from_="Selector",
                                   selector=LabelSelector(matchLabels={NAMESPACE_NAME_LABEL: config.namespace}))
        self.gateway_parameters = AgentgatewayParameters(
            f"{config.gateway.name}-parameters",
            metadata={"name": config.gateway.name, "namespace": config.gateway.namespace,
                      "labels": {"app.kubernetes.io/part-of": "mcp-federation"}},
            spec=AgentgatewayParametersSpec(service=ServiceOverlay(spec=ServiceSpecOverlay(
                type=config.gateway.service_type))),
            opts=child)
        parameters_ref = LocalParametersReference(  # by its output name: the Gateway waits for the parameters
            group=AgentgatewayParameters.API_VERSION.split("/")[0], kind=AgentgatewayParameters.KIND,
            name=self.gateway_parameters.metadata["name"])
        return Gateway(
            config.gateway.name,
            metadata={"name": config.gateway.name, "namespace": config.gateway.namespace,
                      "labels": {"app.kubernetes.io/part-of": "mcp-federation"},
                      "annotations": {WAIT_FOR_ANNOTATION: GATEWAY_WAIT_FOR}},
            spec=GatewaySpec(gatewayClassName=GATEWAY_CLASS, listeners=[Listener(
                name=LISTENER_NAME, port=config.gateway.port, protocol="HTTP",
                allowedRoutes=AllowedRoutes(namespaces=admitted,
                                            kinds=[RouteGroupKind(group=GATEWAY_GROUP, kind="HTTPRoute")]))],
                infrastructure=GatewayInfrastructure(parametersRef=parameters_ref)),
            opts=child)
