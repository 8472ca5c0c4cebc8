"""The Pulumi resource classes of the custom resources, run under Pulumi mocks: type tokens, the inputs sent
(which validate against the real CRDs), and what they refuse."""
from __future__ import annotations

import pulumi
import pytest
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs

from components.crds import (
    AgentgatewayBackend, AgentgatewayBackendSpec, AgentgatewayParameters, AgentgatewayPolicy, AgentgatewayPolicySpec, AuthorizationPolicy,
    BackendPolicy, CrdValueError, Gateway, GatewaySpec, HTTPBackendRef, HTTPPathMatch, HTTPRoute, HTTPRouteMatch,
    HTTPRouteRule, HTTPRouteSpec, Listener, LocalObjectReference, McpAuthorization, McpBackend, McpPolicy, McpTarget,
    ParentReference, PolicyTargetReference, ReferenceGrant, ReferenceGrantFrom, ReferenceGrantSpec, ReferenceGrantTo,
    StaticMcpTarget,
)
from tests.k8s_schema import assert_valid
from tests.pulumi_mocks import mocks, run_declarations  # noqa: F401  (fixture)

BACKEND_SPEC = AgentgatewayBackendSpec(mcp=McpBackend(targets=[McpTarget(
    name="github", static=StaticMcpTarget(backendRef=LocalObjectReference(name="github"), port=8080,
                                          path="/mcp", protocol="StreamableHTTP"))]))


def declare_all():
    meta = {"namespace": "mcp"}
    AgentgatewayBackend("backend", metadata={**meta, "name": "github"}, spec=BACKEND_SPEC)
    HTTPRoute("route", metadata=ObjectMetaArgs(name="github", namespace="mcp"), spec=HTTPRouteSpec(
        parentRefs=[ParentReference(name="mcp-gateway", namespace="agentgateway-system", sectionName="http")],
        rules=[HTTPRouteRule(matches=[HTTPRouteMatch(path=HTTPPathMatch(value="/mcp/github"))],
                             backendRefs=[HTTPBackendRef(group="agentgateway.dev", kind="AgentgatewayBackend",
                                                         name="github")])]))
    Gateway("gateway", metadata={"name": "mcp-gateway", "namespace": "agentgateway-system"},
            spec=GatewaySpec(gatewayClassName="agentgateway", listeners=[Listener(name="http", port=80,
                                                                                  protocol="HTTP")]))
    ReferenceGrant("grant", metadata={**meta, "name": "from-other"}, spec=ReferenceGrantSpec(
        from_=[ReferenceGrantFrom(group="gateway.networking.k8s.io", kind="HTTPRoute", namespace="other")],
        to=[ReferenceGrantTo(group="agentgateway.dev", kind="AgentgatewayBackend", name="github")]))
    AgentgatewayPolicy("policy", metadata={**meta, "name": "deny-delete"}, spec=AgentgatewayPolicySpec(
        targetRefs=[PolicyTargetReference(group="agentgateway.dev", kind="AgentgatewayBackend", name="github")],
        backend=BackendPolicy(mcp=McpPolicy(authorization=McpAuthorization(
            action="Deny", policy=AuthorizationPolicy(matchExpressions=['mcp.tool.name == "delete_repo"']))))))


def test_each_kind_registers_with_its_token_and_valid_inputs(mocks):  # noqa: F811
    declared = run_declarations(mocks, declare_all)
    tokens = sorted(r.typ for r in declared.kubernetes_objects())
    assert tokens == sorted([
        "kubernetes:agentgateway.dev/v1alpha1:AgentgatewayBackend",
        "kubernetes:agentgateway.dev/v1alpha1:AgentgatewayPolicy",
        "kubernetes:gateway.networking.k8s.io/v1:Gateway",
        "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
        "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant",
    ])
    for resource in declared.kubernetes_objects():
        assert_valid(resource.inputs)  # floats from the mocks are normalised inside
    backend = declared.one("kubernetes:agentgateway.dev/v1alpha1:AgentgatewayBackend", "backend")
    assert backend.inputs["spec"]["mcp"]["targets"][0]["static"]["backendRef"] == {"name": "github"}
    assert backend.inputs["metadata"] == {"name": "github", "namespace": "mcp"}


