"""McpServer: one MCP server on Kubernetes (ConfigMap with its code, Deployment, Service)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Mapping, Optional, Union

import pulumi
import pulumi_kubernetes as k8s

from .config import CORE_FILE, DEFAULT_RESOURCES

MCP_APP_PROTOCOL = "agentgateway.dev/mcp"  # Streamable HTTP, agentgateway v1.4 (research §3)
PORT_NAME = "http"
CODE_MOUNT = "/app"
HEALTH_PATH = "/healthz"
RUN_AS_USER = 65532  # numeric, so the kubelet can verify runAsNonRoot; python:*-slim images default to root


def server_labels(name: str) -> dict[str, str]:
    """The selector labels of a server's pods (also on its ConfigMap, Deployment and Service)."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "mcp-federation"}


def code_config_map_name(name: str, code: Mapping[str, str]) -> str:
    """Content-addressed ConfigMap name: a code change gives a new name, so the pod template changes and the
    Deployment rolls out; the new ConfigMap exists before the old one is deleted (no same-name replace)."""
    digest = hashlib.sha256()
    for file_name in sorted(code):
        digest.update(file_name.encode() + b"\0" + code[file_name].encode() + b"\0")
    return f"{name}-code-{digest.hexdigest()[:10]}"


@dataclass(frozen=True)
class McpServerArgs:
    """Inputs of an McpServer. `code` maps file names to sources: the shared core and `code_file`."""

    namespace: pulumi.Input[str]
    image: str
    code_file: str
    code: Mapping[str, str]
    port: int = 8080
    replicas: int = 1
    resources: Mapping = field(default_factory=lambda: DEFAULT_RESOURCES)
    # Extra container env: a plain value, or a source such as a Secret key (e.g. MCP_SESSION_KEY for replicas > 1).
    env: Mapping[str, Union[str, k8s.core.v1.EnvVarSourceArgs]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = sorted({CORE_FILE, self.code_file} - set(self.code))
        if missing:
            raise ValueError(f"McpServerArgs.code: missing {', '.join(missing)}")
        reserved = sorted({"PORT", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"} & set(self.env))
        if reserved:
            raise ValueError(f"McpServerArgs.env: {', '.join(reserved)} are set by the component")


def _container(args: McpServerArgs) -> k8s.core.v1.ContainerArgs:
    probe = {"http_get": k8s.core.v1.HTTPGetActionArgs(path=HEALTH_PATH, port=PORT_NAME)}
    env = {"PORT": str(args.port), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", **args.env}
    return k8s.core.v1.ContainerArgs(
        name="server",
        image=args.image,
        command=["python", f"{CODE_MOUNT}/{args.code_file}"],
        env=[k8s.core.v1.EnvVarArgs(name=key, value=value) if isinstance(value, str)
             else k8s.core.v1.EnvVarArgs(name=key, value_from=value) for key, value in env.items()],
        ports=[k8s.core.v1.ContainerPortArgs(name=PORT_NAME, container_port=args.port, protocol="TCP")],
        readiness_probe=k8s.core.v1.ProbeArgs(**probe, period_seconds=5, timeout_seconds=2, failure_threshold=3),
        liveness_probe=k8s.core.v1.ProbeArgs(**probe, initial_delay_seconds=5, period_seconds=10,
                                             timeout_seconds=2, failure_threshold=3),
        resources=k8s.core.v1.ResourceRequirementsArgs(requests=dict(args.resources["requests"]),
                                                       limits=dict(args.resources["limits"])),
        security_context=k8s.core.v1.SecurityContextArgs(
            run_as_non_root=True, read_only_root_filesystem=True, allow_privilege_escalation=False,
            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"])),
        volume_mounts=[k8s.core.v1.VolumeMountArgs(name="code", mount_path=CODE_MOUNT, read_only=True)],
    )


class McpServer(pulumi.ComponentResource):
    """A ConfigMap with the server's code, a Deployment running it, and a Service in front of it."""

    service_name: pulumi.Output[str]
    port: int

    def __init__(self, name: str, args: McpServerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mcpfederation:components:McpServer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = server_labels(name)
        self.config_map = k8s.core.v1.ConfigMap(
            f"{name}-code",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=code_config_map_name(name, args.code),
                                                namespace=args.namespace, labels=labels),
            data=dict(args.code),
            immutable=True,
            opts=child)
        self.deployment = k8s.apps.v1.Deployment(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=args.replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_surge=1, max_unavailable=0)),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        automount_service_account_token=False,
                        security_context=k8s.core.v1.PodSecurityContextArgs(
                            run_as_non_root=True, run_as_user=RUN_AS_USER, run_as_group=RUN_AS_USER,
                            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")),
                        containers=[_container(args)],
                        volumes=[k8s.core.v1.VolumeArgs(
                            name="code",
                            config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=self.config_map.metadata.name))],
                    )),
            ),
            opts=child)
        self.service = k8s.core.v1.Service(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=labels,
                ports=[k8s.core.v1.ServicePortArgs(name=PORT_NAME, port=args.port, target_port=PORT_NAME,
                                                   protocol="TCP", app_protocol=MCP_APP_PROTOCOL)]),
            opts=child)
        self.service_name = self.service.metadata.name
        self.port = args.port
        self.register_outputs({"serviceName": self.service_name, "port": self.port})
