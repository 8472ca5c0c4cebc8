"""AggregateRoute under mocks: one multi-target AgentgatewayBackend + HTTPRoute, and its tool policy, validated
against the real agentgateway v1.4.1 / Gateway API v1.6.1 CRDs (strict fields + every CEL rule)."""
from __future__ import annotations

import pytest

from components.aggregate_route import AggregateRoute, AggregateRouteArgs
from components.crds import CrdValueError
from components.mcp_route import BACKEND_WAIT_FOR, ROUTE_WAIT_FOR, McpRouteTarget
from components.labels import DANGEROUS_TOOLS_ANNOTATION
from components.tool_policy import ToolPolicy, ToolPolicyArgs, tool_expression
from tests.k8s_schema import assert_valid, normalize_numbers, validate_object
from tests.pulumi_mocks import mocks, run_awaited  # noqa: F401 (fixture)
from tests.resource_types import BACKEND, HTTP_ROUTE, POLICY

COMPONENT = "mcpfederation:components:AggregateRoute"
TARGETS = [McpRouteTarget("github", "github", 8080), McpRouteTarget("slack", "slack", 8080),
           McpRouteTarget("gh", "gh", 8082, "/")]


def _args(**overrides) -> AggregateRouteArgs:
    values = {"namespace": "mcp", "path": "/mcp", "targets": TARGETS, "gateway_name": "mcp-gateway",
              "gateway_namespace": "agentgateway-system", "prefix_mode": "Always", "failure_mode": "FailOpen",
              "session_routing": "Stateless",
              "backend_annotations": {DANGEROUS_TOOLS_ANNOTATION: "github/delete_repo"}, **overrides}
    return AggregateRouteArgs(**values)


def _declare(mocks, args: AggregateRouteArgs):
    route = AggregateRoute("mcp-all", args)
    declared = run_awaited(mocks, lambda: ([route], {}))
    return (declared, normalize_numbers(declared.one(BACKEND, "mcp-all-backend").inputs),
            declared.one(HTTP_ROUTE, "mcp-all-route").inputs)


def test_backend_lists_every_server_as_a_target_with_the_modes(mocks):
    declared, backend, route = _declare(mocks, _args())
    assert backend["metadata"] == {"name": "mcp-all", "namespace": "mcp", "annotations": {
        DANGEROUS_TOOLS_ANNOTATION: "github/delete_repo", "pulumi.com/waitFor": BACKEND_WAIT_FOR}}
    assert backend["spec"] == {"mcp": {
        "targets": [
            {"name": "github", "static": {"backendRef": {"name": "github"}, "port": 8080, "path": "/mcp",
                                          "protocol": "StreamableHTTP"}},
            {"name": "slack", "static": {"backendRef": {"name": "slack"}, "port": 8080, "path": "/mcp",
                                         "protocol": "StreamableHTTP"}},
            {"name": "gh", "static": {"backendRef": {"name": "gh"}, "port": 8082, "path": "/",
                                      "protocol": "StreamableHTTP"}}],
        "prefixMode": "Always", "failureMode": "FailOpen", "sessionRouting": "Stateless"}}
    for resource in declared.kubernetes_objects():
        assert_valid(resource.inputs)
        assert declared.parent_type(resource) == COMPONENT


def test_route_sends_the_aggregate_path_to_the_backend(mocks):
    _, backend, route = _declare(mocks, _args())
    assert route["metadata"] == {"name": "mcp-all", "namespace": "mcp",
                                 "annotations": {"pulumi.com/waitFor": ROUTE_WAIT_FOR}}
    assert route["spec"] == {
        "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "mcp-gateway",
                        "namespace": "agentgateway-system", "sectionName": "http"}],
        "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/mcp"}}],
                   "backendRefs": [{"group": "agentgateway.dev", "kind": "AgentgatewayBackend",
                                    "name": backend["metadata"]["name"]}]}]}


def test_default_modes_are_rendered_explicitly(mocks):
    _, backend, _ = _declare(mocks, _args(prefix_mode="Conditional", failure_mode="FailClosed",
                                          session_routing="Stateful"))
    mcp = backend["spec"]["mcp"]
    assert (mcp["prefixMode"], mcp["failureMode"], mcp["sessionRouting"]) == ("Conditional", "FailClosed", "Stateful")


def test_the_real_crd_refuses_a_target_name_with_the_prefix_delimiter(mocks):
    """Belt and braces: the typed spec and the CRD pattern both refuse '_' (agentgateway's prefix delimiter)."""
    with pytest.raises(CrdValueError, match="'git_hub' is not a valid target name"):
        _declare(mocks, _args(targets=[McpRouteTarget("git_hub", "github", 8080)]))
    _, backend, _ = _declare(mocks, _args())
    backend["spec"]["mcp"]["targets"][0]["name"] = "git_hub"
    assert any("spec.mcp.targets[0].name: 'git_hub' does not match" in error for error in validate_object(backend))


def test_aggregate_policy_denies_per_target_and_validates(mocks):
    pairs = [("github", "delete_repo"), ("gh", "create_issue")]
    policy = ToolPolicy("mcp-all", ToolPolicyArgs(namespace="mcp", backend_name="mcp-all", action="Deny",
                                                  tools=pairs))
    declared = run_awaited(mocks, lambda: ([policy], {}))
    inputs = declared.one(POLICY, "mcp-all-tools").inputs
    assert inputs["spec"]["targetRefs"] == [{"group": "agentgateway.dev", "kind": "AgentgatewayBackend",
                                             "name": "mcp-all"}]
    assert inputs["spec"]["backend"]["mcp"]["authorization"] == {"action": "Deny", "policy": {"matchExpressions": [
        'mcp.tool.target == "github" && mcp.tool.name == "delete_repo"',
        'mcp.tool.target == "gh" && mcp.tool.name == "create_issue"']}}
    assert [tool_expression(t, n) for t, n in pairs] == \
        inputs["spec"]["backend"]["mcp"]["authorization"]["policy"]["matchExpressions"]
    assert_valid(inputs)


@pytest.mark.parametrize("targets, message", [
    ([], "0 targets"),
    ([McpRouteTarget(f"s{i}", f"s{i}", 8080) for i in range(33)], "33 targets"),
    ([McpRouteTarget("a", "a", 8080), McpRouteTarget("a", "b", 8080)], "target names repeat"),
])
def test_args_refuse_impossible_target_lists(targets, message):
    with pytest.raises(ValueError, match=message):
        _args(targets=targets)