def test_type_token_matches_the_registered_type():
    assert AgentgatewayBackend.type_token() == "kubernetes:agentgateway.dev/v1alpha1:AgentgatewayBackend"
    assert HTTPRoute.type_token() == "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"


def test_output_names_reach_the_inputs(mocks):  # noqa: F811
    def declare():
        backend = AgentgatewayBackend("backend", metadata={"namespace": "mcp"}, spec=BACKEND_SPEC)
        HTTPRoute("route", metadata={"namespace": "mcp"}, spec=HTTPRouteSpec(
            parentRefs=[ParentReference(name="gw")],
            rules=[HTTPRouteRule(backendRefs=[HTTPBackendRef(group="agentgateway.dev", kind="AgentgatewayBackend",
                                                             name=backend.metadata["name"])])]))
    declared = run_declarations(mocks, declare)
    route = declared.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "route")
    assert route.inputs["spec"]["rules"][0]["backendRefs"][0]["name"] == "backend-1a2b3c4d"


def test_a_plain_dict_spec_is_refused(mocks):  # noqa: F811
    with pytest.raises(TypeError, match="AgentgatewayBackend 'b': spec must be a AgentgatewayBackendSpec, got dict"):
        AgentgatewayBackend("b", metadata={"name": "b"}, spec=BACKEND_SPEC.to_dict())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="spec must be a HTTPRouteSpec, got AgentgatewayBackendSpec"):
        HTTPRoute("r", spec=BACKEND_SPEC)  # type: ignore[arg-type]


@pytest.mark.parametrize("metadata, message", [
    ({"name": "GitHub"}, "AgentgatewayBackend metadata.name: 'GitHub' is not a valid DNS-1123 subdomain"),
    ({"name": "a_b"}, "metadata.name: 'a_b' is not"),
    (ObjectMetaArgs(name="ok", namespace="MCP"), "AgentgatewayBackend metadata.namespace: 'MCP' is not a valid DNS-1123 label"),
    ({"name": "ok", "namespace": "n" * 64}, "metadata.namespace: 'nnnn"),
])
def test_impossible_metadata_is_refused(mocks, metadata, message):  # noqa: F811
    with pytest.raises(CrdValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        AgentgatewayBackend("b", metadata=metadata, spec=BACKEND_SPEC)


def test_typed_spec_is_kept_on_the_resource(mocks):  # noqa: F811
    kept = {}

    def declare():
        kept["backend"] = AgentgatewayBackend("b", metadata={"name": "b", "namespace": "mcp"}, spec=BACKEND_SPEC)
        return {"urn": kept["backend"].urn}

    run_declarations(mocks, declare)
    assert kept["backend"].typed_spec is BACKEND_SPEC
    assert isinstance(kept["backend"], pulumi.CustomResource)


def test_each_kind_states_its_api_group_once():
    """References (parentRefs, backendRefs, targetRefs) take the group from the class, derived from apiVersion."""
    assert [(cls.GROUP, cls.KIND) for cls in (AgentgatewayBackend, AgentgatewayPolicy, AgentgatewayParameters,
                                              Gateway, HTTPRoute, ReferenceGrant)] == [
        ("agentgateway.dev", "AgentgatewayBackend"), ("agentgateway.dev", "AgentgatewayPolicy"),
        ("agentgateway.dev", "AgentgatewayParameters"), ("gateway.networking.k8s.io", "Gateway"),
        ("gateway.networking.k8s.io", "HTTPRoute"), ("gateway.networking.k8s.io", "ReferenceGrant")]
