"""Typed CRD specs: valid values render to dicts that the real CRDs accept; impossible values raise at
construction with the field path and the value in the message."""
from __future__ import annotations

import re
from typing import Callable

import pulumi
import pytest

from components.crds import (
    AgentgatewayBackend, AgentgatewayBackendSpec, AgentgatewayPolicy, AgentgatewayPolicySpec, AllowedRoutes,
    AuthorizationPolicy, BackendPolicy, CrdValueError, Gateway, GatewaySpec, HTTPBackendRef, HTTPPathMatch,
    HTTPRoute, HTTPRouteMatch, HTTPRouteRule, HTTPRouteSpec, LabelSelector, Listener,
    LocalObjectReference, McpAuthorization, McpBackend, McpPolicy, McpTarget, ParentReference,
    PolicyTargetReference, ReferenceGrant, ReferenceGrantFrom, ReferenceGrantSpec, ReferenceGrantTo,
    RouteGroupKind, RouteNamespaces, StaticMcpTarget,
)
from tests import k8s_schema


def as_object(resource_cls, spec) -> dict:
    """The Kubernetes object a resource class would declare for this spec."""
    return {"apiVersion": resource_cls.API_VERSION, "kind": resource_cls.KIND,
            "metadata": {"name": "example", "namespace": "mcp"}, "spec": spec.to_dict()}


def static(name="github", **kwargs) -> McpTarget:
    kwargs.setdefault("host", None if "backendRef" in kwargs else "github.mcp.svc.cluster.local")
    return McpTarget(name=name, static=StaticMcpTarget(port=kwargs.pop("port", 8080), **kwargs))


def backend(*targets, **modes) -> AgentgatewayBackendSpec:
    return AgentgatewayBackendSpec(mcp=McpBackend(targets=list(targets) or [static()], **modes))


def route(*rules, parents=None, **kwargs) -> HTTPRouteSpec:
    rule = HTTPRouteRule(matches=[HTTPRouteMatch(path=HTTPPathMatch(value="/mcp/github"))],
                         backendRefs=[HTTPBackendRef(group="agentgateway.dev", kind="AgentgatewayBackend",
                                                     name="github")])
    return HTTPRouteSpec(parentRefs=parents or [ParentReference(name="mcp-gateway", namespace="agentgateway-system")],
                         rules=list(rules) or [rule], **kwargs)


def gateway(*listeners) -> GatewaySpec:
    return GatewaySpec(gatewayClassName="agentgateway",
                       listeners=list(listeners) or [Listener(name="http", port=80, protocol="HTTP")])


def policy(*refs, action="Deny", expressions=('mcp.tool.name == "delete_repo"',)) -> AgentgatewayPolicySpec:
    refs = list(refs) or [PolicyTargetReference(group="agentgateway.dev", kind="AgentgatewayBackend", name="b")]
    authorization = McpAuthorization(policy=AuthorizationPolicy(matchExpressions=list(expressions)), action=action)
    return AgentgatewayPolicySpec(targetRefs=refs, backend=BackendPolicy(mcp=McpPolicy(authorization=authorization)))


def grant(**kwargs) -> ReferenceGrantSpec:
    return ReferenceGrantSpec(
        from_=kwargs.get("from_") or [ReferenceGrantFrom(group="gateway.networking.k8s.io", kind="HTTPRoute",
                                                         namespace="mcp")],
        to=kwargs.get("to") or [ReferenceGrantTo(group="agentgateway.dev", kind="AgentgatewayBackend")])


