"""McpRoute: exposes one MCP server through the Gateway (AgentgatewayBackend + HTTPRoute).

References and namespaces: the backend's `static.backendRef` is a LocalObjectReference, so the backend lives in
the Service's namespace. The route's parentRef to the Gateway in another namespace needs no ReferenceGrant (the
Gateway's `allowedRoutes` admits the route's namespace instead). Only a route in a different namespace than its
backend (`route_namespace`) crosses namespaces: then a ReferenceGrant in the backend's namespace allows it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi

from .crds import (
    AgentgatewayBackend,
    AgentgatewayBackendSpec,
    HTTPBackendRef,
    HTTPPathMatch,
    HTTPRoute,
    HTTPRouteMatch,
    HTTPRouteRule,
    HTTPRouteSpec,
    LocalObjectReference,
    McpBackend,
    McpTarget,
    ParentReference,
    ReferenceGrant,
    ReferenceGrantFrom,
    ReferenceGrantSpec,
    ReferenceGrantTo,
    StaticMcpTarget,
)

BACKEND_GROUP = "agentgateway.dev"
BACKEND_KIND = "AgentgatewayBackend"
GATEWAY_GROUP = "gateway.networking.k8s.io"
UPSTREAM_MCP_PATH = "/mcp"  # where every server file serves MCP (mcp_core.MCP_PATH)
# `pulumi up` waits until the controller accepted the object (pulumi.md §4.1). HTTPRoute conditions live under
# status.parents[], which `condition=` does not read, hence the jsonpath.
BACKEND_WAIT_FOR = "condition=Accepted"
ROUTE_WAIT_FOR = "jsonpath={.status.parents[*].conditions[?(@.type=='Accepted')].status}=True"


@dataclass(frozen=True)
class McpRouteArgs:
    """Inputs of an McpRoute: the server's Service and the Gateway listener to attach to."""

    namespace: pulumi.Input[str]          # of the backend, which must be the Service's namespace
    path: str                             # PathPrefix on the Gateway, e.g. /mcp/github
    service_name: pulumi.Input[str]
    service_port: int
    gateway_name: pulumi.Input[str]
    gateway_namespace: pulumi.Input[str]
    listener_name: str = "http"
    route_namespace: Optional[str] = None  # default: the backend's namespace (no ReferenceGrant needed)
    backend_annotations: Mapping[str, str] = field(default_factory=dict)  # extra, e.g. the dangerous-tools list


class McpRoute(pulumi.ComponentResource):
    """The AgentgatewayBackend that speaks MCP to one Service, and the HTTPRoute that sends a path prefix to it."""

    backend_name: pulumi.Output[str]
    route_name: pulumi.Output[str]

    def __init__(self, name: str, args: McpRouteArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mcpfederation:components:McpRoute", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        route_namespace = args.route_namespace or args.namespace
        self.backend = AgentgatewayBackend(
            f"{name}-backend",
            metadata={"name": name, "namespace": args.namespace,
                      "annotations": {**args.backend_annotations, "pulumi.com/waitFor": BACKEND_WAIT_FOR}},
            spec=AgentgatewayBackendSpec(mcp=McpBackend(targets=[McpTarget(
                name=name,
                static=StaticMcpTarget(backendRef=LocalObjectReference(name=args.service_name),
                                       port=args.service_port, path=UPSTREAM_MCP_PATH,
                                       protocol="StreamableHTTP"))])),
            opts=child)
        self.backend_name = self.backend.metadata["name"]
        self.reference_grant: Optional[ReferenceGrant] = None
        depends_on = []
        if args.route_namespace is not None and args.route_namespace != args.namespace:
            self.reference_grant = ReferenceGrant(
                f"{name}-grant",
                metadata={"name": f"{name}-from-{args.route_namespace}", "namespace": args.namespace},
                spec=ReferenceGrantSpec(
                    from_=[ReferenceGrantFrom(group=GATEWAY_GROUP, kind="HTTPRoute", namespace=args.route_namespace)],
                    to=[ReferenceGrantTo(group=BACKEND_GROUP, kind=BACKEND_KIND, name=name)]),
                opts=child)
            depends_on.append(self.reference_grant)
        backend_namespace = args.namespace if route_namespace != args.namespace else None
        self.route = HTTPRoute(
            f"{name}-route",
            metadata={"name": name, "namespace": route_namespace,
                      "annotations": {"pulumi.com/waitFor": ROUTE_WAIT_FOR}},
            spec=HTTPRouteSpec(
                parentRefs=[ParentReference(group=GATEWAY_GROUP, kind="Gateway", name=args.gateway_name,
                                            namespace=args.gateway_namespace, sectionName=args.listener_name)],
                rules=[HTTPRouteRule(
                    matches=[HTTPRouteMatch(path=HTTPPathMatch(type="PathPrefix", value=args.path))],
                    backendRefs=[HTTPBackendRef(group=BACKEND_GROUP, kind=BACKEND_KIND, name=self.backend_name,
                                                namespace=backend_namespace)])]),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on))
        self.route_name = self.route.metadata["name"]
        self.register_outputs({"backendName": self.backend_name, "routeName": self.route_name})
