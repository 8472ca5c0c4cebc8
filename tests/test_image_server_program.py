"""Image servers through the real program (config -> McpImageServer -> objects): the config keys reach the
Deployment, secret env comes from the server's Secret, and the pods meet the restricted Pod Security Standard."""
from __future__ import annotations

from policy import pod_security
from tests.k8s_schema import assert_valid, normalize_numbers
from tests.pulumi_mocks import cli_config, mocks, run_program  # noqa: F401 (fixture)
from tests.resource_types import DEPLOYMENT, SECRET

TOKEN = "not-a-real-token-0123456789"
SERVER = {"name": "tools", "type": "image", "image": "example.com/mcp/tools:2.1.0", "port": 9000,
          "command": ["/bin/tools-server"], "args": ["--transport", "streamable-http"], "mcpPath": "/mcp/",
          "healthPath": "/ready", "runAsUser": 10001, "expectedTools": ["lookup", "purge"],
          "dangerousTools": ["purge"], "probe": {"tool": "lookup", "arguments": {"key": "a"}},
          "env": {"LOG_LEVEL": "info"}, "secretEnv": {"API_TOKEN": "toolsToken"},
          "resources": {"limits": {"memory": "256Mi"}}}


def _declared(mocks):
    return run_program(mocks, cli_config("dev", {"mcp-federation:servers": [{"name": "github"}, SERVER],
                                                 "mcp-federation:secrets": {"toolsToken": TOKEN}}))


def test_config_keys_reach_the_container(mocks):
    declared = _declared(mocks)
    deployment = normalize_numbers(declared.one(DEPLOYMENT, "tools").inputs)
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert (container["image"], container["command"], container["args"]) == \
        ("example.com/mcp/tools:2.1.0", ["/bin/tools-server"], ["--transport", "streamable-http"])
    assert container["ports"] == [{"name": "http", "containerPort": 9000, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["resources"]["limits"]["memory"] == "256Mi"
    assert pod["spec"]["securityContext"]["runAsUser"] == 10001
    env = {e["name"]: e for e in container["env"]}
    assert env["PORT"] == {"name": "PORT", "value": "9000"}
    assert env["LOG_LEVEL"] == {"name": "LOG_LEVEL", "value": "info"}
    assert env["API_TOKEN"] == {"name": "API_TOKEN",
                                "valueFrom": {"secretKeyRef": {"name": "tools-secrets", "key": "toolsToken"}}}
    assert TOKEN not in repr(deployment)  # the value lives only in the Secret
    assert [r.name for r in declared.of_type(SECRET)] == ["tools-secrets"]
    assert_valid(deployment)


def test_image_server_pods_meet_the_restricted_profile(mocks):
    declared = _declared(mocks)
    for name in ("tools", "github"):
        deployment = normalize_numbers(declared.one(DEPLOYMENT, name).inputs)
        assert deployment["spec"]["template"]["spec"]["containers"]
        assert pod_security.violations(DEPLOYMENT, deployment) == []
