"""McpNetworkPolicies: nothing may connect to pods in the servers' namespace, except the Gateway's data-plane pods
to each MCP server's port.

The data-plane pods are the ones agentgateway's deployer creates for the Gateway. They carry the label
`gateway.networking.k8s.io/gateway-name: <Gateway name>` (over 63 characters: shortened as below). Checked
in agentgateway v1.4.1: the proxy chart's pod selector labels are defined in
`controller/pkg/helm/agentgateway/templates/_helpers.tpl` (`kgateway.gateway.selectorLabels`, with
`kgateway.gateway.safeLabelValue`) and used by `deployment.yaml` next to it; the deployer passes the Gateway's name
(`controller/pkg/deployer/agentgateway_parameters.go`, which has the same `safeLabelValue`); the docs select the
proxy pods the same way (`kubectl logs -l gateway.networking.k8s.io/gateway-name=agentgateway-proxy`). The e2e
job (.github/workflows/e2e.yml) runs it on a cluster.

Kubelet probes come from the pod's node, which a NetworkPolicy always admits.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from .labels import NAMESPACE_NAME_LABEL, PART_OF
from .workload import server_labels

GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"


def gateway_label_value(gateway_name: str) -> str:
    """The value agentgateway puts in GATEWAY_NAME_LABEL: the name, or for names over 63 characters the first
    50 (without a trailing '-'), '-' and 12 hex digits of its SHA-256 (agentgateway's `safeLabelValue`)."""
    if len(gateway_name) <= 63:
        return gateway_name
    digest = hashlib.sha256(gateway_name.encode()).hexdigest()[:12]
    return f"{gateway_name[:50].removesuffix('-')}-{digest}"


@dataclass(frozen=True)
class McpNetworkPoliciesArgs:
    """The servers' namespace, the Gateway whose data plane may connect, and each server's MCP port by name."""

    namespace: pulumi.Input[str]
    gateway_name: str
    gateway_namespace: str
    server_ports: Mapping[str, int]


class McpNetworkPolicies(pulumi.ComponentResource):
    """A default-deny ingress NetworkPolicy for the namespace and one allow policy per server."""

    def __init__(self, name: str, args: McpNetworkPoliciesArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mcpfederation:components:McpNetworkPolicies", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.default_deny = k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="default-deny-ingress", namespace=args.namespace, labels=PART_OF),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                                                         policy_types=["Ingress"]),
            opts=child)
        data_plane = k8s.networking.v1.NetworkPolicyPeerArgs(
            namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                match_labels={NAMESPACE_NAME_LABEL: args.gateway_namespace}),
            pod_selector=k8s.meta.v1.LabelSelectorArgs(
                match_labels={GATEWAY_NAME_LABEL: gateway_label_value(args.gateway_name)}))
        self.allow: dict[str, k8s.networking.v1.NetworkPolicy] = {}
        for server, port in args.server_ports.items():
            self.allow[server] = k8s.networking.v1.NetworkPolicy(
                f"{server}-from-gateway",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{server}-from-gateway", namespace=args.namespace,
                                                    labels=PART_OF),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=server_labels(server)),
                    policy_types=["Ingress"],
                    ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[data_plane],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol="TCP", port=port)])]),
                opts=child)
        self.register_outputs({"policies": [self.default_deny.metadata.name]
                               + [policy.metadata.name for policy in self.allow.values()]})
