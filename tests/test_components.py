"""The components on their own under mocks: the code-change rollout trigger, and a route without a ReferenceGrant."""
from __future__ import annotations

import pulumi_kubernetes as k8s
import pytest

from components.config import CODE_DIR, CORE_FILE
from components.mcp_route import McpRoute, McpRouteArgs
from components.mcp_server import McpServer, McpServerArgs
from tests.k8s_schema import assert_valid
from tests.pulumi_mocks import mocks, restart, run_awaited  # noqa: F401 (fixture)
from tests.resource_types import BACKEND, CONFIG_MAP, DEPLOYMENT, HTTP_ROUTE



def _with_no_outputs(component):
    return [component], {}


def _code(server_source: str) -> dict[str, str]:
    """Every core module (server_code/mcp_*.py, as components/federation.py ships them) and the server file."""
    return {**{path.name: path.read_text() for path in CODE_DIR.glob("mcp_*.py")}, "github.py": server_source}


def _pod_template_and_config_map(mocks, code: dict[str, str]) -> tuple[dict, dict]:
    declared = run_awaited(restart(mocks), lambda: _with_no_outputs(McpServer("github", McpServerArgs(
        namespace="mcp", image="python:3.11-slim", code_file="github.py", code=code))))
    return (declared.one(DEPLOYMENT, "github").inputs["spec"]["template"],
            declared.one(CONFIG_MAP, "github-code").inputs)


def test_changing_the_code_changes_the_pod_template(mocks):
    """The rollout trigger: new code -> new content-addressed ConfigMap name -> new pod template -> rollout."""
    original = (CODE_DIR / "github.py").read_text()
    template_1, config_map_1 = _pod_template_and_config_map(mocks, _code(original))
    template_2, config_map_2 = _pod_template_and_config_map(mocks, _code(original))
    template_3, config_map_3 = _pod_template_and_config_map(mocks, _code(original + "\n# fixed a bug\n"))

    assert template_1 == template_2  # same code: no rollout (and the same ConfigMap)
    assert config_map_1["metadata"]["name"] == config_map_2["metadata"]["name"]
    assert template_3 != template_1   # changed code: the pod template changes, so the Deployment rolls out
    assert config_map_3["metadata"]["name"] != config_map_1["metadata"]["name"]
    assert template_3["spec"]["volumes"][0]["configMap"]["name"] == config_map_3["metadata"]["name"]
    assert config_map_3["data"]["github.py"].endswith("# fixed a bug\n")
    # a change of the shared core rolls the server too
    changed_core = {**_code(original), CORE_FILE: (CODE_DIR / CORE_FILE).read_text() + "\n"}
    template_4, _ = _pod_template_and_config_map(mocks, changed_core)
    assert template_4 != template_1
    # so does a change of any module the core imports (here the HTTP parser)
    changed_parser = {**_code(original), "mcp_http.py": (CODE_DIR / "mcp_http.py").read_text() + "\n"}
    template_5, config_map_5 = _pod_template_and_config_map(mocks, changed_parser)
    assert template_5 != template_1 and config_map_5["data"]["mcp_http.py"].endswith("\n\n")


def test_server_args_reject_missing_code_and_reserved_env():
    with pytest.raises(ValueError, match="McpServerArgs.code: missing github.py"):
        McpServerArgs(namespace="mcp", image="python:3.11-slim", code_file="github.py",
                      code={CORE_FILE: "# core"})
    with pytest.raises(ValueError, match="McpServerArgs.env: PORT are set by the component"):
        McpServerArgs(namespace="mcp", image="python:3.11-slim", code_file="github.py",
                      code=_code("# server"), env={"PORT": "1"})


def test_extra_env_reaches_the_container_as_values_or_secret_refs(mocks):
    session_key = k8s.core.v1.EnvVarSourceArgs(
        secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name="mcp-session", key="key"))
    declared = run_awaited(mocks, lambda: _with_no_outputs(McpServer("github", McpServerArgs(
        namespace="mcp", image="python:3.11-slim", code_file="github.py", code=_code("# server"),
        env={"MCP_PAGE_SIZE": "50", "MCP_SESSION_KEY": session_key}))))
    deployment = declared.one(DEPLOYMENT, "github").inputs
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["MCP_PAGE_SIZE"] == {"name": "MCP_PAGE_SIZE", "value": "50"}
    assert env["MCP_SESSION_KEY"] == {"name": "MCP_SESSION_KEY",
                                      "valueFrom": {"secretKeyRef": {"name": "mcp-session", "key": "key"}}}
    assert_valid(deployment)


def _route(mocks):
    return run_awaited(mocks, lambda: _with_no_outputs(McpRoute("github", McpRouteArgs(
        namespace="mcp", path="/mcp/github", service_name="github", service_port=8080,
        gateway_name="mcp-gateway", gateway_namespace="agentgateway-system"))))


def test_the_route_and_its_backend_share_a_namespace_so_no_reference_grant(mocks):
    declared = _route(mocks)
    assert [r.typ for r in declared.resources if r.custom] == [BACKEND, HTTP_ROUTE]
    backend_ref = declared.one(HTTP_ROUTE, "github-route").inputs["spec"]["rules"][0]["backendRefs"][0]
    assert "namespace" not in backend_ref
