"""McpRoute: exposes one MCP server through the Gateway (AgentgatewayBackend + HTTPRoute).

`mcp_backend` and `path_route` build those two objects; the aggregated route (aggregate_route.py) uses them too,
with several targets on one backend.

References and namespaces: the backend's `static.backendRef` is a LocalObjectReference, so the backend lives in
the Service's namespace, and the route lives there too. The route's parentRef to the Gateway in another namespace
needs no ReferenceGrant (the Gateway's `allowedRoutes` admits the route's namespace instead).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi

from .readiness import BACKEND_WAIT_FOR, ROUTE_WAIT_FOR, WAIT_FOR_ANNOTATION
from .crds.agentgateway import FailureMode, PrefixMode, SessionRouting
from .crds import (
    AgentgatewayBackend,
    AgentgatewayBackendSpec,
    Gateway,
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
    StaticMcpTarget,
)

UPSTREAM_MCP_PATH = "/mcp"  # where every server file serves MCP (mcp_core.MCP_PATH); image servers set theirs
# `pulumi up` waits until the controller accepted the object at its current generation (components/readiness.py).


@dataclass(frozen=True)
class McpRouteTarget:
    """One MCP target of a backend: a Service (same namespace as the backend), its port and the MCP path there."""

    name: str                      # the target name; agentgateway prefixes tools with it when multiplexing
    service_name: pulumi.Input[str]
    port: int
    path: str = UPSTREAM_MCP_PATH


def mcp_backend(resource_name: str, name: str, namespace: pulumi.Input[str], targets: Sequence[McpRouteTarget],
                annotations: Mapping[str, str], opts: pulumi.ResourceOptions, *, prefix_mode: Optional[PrefixMode] = None,
                failure_mode: Optional[FailureMode] = None,
                session_routing: Optional[SessionRouting] = None) -> AgentgatewayBackend:
    """An AgentgatewayBackend speaking Streamable HTTP to each target's Service; unset modes keep the CRD defaults.
    `pulumi up` waits until the controller has accepted it."""
    return AgentgatewayBackend(
        resource_name,
        metadata={"name": name, "namespace": namespace,
                  "annotations": {**annotations, WAIT_FOR_ANNOTATION: BACKEND_WAIT_FOR}},
        spec=AgentgatewayBackendSpec(mcp=McpBackend(
            targets=[McpTarget(name=target.name, static=StaticMcpTarget(
                backendRef=LocalObjectReference(name=target.service_name), port=target.port, path=target.path,
                protocol="StreamableHTTP")) for target in targets],
            prefixMode=prefix_mode, failureMode=failure_mode, sessionRouting=session_routing)),
        opts=opts)


def path_route(resource_name: str, name: str, namespace: pulumi.Input[str], path: str,
               gateway: tuple[pulumi.Input[str], pulumi.Input[str], str], backend_name: pulumi.Input[str],
               opts: pulumi.ResourceOptions, extra_prefixes: Sequence[str] = ()) -> HTTPRoute:
    """An HTTPRoute on the Gateway listener `gateway` = (name, namespace, listener) sending the path prefix `path`
    (and `extra_prefixes`, e.g. the OAuth well-known paths of the route) to the AgentgatewayBackend `backend_name`
    in the route's namespace. `pulumi up` waits until the Gateway accepted it."""
    gateway_name, gateway_namespace, listener_name = gateway
    return HTTPRoute(
        resource_name,
        metadata={"name": name, "namespace": namespace, "annotations": {WAIT_FOR_ANNOTATION: ROUTE_WAIT_FOR}},
        spec=HTTPRouteSpec(
            parentRefs=[ParentReference(group=Gateway.GROUP, kind=Gateway.KIND, name=gateway_name,
                                        namespace=gateway_namespace, sectionName=listener_name)],
            rules=[HTTPRouteRule(
                matches=[HTTPRouteMatch(path=HTTPPathMatch(type="PathPrefix", value=prefix))
                         for prefix in (path, *extra_prefixes)],
                backendRefs=[HTTPBackendRef(group=AgentgatewayBackend.GROUP, kind=AgentgatewayBackend.KIND,
                                            name=backend_name)])]),
        opts=opts)


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
    backend_annotations: Mapping[str, str] = field(default_factory=dict)  # extra, e.g. the dangerous-tools list
    upstream_path: str = UPSTREAM_MCP_PATH  # where the Service serves MCP (an image server's mcpPath)
    extra_path_prefixes: Sequence[str] = ()  # more PathPrefix matches to the same backend (OAuth well-known paths)


class McpRoute(pulumi.ComponentResource):
    """The AgentgatewayBackend that speaks MCP to one Service, and the HTTPRoute that sends a path prefix to it."""

    backend_name: pulumi.Output[str]
    route_name: pulumi.Output[str]

    def __init__(self, name: str, args: McpRouteArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mcpfederation:components:McpRoute", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.backend = mcp_backend(
            f"{name}-backend", name, args.namespace,
            [McpRouteTarget(name=name, service_name=args.service_name, port=args.service_port,
                            path=args.upstream_path)],
            args.backend_annotations, child)
        self.backend_name = self.backend.metadata["name"]
        self.route = path_route(
            f"{name}-route", name, args.namespace, args.path,
            (args.gateway_name, args.gateway_namespace, args.listener_name), self.backend_name, child,
            extra_prefixes=args.extra_path_prefixes)
        self.route_name = self.route.metadata["name"]
        self.register_outputs({"backendName": self.backend_name, "routeName": self.route_name})