VALID: dict[str, tuple[type, Callable[[], object]]] = {
    "backend-host": (AgentgatewayBackend, lambda: backend()),
    "backend-service-ref-sse": (AgentgatewayBackend, lambda: backend(static(
        backendRef=LocalObjectReference(name="github"), port=1, path="/sse", protocol="SSE"))),
    "backend-max-port-ip-host": (AgentgatewayBackend, lambda: backend(static(host="10.0.0.1", port=65535))),
    "backend-modes": (AgentgatewayBackend, lambda: backend(
        static("a"), static("b.c-d"), sessionRouting="Stateless", failureMode="FailOpen", prefixMode="Always")),
    "backend-32-targets": (AgentgatewayBackend, lambda: backend(*(static(f"t{i}") for i in range(32)))),
    "route": (HTTPRoute, lambda: route()),
    "route-exact-regex-hostnames": (HTTPRoute, lambda: route(
        HTTPRouteRule(name="exact", matches=[HTTPRouteMatch(path=HTTPPathMatch(type="Exact", value="/mcp"))],
                      backendRefs=[HTTPBackendRef(name="svc", port=8080, weight=0)]),
        HTTPRouteRule(matches=[HTTPRouteMatch(path=HTTPPathMatch(type="RegularExpression", value="^/m.*"))]),
        hostnames=["mcp.example.com", "*.example.org"])),
    "route-two-sections-of-one-gateway": (HTTPRoute, lambda: route(parents=[
        ParentReference(name="gw", sectionName="http"), ParentReference(name="gw", sectionName="https")])),
    "route-default-match": (HTTPRoute, lambda: route(HTTPRouteRule(
        backendRefs=[HTTPBackendRef(name="b", kind="AgentgatewayBackend", group="agentgateway.dev")]))),
    "gateway": (Gateway, lambda: gateway()),
    "gateway-selector": (Gateway, lambda: gateway(Listener(
        name="http", port=8080, protocol="HTTP", hostname="mcp.example.com",
        allowedRoutes=AllowedRoutes(
            namespaces=RouteNamespaces(from_="Selector",
                                       selector=LabelSelector(matchLabels={"kubernetes.io/metadata.name": "mcp"})),
            kinds=[RouteGroupKind(kind="HTTPRoute")])),
        Listener(name="tcp", port=9000, protocol="TCP"))),
    "gateway-all": (Gateway, lambda: gateway(Listener(name="http", port=80, protocol="HTTP",
                                                      allowedRoutes=AllowedRoutes(namespaces=RouteNamespaces(
                                                          from_="All"))))),
    "policy-deny": (AgentgatewayPolicy, lambda: policy()),
    "policy-allow-route": (AgentgatewayPolicy, lambda: policy(
        PolicyTargetReference(group="gateway.networking.k8s.io", kind="HTTPRoute", name="r"), action="Allow",
        expressions=['mcp.tool.name == "get_repo"', 'mcp.tool.name == "search_issues"'])),
    "policy-require-default-action": (AgentgatewayPolicy, lambda: policy(action=None)),
    "grant": (ReferenceGrant, lambda: grant()),
    "grant-named": (ReferenceGrant, lambda: grant(to=[ReferenceGrantTo(group="", kind="Service", name="github")])),
}


@pytest.mark.parametrize("case", VALID)
def test_valid_specs_render_to_objects_the_crds_accept(case):
    resource_cls, build = VALID[case]
    obj = as_object(resource_cls, build())
    assert k8s_schema.validate_object(obj) == []


def test_to_dict_uses_wire_names_and_omits_unset_fields():
    assert backend(static(backendRef=LocalObjectReference(name="github"))).to_dict() == {
        "mcp": {"targets": [{"name": "github", "static": {"port": 8080, "backendRef": {"name": "github"}}}]}}
    assert RouteNamespaces(from_="All").to_dict() == {"from": "All"}
    assert "from" in grant().to_dict() and "from_" not in grant().to_dict()


def test_specs_are_frozen_and_lists_become_tuples():
    spec = backend()
    assert isinstance(spec.mcp.targets, tuple)
    with pytest.raises(AttributeError):
        spec.mcp.targets = ()  # type: ignore[misc]


def test_outputs_pass_through_unchecked():
    name = pulumi.Output.from_input("anything_goes")
    ref = HTTPBackendRef(name=name, group="agentgateway.dev", kind="AgentgatewayBackend", namespace=name)
    assert ref.to_dict()["name"] is name
    assert LocalObjectReference(name=name).name is name


