"""McpImageServer: an MCP server that is a container image (Deployment + Service; no code ConfigMap).

The pods get the same hardening as the code servers (components/workload.py). Two things differ because the image
is not ours: it runs as a configurable numeric non-root UID (default 65532; an image built for another user sets
`runAsUser`), and it gets a writable emptyDir at /tmp, since the root filesystem stays read-only. Probes are an
HTTP GET on its health path when it has one, else a TCP connect to its port; a startup probe gives a slow image
time to start before liveness applies.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from .config import DEFAULT_RESOURCES, PORT_ENV
from .workload import RUN_AS_USER, EnvValue, ProbeHandler, hardened_pod_spec, mcp_service, server_container, \
    server_deployment

TMP_MOUNT = "/tmp"
TMP_SIZE_LIMIT = "256Mi"  # npm (an image running `npx <package>`) keeps its cache and install here
STARTUP_PERIOD_SECONDS = 5
STARTUP_FAILURE_THRESHOLD = 24  # up to 2 minutes to start


@dataclass(frozen=True)
class McpImageServerArgs:
    """Inputs of an McpImageServer: the image and how to start it; `env` values are plain or a source (Secret)."""

    namespace: pulumi.Input[str]
    image: str
    port: int = 8080
    replicas: int = 1
    resources: Mapping = field(default_factory=lambda: DEFAULT_RESOURCES)
    command: Optional[Sequence[str]] = None  # None: the image's entrypoint
    args: Optional[Sequence[str]] = None     # None: the image's cmd
    health_path: Optional[str] = None        # None: TCP socket probes
    run_as_user: Optional[int] = None        # None: RUN_AS_USER
    env: Mapping[str, EnvValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        reserved = sorted({PORT_ENV} & set(self.env))
        if reserved:
            raise ValueError(f"McpImageServerArgs.env: {', '.join(reserved)} are set by the component")
        if self.run_as_user is not None and self.run_as_user < 1:
            raise ValueError(f"McpImageServerArgs.run_as_user: {self.run_as_user!r} is not a non-root UID (>= 1)")


def _container(args: McpImageServerArgs) -> k8s.core.v1.ContainerArgs:
    handler = ProbeHandler(args.health_path)  # health path None: TCP connect to the MCP port
    return server_container(
        args.image, args.port, args.env, args.resources, handler,
        [k8s.core.v1.VolumeMountArgs(name="tmp", mount_path=TMP_MOUNT)], command=args.command, args=args.args,
        startup_probe=handler.probe(period_seconds=STARTUP_PERIOD_SECONDS, timeout_seconds=2,
                                    failure_threshold=STARTUP_FAILURE_THRESHOLD))


class McpImageServer(pulumi.ComponentResource):
    """A Deployment running an MCP server image, and a Service in front of it (appProtocol agentgateway.dev/mcp)."""

    service_name: pulumi.Output[str]
    port: int

    def __init__(self, name: str, args: McpImageServerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mcpfederation:components:McpImageServer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tmp = k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
            size_limit=TMP_SIZE_LIMIT))
        pod_spec = hardened_pod_spec([_container(args)], [tmp],
                                     run_as_user=args.run_as_user if args.run_as_user is not None else RUN_AS_USER)
        self.deployment = server_deployment(name, args.namespace, args.replicas, pod_spec, opts=child)
        self.service = mcp_service(name, args.namespace, args.port, opts=child)
        self.service_name = self.service.metadata.name
        self.port = args.port
        self.register_outputs({"serviceName": self.service_name, "port": self.port})
