"""Typed custom resources for agentgateway v1.4.1 and Gateway API v1.6.1.

Import everything from here::

    from components.crds import (
        AgentgatewayBackend, AgentgatewayBackendSpec, McpBackend, McpTarget, StaticMcpTarget,
        LocalObjectReference, LabelSelector,
        HTTPRoute, HTTPRouteSpec, ParentReference, HTTPRouteRule, HTTPRouteMatch, HTTPPathMatch, HTTPBackendRef,
        Gateway, GatewaySpec, Listener, AllowedRoutes, RouteNamespaces,
        ReferenceGrant, ReferenceGrantSpec, ReferenceGrantFrom, ReferenceGrantTo,
        AgentgatewayPolicy, AgentgatewayPolicySpec, PolicyTargetReference, BackendPolicy, McpPolicy,
        McpAuthorization, AuthorizationPolicy,
        AgentgatewayParameters, AgentgatewayParametersSpec, ServiceOverlay, ServiceSpecOverlay,
        GatewayInfrastructure, LocalParametersReference,
        TrafficPolicy, JwtAuthentication, JwtProvider, Jwks, RemoteJwks, JwksBackendRef, JwtLocation,
        JwtHeaderLocation, JwtCookieLocation, JwtMcp, StaticBackend, BackendPolicies, BackendTLS,
        CrdValueError,
    )

Spec classes are frozen dataclasses whose field names are the CRD's exact camelCase names (exception:
``from_`` for ``from``). They check the CRD's rules at construction and raise ``CrdValueError`` (a
``ValueError``) naming the field path and the bad value, e.g.
``AgentgatewayBackend spec.mcp.targets[].name: 'git_hub' is not a valid target name (...)``. Lists may be
passed as lists; they are stored as tuples. ``spec.to_dict()`` gives the camelCase dict without unset fields.
Pulumi ``Output`` values (names, namespaces) are passed through unchecked.

Resource classes take only the typed spec::

    backend = AgentgatewayBackend(
        "github-backend",
        metadata={"name": "github", "namespace": "mcp",
                  "annotations": {"pulumi.com/waitFor": "condition=Accepted"}},
        spec=AgentgatewayBackendSpec(mcp=McpBackend(targets=[
            McpTarget(name="github", static=StaticMcpTarget(
                backendRef=LocalObjectReference(name="github"), port=8080, path="/mcp", protocol="StreamableHTTP")),
        ])),
        opts=pulumi.ResourceOptions(parent=self),
    )
    route = HTTPRoute(
        "github-route",
        metadata={"name": "github", "namespace": "mcp"},
        spec=HTTPRouteSpec(
            parentRefs=[ParentReference(name="mcp-gateway", namespace="agentgateway-system")],
            rules=[HTTPRouteRule(
                matches=[HTTPRouteMatch(path=HTTPPathMatch(type="PathPrefix", value="/mcp/github"))],
                backendRefs=[HTTPBackendRef(group="agentgateway.dev", kind="AgentgatewayBackend", name="github")],
            )],
        ),
    )
    gateway = Gateway(
        "mcp-gateway",
        metadata={"name": "mcp-gateway", "namespace": "agentgateway-system"},
        spec=GatewaySpec(gatewayClassName="agentgateway", listeners=[Listener(
            name="http", port=80, protocol="HTTP",
            allowedRoutes=AllowedRoutes(namespaces=RouteNamespaces(
                from_="Selector",
                selector=LabelSelector(matchLabels={"kubernetes.io/metadata.name": "mcp"})))),
        ]),
    )

Each resource class has ``API_VERSION``, ``KIND``, ``type_token()`` and keeps its spec as ``typed_spec``.
``ReferenceGrant`` uses ``gateway.networking.k8s.io/v1beta1`` (served by Gateway API 1.4-1.6).
"""
from ._base import CrdObject, CrdValueError
from .agentgateway import (
    AgentgatewayBackendSpec,
    AgentgatewayParametersSpec,
    AgentgatewayPolicySpec,
    AuthorizationPolicy,
    BackendPolicy,
    McpAuthorization,
    McpBackend,
    McpPolicy,
    McpTarget,
    PolicyTargetReference,
    ServiceOverlay,
    ServiceSpecOverlay,
    StaticMcpTarget,
)
from .agentgateway_auth import (
    BackendPolicies,
    BackendTLS,
    Jwks,
    JwksBackendRef,
    JwtAuthentication,
    JwtCookieLocation,
    JwtHeaderLocation,
    JwtLocation,
    JwtMcp,
    JwtProvider,
    RemoteJwks,
    StaticBackend,
    TrafficPolicy,
)
from .gateway_api import (
    AllowedRoutes,
    GatewayInfrastructure,
    GatewaySpec,
    HTTPBackendRef,
    HTTPPathMatch,
    HTTPRouteMatch,
    HTTPRouteRule,
    HTTPRouteSpec,
    Listener,
    LocalParametersReference,
    ParentReference,
    ReferenceGrantFrom,
    ReferenceGrantSpec,
    ReferenceGrantTo,
    RouteGroupKind,
    RouteNamespaces,
)
from .meta import LabelSelector, LocalObjectReference
from .resources import (
    AgentgatewayBackend,
    AgentgatewayParameters,
    AgentgatewayPolicy,
    Gateway,
    HTTPRoute,
    ReferenceGrant,
    TypedCustomResource,
)

__all__ = [
    "AgentgatewayBackend", "AgentgatewayBackendSpec", "AgentgatewayParameters", "AgentgatewayParametersSpec",
    "GatewayInfrastructure", "LocalParametersReference", "ServiceOverlay", "ServiceSpecOverlay", "AgentgatewayPolicy", "AgentgatewayPolicySpec",
    "AllowedRoutes", "AuthorizationPolicy", "BackendPolicy", "CrdObject", "CrdValueError", "Gateway",
    "GatewaySpec", "HTTPBackendRef", "HTTPPathMatch", "HTTPRoute", "HTTPRouteMatch", "HTTPRouteRule",
    "HTTPRouteSpec", "LabelSelector", "Listener", "LocalObjectReference",
    "McpAuthorization", "McpBackend", "McpPolicy", "McpTarget", "ParentReference",
    "PolicyTargetReference", "ReferenceGrant", "ReferenceGrantFrom", "ReferenceGrantSpec", "ReferenceGrantTo",
    "RouteGroupKind", "RouteNamespaces", "StaticMcpTarget", "TypedCustomResource",
    "BackendPolicies", "BackendTLS", "Jwks", "JwksBackendRef", "JwtAuthentication", "JwtCookieLocation",
    "JwtHeaderLocation", "JwtLocation", "JwtMcp", "JwtProvider", "RemoteJwks", "StaticBackend", "TrafficPolicy",
]
