"""McpFederation: the whole stack from its plan (components/plan.py): namespace, Gateway, and per server its
workload, route and tool policy, plus the aggregated route and authentication. It only declares resources."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from .config import SESSION_KEY_ENV, SESSION_KEY_SECRET, FederationConfig, ServerConfig, needs_session_key
from .crds import AgentgatewayParameters, AgentgatewayParametersSpec, AllowedRoutes, Gateway, \
    GatewayInfrastructure, GatewaySpec, HTTPRoute, LabelSelector, Listener, LocalParametersReference, RouteGroupKind, \
    RouteNamespaces, ServiceOverlay, ServiceSpecOverlay
from .aggregate_route import AggregateRoute, AggregateRouteArgs
from .image_server import McpImageServer, McpImageServerArgs
from .mcp_route import McpRoute, McpRouteArgs, McpRouteTarget
from .mcp_server import McpServer, McpServerArgs
from .availability import DisruptionBudget, DisruptionBudgetArgs
from .gateway_auth import AuthTarget, GatewayAuth, GatewayAuthArgs
from .workload import EnvValue, server_labels
from .readiness import GATEWAY_WAIT_FOR, WAIT_FOR_ANNOTATION
from .network_policy import McpNetworkPolicies, McpNetworkPoliciesArgs
from .plan import AggregatePlan, FederationPlan, PolicyRules, ServerPlan
from .server_secret import ServerSecret, ServerSecretArgs
from .labels import DANGEROUS_TOOLS_ANNOTATION, NAMESPACE_NAME_LABEL, PART_OF
from .tool_policy import ToolPolicy, ToolPolicyArgs

GATEWAY_CLASS = "agentgateway"  # created and owned by the agentgateway controller; never declared here
LISTENER_NAME = "http"
# Pod Security Admission: reject (enforce), log (audit) and warn about pods that break the "restricted" profile.
POD_SECURITY_LABELS = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}


@dataclass(frozen=True)
class McpFederationArgs:
    """The plan of the stack (components/plan.py `plan_federation`)."""

    plan: FederationPlan


class McpFederation(pulumi.ComponentResource):
    """Every MCP server behind one agentgateway Gateway, one path prefix each."""

    namespace: pulumi.Output[str]
    gateway: pulumi.Output[dict]
    routes: dict[str, str]
    verification_plan: list[dict]

    def __init__(self, name: str, args: McpFederationArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mcpfederation:components:McpFederation", name, None, opts)
        plan, config = args.plan, args.plan.config
        self._child = pulumi.ResourceOptions(parent=self)
        self.servers: dict[str, McpServer | McpImageServer] = {}
        self.mcp_routes: dict[str, McpRoute] = {}
        self.tool_policies: dict[str, ToolPolicy] = {}
        self.secrets: dict[str, ServerSecret] = {}
        self.disruption_budgets: dict[str, DisruptionBudget] = {}

        namespace = self._namespace(config)
        gateway_name = self._gateway(config)
        for server in plan.servers:
            self._server(config, server, namespace, gateway_name)
        # Only the Gateway's data plane may reach the servers, and only on their MCP ports.
        self.network_policies = McpNetworkPolicies(config.namespace, McpNetworkPoliciesArgs(
            namespace=namespace, gateway_name=config.gateway.name, gateway_namespace=config.gateway.namespace,
            server_ports={server.name: server.port for server in config.servers}), opts=self._child)
        self.aggregate_route = None if plan.aggregate is None else \
            self._aggregate_route(config, plan.aggregate, namespace, gateway_name)
        self.auth = self._auth(config, namespace, gateway_name) if config.auth.enabled else None

        self.routes = plan.routes
        self.verification_plan = plan.verification_plan
        self.register_outputs({"namespace": self.namespace, "gateway": self.gateway, "routes": self.routes,
                               "verificationPlan": self.verification_plan})

    def _namespace(self, config: FederationConfig) -> pulumi.Input[str]:
        """The servers' namespace (declared, or only a warning when it is managed elsewhere); sets `namespace`."""
        self.namespace_resource: Optional[k8s.core.v1.Namespace] = None
        namespace: pulumi.Input[str] = config.namespace
        if config.create_namespace:
            self.namespace_resource = k8s.core.v1.Namespace(
                config.namespace,
                metadata=k8s.meta.v1.ObjectMetaArgs(name=config.namespace,
                                                    labels={**PART_OF, **POD_SECURITY_LABELS}),
                opts=self._child)
            namespace = self.namespace_resource.metadata.name  # so everything in it waits for it
        else:
            pulumi.log.warn(f"namespace {config.namespace!r} is managed elsewhere: label it "
                            f"{', '.join(f'{k}={v}' for k, v in POD_SECURITY_LABELS.items())} to enforce the "
                            "restricted Pod Security profile there", resource=self)
        self.namespace = pulumi.Output.from_input(namespace)
        return namespace

    def _gateway(self, config: FederationConfig) -> pulumi.Input[str]:
        """The Gateway when this stack declares it; sets `gateway` and returns the Gateway's name."""
        gateway_name: pulumi.Input[str] = config.gateway.name
        self.gateway_resource: Optional[Gateway] = None
        self.gateway_parameters: Optional[AgentgatewayParameters] = None
        if config.gateway.create:
            self.gateway_resource = self._declare_gateway(config)
            gateway_name = self.gateway_resource.metadata["name"]
        self.gateway = pulumi.Output.from_input({"name": gateway_name, "namespace": config.gateway.namespace,
                                                 "port": config.gateway.port})
        return gateway_name

    def _server(self, config: FederationConfig, plan: ServerPlan, namespace: pulumi.Input[str],
                gateway_name: pulumi.Input[str]) -> None:
        """One server: its Secret (if any), disruption budget (replicas > 1), workload, route and tool policy."""
        server, child = plan.server, self._child
        env = self._declare_secret_and_env(config, server, namespace)
        if server.replicas > 1:  # drains take one replica at a time (a PDB would only block one replica)
            self.disruption_budgets[server.name] = DisruptionBudget(server.name, DisruptionBudgetArgs(
                namespace=namespace, labels=server_labels(server.name)), opts=child)
        if server.image_server is not None:
            self.servers[server.name] = self._image_server(server, namespace, env)
        else:
            # FederationConfig gives a code server its file and (by default the top-level) image
            assert server.code is not None and server.image is not None
            self.servers[server.name] = McpServer(server.name, McpServerArgs(
                namespace=namespace, image=server.image, code_file=server.code, code=dict(plan.catalog.files),
                port=server.port, replicas=server.replicas, resources=server.resources.to_k8s(), env=env),
                opts=child)
        route = self.mcp_routes[server.name] = McpRoute(server.name, McpRouteArgs(
            namespace=namespace, path=server.path, service_name=self.servers[server.name].service_name,
            service_port=server.port, gateway_name=gateway_name, gateway_namespace=config.gateway.namespace,
            upstream_path=plan.upstream_path, extra_path_prefixes=plan.extra_path_prefixes,
            listener_name=LISTENER_NAME, backend_annotations={DANGEROUS_TOOLS_ANNOTATION: plan.dangerous_tools}),
            opts=child)
        self._tool_policy(server.name, namespace, route.backend_name, plan.policy)

    def _tool_policy(self, name: str, namespace: pulumi.Input[str], backend_name: pulumi.Input[str],
                     policy: Optional[PolicyRules]) -> None:
        """The backend's tool policy, when its plan restricts anything."""
        if policy is not None:
            self.tool_policies[name] = ToolPolicy(name, ToolPolicyArgs(
                namespace=namespace, backend_name=backend_name, action=policy.action, tools=policy.tools,
                conditions=policy.conditions), opts=self._child)

    def _auth(self, config: FederationConfig, namespace: pulumi.Input[str],
              gateway_name: pulumi.Input[str]) -> GatewayAuth:
        """Exactly one jwtAuthentication per request path: on the Gateway when this stack declares it, else on
        every HTTPRoute of the stack (gateway_auth.py explains why never both)."""
        if config.gateway.create:
            return GatewayAuth("mcp-auth", GatewayAuthArgs(
                auth=config.auth, namespace=config.gateway.namespace,
                targets=[AuthTarget(Gateway.KIND, gateway_name, config.gateway.name)]), opts=self._child)
        routes = [(name, route.route_name) for name, route in self.mcp_routes.items()]
        if self.aggregate_route is not None:
            routes.append((config.aggregate.name, self.aggregate_route.route_name))
        return GatewayAuth("mcp-auth", GatewayAuthArgs(
            auth=config.auth, namespace=namespace,
            targets=[AuthTarget(HTTPRoute.KIND, route_name, name) for name, route_name in routes]), opts=self._child)

    def _declare_secret_and_env(self, config: FederationConfig, server: ServerConfig,
                                namespace: pulumi.Input[str]) -> dict[str, EnvValue]:
        """Declare the server's own Secret (only when it uses one; it holds just the values the server uses) and
        return the server's extra container env: its plain `env`, its `secretEnv` and (code servers with
        replicas > 1) MCP_SESSION_KEY, the last two read from that Secret."""
        shared = needs_session_key(server.type, server.replicas)
        keys = set(server.secret_env.values()) | ({SESSION_KEY_SECRET} if shared else set())
        env: dict[str, EnvValue] = dict(server.env)
        if keys:
            secret = ServerSecret(server.name, ServerSecretArgs(
                namespace=namespace, values={key: config.secrets[key] for key in sorted(keys)}), opts=self._child)
            self.secrets[server.name] = secret
            env.update({name: secret.env_source(key) for name, key in server.secret_env.items()})
            if shared:
                env[SESSION_KEY_ENV] = secret.env_source(SESSION_KEY_SECRET)
        return env

    def _image_server(self, server: ServerConfig, namespace: pulumi.Input[str],
                      env: Mapping[str, EnvValue]) -> McpImageServer:
        """A server that is its own container image."""
        spec = server.image_server
        assert spec is not None and server.image is not None  # config requires the image of a type image server
        return McpImageServer(server.name, McpImageServerArgs(
            namespace=namespace, image=server.image, port=server.port, replicas=server.replicas,
            resources=server.resources.to_k8s(), command=spec.command, args=spec.args,
            health_path=spec.health_path, run_as_user=spec.run_as_user, env=dict(env)), opts=self._child)

    def _aggregate_route(self, config: FederationConfig, plan: AggregatePlan, namespace: pulumi.Input[str],
                         gateway_name: pulumi.Input[str]) -> AggregateRoute:
        """The aggregated route: one backend with every selected server as a target (target name = server name),
        its dangerous-tools annotation, and one tool policy with per-target rules when anything is restricted."""
        aggregate = plan.aggregate
        route = AggregateRoute(aggregate.name, AggregateRouteArgs(
            namespace=namespace, path=aggregate.path,
            targets=[McpRouteTarget(s.server.name, self.servers[s.server.name].service_name, s.server.port,
                                    s.upstream_path) for s in plan.servers],
            gateway_name=gateway_name, gateway_namespace=config.gateway.namespace, listener_name=LISTENER_NAME,
            prefix_mode=aggregate.prefix_mode, failure_mode=aggregate.failure_mode,
            session_routing=aggregate.session_routing, extra_path_prefixes=plan.extra_path_prefixes,
            backend_annotations={DANGEROUS_TOOLS_ANNOTATION: plan.dangerous_tools}), opts=self._child)
        self._tool_policy(aggregate.name, namespace, route.backend_name, plan.policy)
        return route

    def _declare_gateway(self, config: FederationConfig) -> Gateway:
        """The Gateway, with an HTTP listener that admits HTTPRoutes from the servers' namespace only, and the
        AgentgatewayParameters (same name and namespace) that set the type of its data-plane Service."""
        admitted = RouteNamespaces(from_="Selector",
                                   selector=LabelSelector(matchLabels={NAMESPACE_NAME_LABEL: config.namespace}))
        self.gateway_parameters = AgentgatewayParameters(
            f"{config.gateway.name}-parameters",
            metadata={"name": config.gateway.name, "namespace": config.gateway.namespace,
                      "labels": PART_OF},
            spec=AgentgatewayParametersSpec(service=ServiceOverlay(spec=ServiceSpecOverlay(
                type=config.gateway.service_type))),
            opts=self._child)
        parameters_ref = LocalParametersReference(  # by its output name: the Gateway waits for the parameters
            group=AgentgatewayParameters.GROUP, kind=AgentgatewayParameters.KIND,
            name=self.gateway_parameters.metadata["name"])
        return Gateway(
            config.gateway.name,
            metadata={"name": config.gateway.name, "namespace": config.gateway.namespace,
                      "labels": PART_OF,
                      "annotations": {WAIT_FOR_ANNOTATION: GATEWAY_WAIT_FOR}},
            spec=GatewaySpec(gatewayClassName=GATEWAY_CLASS, listeners=[Listener(
                name=LISTENER_NAME, port=config.gateway.port, protocol="HTTP",
                allowedRoutes=AllowedRoutes(namespaces=admitted,
                                            kinds=[RouteGroupKind(group=HTTPRoute.GROUP, kind=HTTPRoute.KIND)]))],
                infrastructure=GatewayInfrastructure(parametersRef=parameters_ref)),
            opts=self._child)
