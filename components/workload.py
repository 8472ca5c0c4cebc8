"""The hardened Kubernetes workload shared by every MCP server type (code file or container image).

One place for the pod/container hardening (restricted Pod Security Standard: non-root with a numeric UID, no
privilege escalation, all capabilities dropped, read-only root filesystem, RuntimeDefault seccomp, no service
account token), the container env, the rolling Deployment and the MCP Service in front of it.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence, Union

import pulumi
import pulumi_kubernetes as k8s

from .availability import spread_constraints
from .labels import PART_OF

MCP_APP_PROTOCOL = "agentgateway.dev/mcp"  # Streamable HTTP, agentgateway v1.4 (research §3)
PORT_NAME = "http"
# Numeric, so the kubelet can verify runAsNonRoot (a user *name* in an image cannot be checked); 65532 is the
# conventional "nonroot" UID of distroless images. python:*-slim images default to root, hence an explicit UID.
RUN_AS_USER = 65532

EnvValue = Union[str, k8s.core.v1.EnvVarSourceArgs]


def server_labels(name: str) -> dict[str, str]:
    """The selector labels of a server's pods (also on its other objects)."""
    return {"app.kubernetes.io/name": name, **PART_OF}


def env_vars(env: Mapping[str, EnvValue]) -> list[k8s.core.v1.EnvVarArgs]:
    """Container env entries: a plain string value, or a source such as a Secret key."""
    return [k8s.core.v1.EnvVarArgs(name=key, value=value) if isinstance(value, str)
            else k8s.core.v1.EnvVarArgs(name=key, value_from=value) for key, value in env.items()]


def server_probes(handler: Mapping[str, object]) -> dict[str, k8s.core.v1.ProbeArgs]:
    """Readiness and liveness probes (ContainerArgs keyword arguments) with one handler, e.g.
    `{"http_get": HTTPGetActionArgs(...)}` or `{"tcp_socket": TCPSocketActionArgs(...)}`."""
    return {"readiness_probe": k8s.core.v1.ProbeArgs(**handler, period_seconds=5, timeout_seconds=2,
                                                     failure_threshold=3),
            "liveness_probe": k8s.core.v1.ProbeArgs(**handler, initial_delay_seconds=5, period_seconds=10,
                                                    timeout_seconds=2, failure_threshold=3)}


def container_security_context() -> k8s.core.v1.SecurityContextArgs:
    """The container half of the hardening: non-root, read-only root filesystem, no escalation, no capabilities."""
    return k8s.core.v1.SecurityContextArgs(
        run_as_non_root=True, read_only_root_filesystem=True, allow_privilege_escalation=False,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]))


def hardened_pod_spec(containers: Sequence[k8s.core.v1.ContainerArgs], volumes: Sequence[k8s.core.v1.VolumeArgs],
                      run_as_user: int = RUN_AS_USER) -> k8s.core.v1.PodSpecArgs:
    """The pod half of the hardening: a numeric non-root UID/GID, RuntimeDefault seccomp, no API token."""
    return k8s.core.v1.PodSpecArgs(
        automount_service_account_token=False,
        security_context=k8s.core.v1.PodSecurityContextArgs(
            run_as_non_root=True, run_as_user=run_as_user, run_as_group=run_as_user,
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")),
        containers=list(containers),
        volumes=list(volumes),
    )


def server_deployment(name: str, namespace: pulumi.Input[str], replicas: int, pod_spec: k8s.core.v1.PodSpecArgs,
                      opts: Optional[pulumi.ResourceOptions] = None) -> k8s.apps.v1.Deployment:
    """A Deployment of `replicas` pods labelled `server_labels(name)`, rolled one surge pod at a time; replicated
    pods spread over zones and nodes (components/availability.py)."""
    labels = server_labels(name)
    if replicas > 1:
        pulumi.set(pod_spec, "topology_spread_constraints", spread_constraints(labels))
    return k8s.apps.v1.Deployment(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=labels),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=replicas,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
            strategy=k8s.apps.v1.DeploymentStrategyArgs(
                type="RollingUpdate",
                rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_surge=1, max_unavailable=0)),
            template=k8s.core.v1.PodTemplateSpecArgs(metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                                                     spec=pod_spec)),
        opts=opts)


def mcp_service(name: str, namespace: pulumi.Input[str], port: int,
                opts: Optional[pulumi.ResourceOptions] = None) -> k8s.core.v1.Service:
    """The ClusterIP Service of a server's pods: one MCP (Streamable HTTP) port to the container port `http`."""
    labels = server_labels(name)
    return k8s.core.v1.Service(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=labels),
        spec=k8s.core.v1.ServiceSpecArgs(
            type="ClusterIP",
            selector=labels,
            ports=[k8s.core.v1.ServicePortArgs(name=PORT_NAME, port=port, target_port=PORT_NAME,
                                               protocol="TCP", app_protocol=MCP_APP_PROTOCOL)]),
        opts=opts)
