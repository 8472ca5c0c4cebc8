"""The hardened Kubernetes workload shared by every MCP server type (code file or container image).

One place for the pod/container hardening (restricted Pod Security Standard: non-root with a numeric UID, no
privilege escalation, all capabilities dropped, read-only root filesystem, RuntimeDefault seccomp, no service
account token), the container env, the rolling Deployment and the MCP Service in front of it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Union

import pulumi
import pulumi_kubernetes as k8s

from .availability import spread_constraints
from .config import PORT_ENV
from .labels import PART_OF

# Streamable HTTP (agentgateway v1.4.1 controller `pkg/syncer/backend/mcp.go`: the MCP appProtocol values)
MCP_APP_PROTOCOL = "agentgateway.dev/mcp"
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


@dataclass(frozen=True)
class ProbeHandler:
    """How a probe checks the server: an HTTP GET on a path, or (path None) a TCP connect, on the MCP port."""

    http_path: Optional[str] = None

    def probe(self, *, period_seconds: int, timeout_seconds: int, failure_threshold: int,
              initial_delay_seconds: Optional[int] = None) -> k8s.core.v1.ProbeArgs:
        """A probe with this handler and the given timing (None: the Kubernetes default)."""
        http = None if self.http_path is None else k8s.core.v1.HTTPGetActionArgs(path=self.http_path, port=PORT_NAME)
        tcp = k8s.core.v1.TCPSocketActionArgs(port=PORT_NAME) if self.http_path is None else None
        return k8s.core.v1.ProbeArgs(http_get=http, tcp_socket=tcp, period_seconds=period_seconds,
                                     timeout_seconds=timeout_seconds, failure_threshold=failure_threshold,
                                     initial_delay_seconds=initial_delay_seconds)


def server_container(image: str, port: int, env: Mapping[str, EnvValue], resources: Mapping[str, Any],
                     handler: ProbeHandler, volume_mounts: Sequence[k8s.core.v1.VolumeMountArgs], *,
                     command: Optional[Sequence[str]] = None, args: Optional[Sequence[str]] = None,
                     startup_probe: Optional[k8s.core.v1.ProbeArgs] = None) -> k8s.core.v1.ContainerArgs:
    """The one container of a server pod (code or image): PORT plus `env`, the MCP port, readiness and liveness
    probes with `handler`, `resources` ({"requests": ..., "limits": ...}) and the container hardening."""
    return k8s.core.v1.ContainerArgs(
        name="server",
        image=image,
        command=list(command) if command is not None else None,
        args=list(args) if args is not None else None,
        env=env_vars({PORT_ENV: str(port), **env}),
        ports=[k8s.core.v1.ContainerPortArgs(name=PORT_NAME, container_port=port, protocol="TCP")],
        startup_probe=startup_probe,
        readiness_probe=handler.probe(period_seconds=5, timeout_seconds=2, failure_threshold=3),
        liveness_probe=handler.probe(initial_delay_seconds=5, period_seconds=10, timeout_seconds=2,
                                     failure_threshold=3),
        resources=k8s.core.v1.ResourceRequirementsArgs(requests=dict(resources["requests"]),
                                                       limits=dict(resources["limits"])),
        security_context=container_security_context(),
        volume_mounts=list(volume_mounts),
    )


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
