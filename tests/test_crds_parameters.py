"""AgentgatewayParameters and Gateway.spec.infrastructure (issue 5, gateway exposure): typed classes render to objects
the real CRDs accept, refuse impossible values, and the program wires gateway.serviceType through them."""
from __future__ import annotations

import pytest

from components.crds import (
    AgentgatewayParameters,
    AgentgatewayParametersSpec,
    CrdValueError,
    GatewayInfrastructure,
    GatewaySpec,
    Listener,
    LocalParametersReference,
    ServiceOverlay,
    ServiceSpecOverlay,
)
from tests.k8s_schema import assert_valid, validate_object
from tests.pulumi_mocks import cli_config, mocks, run_program  # noqa: F401 (fixture)
from tests.resource_types import GATEWAY, PARAMETERS



def _parameters_object(spec: dict) -> dict:
    return {"apiVersion": AgentgatewayParameters.API_VERSION, "kind": AgentgatewayParameters.KIND,
            "metadata": {"name": "mcp-gateway", "namespace": "agentgateway-system"}, "spec": spec}


@pytest.mark.parametrize("service_type", ["ClusterIP", "LoadBalancer", "NodePort"])
def test_parameters_render_to_crd_valid_objects(service_type):
    spec = AgentgatewayParametersSpec(service=ServiceOverlay(spec=ServiceSpecOverlay(type=service_type)))
    assert spec.to_dict() == {"service": {"spec": {"type": service_type}}}
    assert_valid(_parameters_object(spec.to_dict()))


def test_the_crd_check_rejects_a_wrong_shape():
    """The Service type sits in the strategic-merge overlay `service.spec`, not directly under `service`."""
    assert validate_object(_parameters_object({"service": {"type": "LoadBalancer"}}))


def test_gateway_infrastructure_renders_to_a_crd_valid_gateway():
    spec = GatewaySpec(gatewayClassName="agentgateway", listeners=[Listener(name="http", port=80, protocol="HTTP")],
                       infrastructure=GatewayInfrastructure(parametersRef=LocalParametersReference(
                           group="agentgateway.dev", kind="AgentgatewayParameters", name="mcp-gateway")))
    assert spec.to_dict()["infrastructure"] == {"parametersRef": {
        "group": "agentgateway.dev", "kind": "AgentgatewayParameters", "name": "mcp-gateway"}}
    assert_valid({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                  "metadata": {"name": "mcp-gateway", "namespace": "agentgateway-system"}, "spec": spec.to_dict()})


@pytest.mark.parametrize("build, field", [
    (lambda: ServiceSpecOverlay(type="Ingress"), "AgentgatewayParameters spec.service.spec.type"),
    (lambda: ServiceOverlay(spec={"type": "LoadBalancer"}), "AgentgatewayParameters spec.service.spec"),
    (lambda: AgentgatewayParametersSpec(service={"spec": {}}), "AgentgatewayParameters spec.service"),
    (lambda: LocalParametersReference(group="Agent_Gateway", kind="AgentgatewayParameters", name="x"),
     "Gateway spec.infrastructure.parametersRef.group"),
    (lambda: LocalParametersReference(group="agentgateway.dev", kind="AgentgatewayParameters", name=""),
     "Gateway spec.infrastructure.parametersRef.name"),
    (lambda: GatewayInfrastructure(parametersRef={"name": "x"}), "Gateway spec.infrastructure.parametersRef"),
])
def test_impossible_values_name_the_field(build, field):
    with pytest.raises(CrdValueError) as caught:
        build()
    assert caught.value.path == field


def test_program_exposes_the_created_gateway_as_configured(mocks):
    # An exposed gateway without authentication must say so (auth.allowAnonymous; tests/test_auth_config.py).
    declared = run_program(mocks, cli_config("dev", {"mcp-federation:gateway": {"serviceType": "LoadBalancer"},
                                                     "mcp-federation:auth": {"allowAnonymous": True}}))
    parameters = declared.one(PARAMETERS, "mcp-gateway-parameters").inputs
    gateway = declared.one(GATEWAY, "mcp-gateway").inputs
    assert_valid(parameters)
    assert_valid(gateway)
    assert parameters["spec"] == {"service": {"spec": {"type": "LoadBalancer"}}}
    assert gateway["spec"]["infrastructure"]["parametersRef"]["name"] == parameters["metadata"]["name"]
    assert declared.parent_type(declared.one(PARAMETERS, "mcp-gateway-parameters")) == \
        "mcpfederation:components:McpFederation"
