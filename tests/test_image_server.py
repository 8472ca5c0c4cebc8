"""McpImageServer under mocks: a hardened Deployment running the image, probes, env, and its Service."""
from __future__ import annotations

import pulumi_kubernetes as k8s
import pytest

from components.image_server import McpImageServer, McpImageServerArgs
from components.mcp_route import McpRoute, McpRouteArgs
from components.workload import RUN_AS_USER
from tests.k8s_schema import assert_valid, normalize_numbers
from tests.pulumi_mocks import mocks, run_awaited  # noqa: F401 (fixture)
from tests.resource_types import BACKEND, DEPLOYMENT, SERVICE

COMPONENT = "mcpfederation:components:McpImageServer"
IMAGE = "ghcr.io/github/github-mcp-server:v0.20.0"  # illustrative pinned tag (see tests/test_image_server_config.py)


def _declare(mocks, **overrides):
    values = {"namespace": "mcp", "image": IMAGE, "port": 8082, "args": ["http", "--port", "8082"], **overrides}
    server = McpImageServer("gh", McpImageServerArgs(**values))
    declared = run_awaited(mocks, lambda: ([server], {}))
    return declared, normalize_numbers(declared.one(DEPLOYMENT, "gh").inputs), declared.one(SERVICE, "gh").inputs


def test_declares_a_deployment_and_a_service_only(mocks):
    declared, _, _ = _declare(mocks)
    assert sorted((r.typ, r.name) for r in declared.resources) == \
        sorted([(COMPONENT, "gh"), (SERVICE, "gh"), (DEPLOYMENT, "gh")])  # no code ConfigMap
    for resource in declared.kubernetes_objects():
        assert_valid(resource.inputs)
        assert declared.parent_type(resource) == COMPONENT


def test_pod_is_hardened_like_the_code_servers(mocks):
    _, deployment, _ = _declare(mocks)
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": RUN_AS_USER, "runAsGroup": RUN_AS_USER,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"] == {"runAsNonRoot": True, "readOnlyRootFilesystem": True,
                                            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    # the root filesystem is read-only, so the image gets a bounded writable /tmp
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]


def test_image_command_args_port_and_env(mocks):
    session = k8s.core.v1.EnvVarSourceArgs(secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name="gh-env", key="T"))
    _, deployment, service = _declare(mocks, command=["/server/github-mcp-server"], replicas=2,
                                      env={"GITHUB_TOOLSETS": "repos", "GITHUB_TOKEN": session}, run_as_user=1000)
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert (container["image"], container["command"], container["args"]) == \
        (IMAGE, ["/server/github-mcp-server"], ["http", "--port", "8082"])
    assert container["env"] == [{"name": "PORT", "value": "8082"}, {"name": "GITHUB_TOOLSETS", "value": "repos"},
                                {"name": "GITHUB_TOKEN", "valueFrom": {"secretKeyRef": {"name": "gh-env", "key": "T"}}}]
    assert container["ports"] == [{"name": "http", "containerPort": 8082, "protocol": "TCP"}]
    assert deployment["spec"]["replicas"] == 2
    assert pod["securityContext"]["runAsUser"] == pod["securityContext"]["runAsGroup"] == 1000
    assert_valid(deployment)


def test_image_defaults_leave_entrypoint_and_cmd_alone(mocks):
    _, deployment, _ = _declare(mocks, args=None)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert "command" not in container and "args" not in container


def test_tcp_probes_without_a_health_path(mocks):
    _, deployment, _ = _declare(mocks)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["tcpSocket"] == {"port": "http"} and "httpGet" not in container[probe]
    assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] == 120


def test_http_probes_on_the_health_path(mocks):
    _, deployment, _ = _declare(mocks, health_path="/healthz")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert "tcpSocket" not in container[probe]
    assert_valid(deployment)


def test_service_speaks_mcp_to_the_pods(mocks):
    _, deployment, service = _declare(mocks)
    assert service["spec"]["ports"] == [{"name": "http", "port": 8082, "targetPort": "http", "protocol": "TCP",
                                         "appProtocol": "agentgateway.dev/mcp"}]
    assert service["spec"]["selector"] == deployment["spec"]["template"]["metadata"]["labels"] == \
        deployment["spec"]["selector"]["matchLabels"]


def test_route_targets_the_images_mcp_path(mocks):
    route = McpRoute("gh", McpRouteArgs(namespace="mcp", path="/mcp/gh", service_name="gh", service_port=8082,
                                        gateway_name="mcp-gateway", gateway_namespace="agentgateway-system",
                                        upstream_path="/"))
    declared = run_awaited(mocks, lambda: ([route], {}))
    backend = normalize_numbers(declared.one(BACKEND, "gh-backend").inputs)
    assert backend["spec"]["mcp"]["targets"] == [{"name": "gh", "static": {
        "backendRef": {"name": "gh"}, "port": 8082, "path": "/", "protocol": "StreamableHTTP"}}]
    assert_valid(backend)


@pytest.mark.parametrize("overrides, message", [
    ({"env": {"PORT": "1"}}, "McpImageServerArgs.env: PORT are set by the component"),
    ({"run_as_user": 0}, "McpImageServerArgs.run_as_user: 0 is not a non-root UID"),
])
def test_args_refuse_reserved_env_and_root(overrides, message):
    with pytest.raises(ValueError, match=message):
        McpImageServerArgs(namespace="mcp", image=IMAGE, **overrides)