# (builder, field path in the message, bad value in the message)
INVALID = {
    "target-underscore": (lambda: static("git_hub"), "AgentgatewayBackend spec.mcp.targets[].name", "'git_hub'",
                          "'_' is reserved by agentgateway"),
    "target-uppercase": (lambda: static("GitHub"), "spec.mcp.targets[].name", "'GitHub'", "not a valid target name"),
    "target-plus": (lambda: static("a+b"), "spec.mcp.targets[].name", "'a+b'", "not a valid target name"),
    "target-empty": (lambda: static(""), "spec.mcp.targets[].name", "''", "too short"),
    "target-too-long": (lambda: static("a" * 254), "spec.mcp.targets[].name", "'aaaa", "at most 253"),
    "host-and-ref": (lambda: static(host="h", backendRef=LocalObjectReference(name="s")),
                     "spec.mcp.targets[].static", "'host': 'h'", "exactly one of host | backendRef"),
    "no-host-no-ref": (lambda: StaticMcpTarget(port=80), "spec.mcp.targets[].static", "None",
                       "exactly one of host | backendRef"),
    "target-without-static": (lambda: McpTarget(name="a", static=None), "spec.mcp.targets[].static", "None",
                              "StaticMcpTarget"),
    "port-zero": (lambda: static(port=0), "static.port", "0", "out of range (1..65535)"),
    "port-too-big": (lambda: static(port=65536), "static.port", "65536", "out of range (1..65535)"),
    "port-float": (lambda: static(port=8080.5), "static.port", "8080.5", "not an integer"),
    "port-string": (lambda: static(port="8080"), "static.port", "'8080'", "not an integer"),
    "port-bool": (lambda: static(port=True), "static.port", "True", "not an integer"),
    "path-relative": (lambda: static(path="mcp"), "static.path", "'mcp'", "does not start with '/'"),
    "protocol": (lambda: static(protocol="streamable-http"), "static.protocol", "'streamable-http'",
                 "not one of StreamableHTTP, SSE"),
    "host-too-long": (lambda: static(host="h" * 257), "static.host", "'hhh", "at most 256"),
    "no-targets": (lambda: McpBackend(targets=[]), "spec.mcp.targets", "[]", "at least 1"),
    "33-targets": (lambda: McpBackend(targets=[static(f"t{i}") for i in range(33)]), "spec.mcp.targets",
                   "McpTarget(", "at most 32"),
    "duplicate-targets": (lambda: McpBackend(targets=[static("a"), static("b"), static("a")]),
                          "spec.mcp.targets[2].name", "'a'", "duplicate target name"),
    "target-as-dict": (lambda: McpBackend(targets=[{"name": "a"}]), "spec.mcp.targets[0]", "{'name': 'a'}",
                       "is not a McpTarget"),
    "session-routing": (lambda: McpBackend(targets=[static()], sessionRouting="sticky"),
                        "spec.mcp.sessionRouting", "'sticky'", "not one of Stateful, Stateless"),
    "prefix-mode": (lambda: McpBackend(targets=[static()], prefixMode="always"), "spec.mcp.prefixMode",
                    "'always'", "not one of Always"),
    "service-ref-name": (lambda: LocalObjectReference(name="Git_Hub"), "LocalObjectReference name", "'Git_Hub'",
                         "DNS-1123 subdomain"),
    "route-path-relative": (lambda: HTTPPathMatch(value="mcp/github"), "HTTPRoute spec.rules[].matches[].path.value",
                            "'mcp/github'", "does not start with '/'"),
    "route-path-double-slash": (lambda: HTTPPathMatch(value="/mcp//github"), "path.value", "'/mcp//github'",
                                "must not contain '//'"),
    "route-path-dot-end": (lambda: HTTPPathMatch(value="/mcp/.."), "path.value", "'/mcp/..'", "must not end"),
    "route-path-space": (lambda: HTTPPathMatch(value="/mcp github"), "path.value", "'/mcp github'",
                         "not valid in a path"),
    "route-path-type": (lambda: HTTPPathMatch(type="Prefix", value="/"), "path.type", "'Prefix'",
                        "not one of Exact, PathPrefix, RegularExpression"),
    "route-service-without-port": (lambda: HTTPBackendRef(name="svc"), "backendRefs[].port", "None",
                                   "required for a Service reference"),
    "route-weight": (lambda: HTTPBackendRef(name="b", kind="AgentgatewayBackend", group="agentgateway.dev",
                                            weight=-1), "backendRefs[].weight", "-1", "out of range"),
    "route-group": (lambda: HTTPBackendRef(name="b", kind="AgentgatewayBackend", group="Agentgateway.dev"),
                    "backendRefs[].group", "'Agentgateway.dev'", "valid API group"),
    "route-kind": (lambda: HTTPBackendRef(name="b", kind="agentgateway backend", group="agentgateway.dev"),
                   "backendRefs[].kind", "'agentgateway backend'", "valid kind"),
    "route-namespace": (lambda: ParentReference(name="gw", namespace="Agentgateway_System"),
                        "parentRefs[].namespace", "'Agentgateway_System'", "DNS-1123 label"),
    "route-no-rules": (lambda: route().__class__(parentRefs=[], rules=[]), "HTTPRoute spec.rules", "[]",
                       "at least 1"),
    "route-too-many-matches": (lambda: route(*[HTTPRouteRule(matches=[HTTPRouteMatch()] * 64)] * 3),
                               "HTTPRoute spec.rules", "'192 matches'", "exceeds 128"),
    "route-hostname": (lambda: route(hostnames=["MCP.example.com"]), "spec.hostnames[0]", "'MCP.example.com'",
                       "valid hostname"),
    "route-same-parent-no-section": (lambda: route(parents=[ParentReference(name="gw"), ParentReference(
        name="gw", sectionName="http")]), "parentRefs[0].sectionName", "None", "must be set"),
    "route-same-parent-same-section": (lambda: route(parents=[ParentReference(name="gw", sectionName="http"),
                                                              ParentReference(name="gw", sectionName="http")]),
                                       "parentRefs[1].sectionName", "'http'", "repeated"),
    "listener-port": (lambda: Listener(name="http", port=70000, protocol="HTTP"), "Gateway spec.listeners[].port",
                      "70000", "out of range"),
    "listener-name": (lambda: Listener(name="HTTP", port=80, protocol="HTTP"), "listeners[].name", "'HTTP'",
                      "DNS-1123 subdomain"),
    "listener-protocol": (lambda: Listener(name="http", port=80, protocol="http"), "listeners[].protocol", "'http'",
                          "not one of HTTP"),
    "listener-tcp-hostname": (lambda: Listener(name="t", port=80, protocol="TCP", hostname="a.b"),
                              "listeners[].hostname", "'a.b'", "not allowed for protocol TCP"),
    "listener-from": (lambda: RouteNamespaces(from_="Everywhere"), "allowedRoutes.namespaces.from", "'Everywhere'",
                      "not one of All, Selector, Same"),
    "listener-selector-missing": (lambda: RouteNamespaces(from_="Selector"), "allowedRoutes.namespaces.selector",
                                  "None", "required when from is 'Selector'"),
    "gateway-no-listeners": (lambda: GatewaySpec(gatewayClassName="agentgateway", listeners=[]),
                             "Gateway spec.listeners", "[]", "at least 1"),
    "gateway-class-empty": (lambda: GatewaySpec(gatewayClassName="", listeners=[]),
                            "Gateway spec.gatewayClassName", "''", "too short"),
    "gateway-duplicate-listener": (lambda: gateway(Listener(name="a", port=80, protocol="HTTP"),
                                                   Listener(name="a", port=81, protocol="HTTP")),
                                   "spec.listeners[1].name", "'a'", "duplicate listener name"),
    "gateway-duplicate-port": (lambda: gateway(Listener(name="a", port=80, protocol="HTTP"),
                                               Listener(name="b", port=80, protocol="HTTP")),
                               "spec.listeners[1]", "(80, 'HTTP', None)", "repeats the port"),
    "policy-section-on-backend": (lambda: policy(PolicyTargetReference(
        group="agentgateway.dev", kind="AgentgatewayBackend", name="b", sectionName="github")),
        "AgentgatewayPolicy spec.targetRefs[0].sectionName", "'github'", "not allowed for a backend.mcp policy"),
    "policy-on-service": (lambda: policy(PolicyTargetReference(group="", kind="Service", name="s")),
                          "spec.targetRefs[0].kind", "'Service'", "cannot be targeted by a backend.mcp policy"),
    "policy-mixed-kinds": (lambda: policy(
        PolicyTargetReference(group="gateway.networking.k8s.io", kind="HTTPRoute", name="r"),
        PolicyTargetReference(group="agentgateway.dev", kind="AgentgatewayBackend", name="b")),
        "spec.targetRefs[1].kind", "'AgentgatewayBackend'", "one kind per policy"),
    "policy-wrong-group": (lambda: PolicyTargetReference(group="gateway.networking.k8s.io",
                                                         kind="AgentgatewayBackend", name="b"),
                           "targetRefs[].group", "'gateway.networking.k8s.io'", "not the group of kind"),
    "policy-unknown-kind": (lambda: PolicyTargetReference(group="apps", kind="Deployment", name="d"),
                            "targetRefs[].kind", "'Deployment'", "not one of Service"),
    "policy-action": (lambda: policy(action="allow"), "authorization.action", "'allow'", "not one of Allow"),
    "policy-no-expressions": (lambda: policy(expressions=()), "policy.matchExpressions", "[]", "at least 1"),
    "policy-empty-expression": (lambda: policy(expressions=("",)), "matchExpressions[0]", "''", "too short"),
    "grant-namespace": (lambda: ReferenceGrantFrom(group="gateway.networking.k8s.io", kind="HTTPRoute",
                                                   namespace="MCP"), "ReferenceGrant spec.from[].namespace",
                        "'MCP'", "DNS-1123 label"),
    "grant-empty-to": (lambda: ReferenceGrantSpec(from_=grant().from_, to=[]),
                       "ReferenceGrant spec.to", "[]", "at least 1"),
}


@pytest.mark.parametrize("case", INVALID)
def test_impossible_values_raise_naming_field_and_value(case):
    build, path, value, problem = INVALID[case]
    with pytest.raises(CrdValueError) as caught:
        build()
    message = str(caught.value)
    assert path in message.split(": ")[0], message
    assert value in message, message
    assert problem in message, message
    assert isinstance(caught.value, ValueError)


def test_error_message_of_the_issue_example():
    with pytest.raises(ValueError, match=re.escape(
            "AgentgatewayBackend spec.mcp.targets[].name: 'git_hub' is not a valid target name "
            "(lowercase letters, digits, '-' and '.'; '_' is reserved by agentgateway)")):
        McpTarget(name="git_hub", static=StaticMcpTarget(host="github", port=8080))
