"""NetworkPolicies (issue 6): everything into the servers' namespace is denied except the Gateway's data-plane pods
to each server's MCP port. The declared policies are schema-checked (Kubernetes 1.33) and evaluated with a small
model of NetworkPolicy ingress semantics against the pods the program declares."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest

from components.network_policy import GATEWAY_NAME_LABEL, gateway_label_value
from tests.k8s_schema import assert_valid, normalize_numbers
from tests.pulumi_mocks import Declared, cli_config, mocks, run_program  # noqa: F401 (fixture)
from tests.resource_types import DEPLOYMENT, NETWORK_POLICY

GATEWAY_NS = "agentgateway-system"


@dataclass(frozen=True)
class Pod:
    """A pod as NetworkPolicy sees it: its namespace (with its labels) and its own labels."""

    namespace: str
    labels: dict

    @property
    def namespace_labels(self) -> dict:
        return {"kubernetes.io/metadata.name": self.namespace}


def _selects(selector: dict, labels: dict) -> bool:
    assert set(selector) <= {"matchLabels"}, selector  # the program uses matchLabels only
    return all(labels.get(key) == value for key, value in (selector.get("matchLabels") or {}).items())


def _peer_matches(peer: dict, source: Pod, policy_namespace: str) -> bool:
    if "namespaceSelector" in peer and not _selects(peer["namespaceSelector"], source.namespace_labels):
        return False
    if "namespaceSelector" not in peer and source.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or _selects(peer["podSelector"], source.labels)


def ingress_allowed(policies: list[dict], source: Pod, destination: Pod, port: int) -> bool:
    """NetworkPolicy ingress: a pod selected by any Ingress policy admits only what one of them allows."""
    selecting = [p for p in policies if p["metadata"]["namespace"] == destination.namespace
                 and "Ingress" in p["spec"]["policyTypes"] and _selects(p["spec"]["podSelector"], destination.labels)]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress") or []:
            peers_ok = not rule.get("from") or any(_peer_matches(peer, source, destination.namespace)
                                                   for peer in rule["from"])
            ports_ok = not rule.get("ports") or any(p.get("port") == port and p.get("protocol", "TCP") == "TCP"
                                                    for p in rule["ports"])
            if peers_ok and ports_ok:
                return True
    return False


@pytest.fixture
def dev(mocks) -> Declared:
    return run_program(mocks, cli_config("dev"))


def _policies(declared: Declared) -> list[dict]:
    return [normalize_numbers(r.inputs) for r in declared.of_type(NETWORK_POLICY)]


def test_policies_validate_against_the_kubernetes_schema(dev):
    policies = dev.of_type(NETWORK_POLICY)
    assert sorted(r.inputs["metadata"]["name"] for r in policies) == \
        ["default-deny-ingress", "everything-from-gateway", "fetch-from-gateway", "github-from-gateway",
         "slack-from-gateway"]
    for policy in policies:
        assert_valid(policy.inputs)
        assert policy.inputs["metadata"]["namespace"] == "mcp"


def test_default_deny_selects_every_pod_and_allows_nothing(dev):
    (deny,) = [p for p in _policies(dev) if p["metadata"]["name"] == "default-deny-ingress"]
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}


def test_only_the_gateway_data_plane_reaches_each_server_on_its_mcp_port(dev):
    policies = _policies(dev)
    data_plane = Pod(GATEWAY_NS, {GATEWAY_NAME_LABEL: "mcp-gateway", "app.kubernetes.io/name": "mcp-gateway"})
    for deployment in dev.of_type(DEPLOYMENT):
        spec = normalize_numbers(deployment.inputs)["spec"]
        server = Pod("mcp", spec["template"]["metadata"]["labels"])
        port = spec["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
        assert ingress_allowed(policies, data_plane, server, port), deployment.name
        assert not ingress_allowed(policies, data_plane, server, port + 1)          # another port
        assert not ingress_allowed(policies, Pod("mcp", {"app.kubernetes.io/name": "other"}), server, port)
        assert not ingress_allowed(policies, Pod("mcp", server.labels), server, port)  # a server pod itself
        assert not ingress_allowed(policies, Pod("default", data_plane.labels), server, port)  # label, wrong ns
        assert not ingress_allowed(policies, Pod(GATEWAY_NS, {GATEWAY_NAME_LABEL: "other-gateway"}), server, port)
        assert not ingress_allowed(policies, Pod(GATEWAY_NS, {"app": "agentgateway"}), server, port)


def test_the_model_admits_everything_without_policies():
    """The evaluator above can say yes: unselected pods are not isolated."""
    pod = Pod("mcp", {"a": "b"})
    assert ingress_allowed([], Pod("x", {}), pod, 1)


def test_policies_follow_the_configured_gateway_and_ports(mocks):
    declared = run_program(mocks, cli_config("dev", {
        "mcp-federation:gateway": {"create": False, "name": "shared", "namespace": "gateways", "port": 8080},
        "mcp-federation:servers": [{"name": "github", "port": 9090}]}))
    (allow,) = [p for p in _policies(declared) if p["metadata"]["name"] == "github-from-gateway"]
    assert allow["spec"]["ingress"] == [{
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateways"}},
                  "podSelector": {"matchLabels": {GATEWAY_NAME_LABEL: "shared"}}}],
        "ports": [{"protocol": "TCP", "port": 9090}]}]
    assert allow["spec"]["podSelector"] == {"matchLabels": declared.one(DEPLOYMENT, "github").inputs[
        "spec"]["template"]["metadata"]["labels"]}


def test_long_gateway_names_get_agentgateways_shortened_label_value():
    name = "a" * 49 + "-" + "b" * 20
    expected = "a" * 49 + "-" + hashlib.sha256(name.encode()).hexdigest()[:12]
    assert gateway_label_value(name) == expected and len(expected) <= 63
    assert gateway_label_value("mcp-gateway") == "mcp-gateway"
    assert gateway_label_value("x" * 63) == "x" * 63


def test_the_label_citation_names_the_file_that_defines_it():
    """agentgateway v1.4.1 defines `kgateway.gateway.selectorLabels` in the proxy chart's _helpers.tpl under
    controller/pkg/helm/ (git ls-tree v1.4.1); the earlier citation named a path that does not exist there."""
    import components.network_policy as network_policy

    doc = network_policy.__doc__
    assert "controller/pkg/helm/agentgateway/templates/_helpers.tpl" in doc
    assert "kgateway.gateway.selectorLabels" in doc
    assert "controller/pkg/kgateway/helm" not in doc
