"""McpServer: one MCP server on Kubernetes (ConfigMap with its code, Deployment, Service)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Mapping, Optional, Union

import pulumi
import pulumi_kubernetes as k8s

from .config import CODE_SERVER_ENV, CORE_FILE, DEFAULT_RESOURCES, PORT_ENV
from .workload import ProbeHandler, hardened_pod_spec, mcp_service, server_container, server_deployment, \
    server_labels

CODE_MOUNT = "/app"
HEALTH_PATH = "/healthz"


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
        reserved = sorted({PORT_ENV, *CODE_SERVER_ENV} & set(self.env))
        if reserved:
            raise ValueError(f"McpServerArgs.env: {', '.join(reserved)} are set by the component")


def _container(args: McpServerArgs) -> k8s.core.v1.ContainerArgs:
    return server_container(
        args.image, args.port, {**CODE_SERVER_ENV, **args.env}, args.resources, ProbeHandler(HEALTH_PATH),
        [k8s.core.v1.VolumeMountArgs(name="code", mount_path=CODE_MOUNT, read_only=True)],
        command=["python", f"{CODE_MOUNT}/{args.code_file}"])


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
        code_volume = k8s.core.v1.VolumeArgs(
            name="code", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=self.config_map.metadata.name))
        self.deployment = server_deployment(name, args.namespace, args.replicas,
                                            hardened_pod_spec([_container(args)], [code_volume]), opts=child)
        self.service = mcp_service(name, args.namespace, args.port, opts=child)
        self.service_name = self.service.metadata.name
        self.port = args.port
        self.register_outputs({"serviceName": self.service_name, "port": self.port})
