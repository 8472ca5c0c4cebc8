"""The real program under mocks with an image server and the aggregated route: what it declares, that every
object validates against the real CRDs / Kubernetes 1.33, the tool policies, and the verification plan."""
from __future__ import annotations

import json

import pytest

from components.catalog import load_catalog
from components.config import CODE_DIR, ConfigError
from components.labels import DANGEROUS_TOOLS_ANNOTATION
from components.tool_policy import tool_expression
from tests.k8s_schema import assert_valid, normalize_numbers
from tests.pulumi_mocks import Declared, cli_config, mocks, run_program  # noqa: F401 (fixture)
from verify.plan import parse_plan
from tests.resource_types import BACKEND, CONFIG_MAP, DEPLOYMENT, HTTP_ROUTE, POLICY, SERVICE

P = "mcp-federation:"
FEDERATION = "mcpfederation:components:McpFederation"
IMAGE_SERVER = "mcpfederation:components:McpImageServer"
AGGREGATE = "mcpfederation:components:AggregateRoute"
TOOL_POLICY = "mcpfederation:components:ToolPolicy"
# An illustrative image server (github-mcp-server's HTTP mode shape; tag and tools not verified, see README text).
TOOLS_IMAGE = {"name": "gh", "type": "image", "image": "ghcr.io/github/github-mcp-server:v0.20.0", "port": 8082,
               "args": ["http", "--port", "8082"], "mcpPath": "/",
               "expectedTools": ["get_me", "search_repositories", "create_issue"],
               "dangerousTools": ["create_issue"], "probe": {"tool": "get_me"}, "env": {"GITHUB_TOOLSETS": "repos"}}
SERVERS = [{"name": "fetch"}, {"name": "github"}, {"name": "slack"}, TOOLS_IMAGE]


def _run(mocks, aggregate: dict | None = None, servers=SERVERS, deny_dangerous=True) -> Declared:
    overrides = {f"{P}servers": servers, f"{P}denyDangerousTools": deny_dangerous}
    if aggregate is not None:
        overrides[f"{P}aggregate"] = aggregate
    return run_program(mocks, cli_config("dev", overrides))


@pytest.fixture
def declared(mocks) -> Declared:
    return _run(mocks, {"enabled": True})


def test_declares_the_image_server_and_the_aggregate_next_to_the_per_server_routes(declared):
    kinds = {(r.typ, r.name) for r in declared.resources}
    assert {(IMAGE_SERVER, "gh"), (DEPLOYMENT, "gh"), (SERVICE, "gh"), (BACKEND, "gh-backend"),
            (HTTP_ROUTE, "gh-route"), (AGGREGATE, "mcp-all"), (BACKEND, "mcp-all-backend"),
            (HTTP_ROUTE, "mcp-all-route"), (TOOL_POLICY, "mcp-all"), (POLICY, "mcp-all-tools")} <= kinds
    assert (CONFIG_MAP, "gh-code") not in kinds  # an image server has no code
    for name in ("fetch", "github", "slack", "gh"):
        assert (BACKEND, f"{name}-backend") in kinds and (HTTP_ROUTE, f"{name}-route") in kinds
    parents = {(r.typ, r.name): declared.parent_type(r) for r in declared.resources}
    assert parents[(AGGREGATE, "mcp-all")] == parents[(IMAGE_SERVER, "gh")] == FEDERATION
    assert parents[(BACKEND, "mcp-all-backend")] == parents[(HTTP_ROUTE, "mcp-all-route")] == AGGREGATE
    assert parents[(DEPLOYMENT, "gh")] == IMAGE_SERVER


def test_every_declared_object_validates_against_the_real_schemas(declared):
    objects = declared.kubernetes_objects()
    assert len(objects) > 20
    for resource in objects:
        assert_valid(resource.inputs)


def test_aggregate_backend_targets_every_servers_service(declared):
    backend = normalize_numbers(declared.one(BACKEND, "mcp-all-backend").inputs)
    services = {r.name: r.inputs for r in declared.of_type(SERVICE)}
    targets = backend["spec"]["mcp"]["targets"]
    assert [t["name"] for t in targets] == ["fetch", "github", "slack", "gh"]
    for target in targets:
        service = normalize_numbers(services[target["name"]])
        assert target["static"] == {"backendRef": {"name": service["metadata"]["name"]},
                                    "port": service["spec"]["ports"][0]["port"],
                                    "path": "/" if target["name"] == "gh" else "/mcp", "protocol": "StreamableHTTP"}
    mcp = backend["spec"]["mcp"]
    assert (mcp["prefixMode"], mcp["failureMode"], mcp["sessionRouting"]) == ("Conditional", "FailClosed", "Stateful")
    assert backend["metadata"]["annotations"][DANGEROUS_TOOLS_ANNOTATION] == \
        "gh/create_issue,github/delete_repo,slack/delete_channel"
    route = declared.one(HTTP_ROUTE, "mcp-all-route").inputs
    assert route["spec"]["rules"][0]["matches"] == [{"path": {"type": "PathPrefix", "value": "/mcp"}}]
    assert route["spec"]["rules"][0]["backendRefs"][0]["name"] == backend["metadata"]["name"]
    assert route["spec"]["parentRefs"] == declared.one(HTTP_ROUTE, "github-route").inputs["spec"]["parentRefs"]


def test_image_server_route_and_policy(declared):
    backend = normalize_numbers(declared.one(BACKEND, "gh-backend").inputs)
    assert backend["spec"]["mcp"]["targets"][0]["static"]["path"] == "/"
    assert backend["metadata"]["annotations"][DANGEROUS_TOOLS_ANNOTATION] == "gh/create_issue"
    policy = declared.one(POLICY, "gh-tools").inputs
    assert policy["spec"]["backend"]["mcp"]["authorization"] == {
        "action": "Deny", "policy": {"matchExpressions": [tool_expression(None, "create_issue")]}}
    (container,) = declared.one(DEPLOYMENT, "gh").inputs["spec"]["template"]["spec"]["containers"]
    assert {"name": "GITHUB_TOOLSETS", "value": "repos"} in container["env"]
    assert container["args"] == ["http", "--port", "8082"]


def test_aggregate_policy_denies_the_dangerous_tools_per_target(declared):
    policy = declared.one(POLICY, "mcp-all-tools").inputs
    assert policy["spec"]["targetRefs"] == [{"group": "agentgateway.dev", "kind": "AgentgatewayBackend",
                                             "name": declared.one(BACKEND, "mcp-all-backend").inputs["metadata"]["name"]}]
    assert policy["spec"]["backend"]["mcp"]["authorization"] == {"action": "Deny", "policy": {"matchExpressions": [
        tool_expression("github", "delete_repo"), tool_expression("slack", "delete_channel"),
        tool_expression("gh", "create_issue")]}}


def test_aggregate_policy_becomes_an_allow_list_when_a_target_has_one(mocks):
    servers = [{"name": "fetch"}, {"name": "github", "allowedTools": ["get_repo", "list_issues"]}]
    declared = _run(mocks, {"enabled": True}, servers=servers)
    fetch = load_catalog(CODE_DIR, "fetch.py")
    authorization = declared.one(POLICY, "mcp-all-tools").inputs["spec"]["backend"]["mcp"]["authorization"]
    assert authorization == {"action": "Allow", "policy": {"matchExpressions": [
        tool_expression("fetch", tool) for tool in fetch.tool_names if tool not in fetch.dangerous_tool_names] + [
        tool_expression("github", "get_repo"), tool_expression("github", "list_issues")]}}
    assert_valid(declared.one(POLICY, "mcp-all-tools").inputs)


def test_no_aggregate_policy_when_nothing_is_denied(mocks):
    declared = _run(mocks, {"enabled": True, "servers": ["fetch", "github"]}, deny_dangerous=False)
    assert not declared.of_type(POLICY)
    assert [t["name"] for t in declared.one(BACKEND, "mcp-all-backend").inputs["spec"]["mcp"]["targets"]] == \
        ["fetch", "github"]


def test_verification_plan_has_the_image_and_the_aggregate_entries(declared):
    plan = declared.outputs["verificationPlan"]
    by_name = {entry["name"]: entry for entry in plan}
    assert list(by_name) == ["fetch", "github", "slack", "gh", "mcp-all"]
    assert by_name["gh"] == {"name": "gh", "path": "/mcp/gh", "expectedTools": ["get_me", "search_repositories"],
                             "deniedTools": ["create_issue"], "probe": {"tool": "get_me", "arguments": {}},
                             "toolsMatch": "atLeast"}
    aggregate = by_name["mcp-all"]
    assert (aggregate["path"], aggregate["targets"], aggregate["toolsMatch"]) == \
        ("/mcp", ["fetch", "github", "slack", "gh"], "atLeast")
    expected = []
    for name in ("fetch", "github", "slack", "gh"):
        expected += [f"{name}_{tool}" for tool in by_name[name]["expectedTools"]]
    assert aggregate["expectedTools"] == expected
    assert aggregate["deniedTools"] == ["github_delete_repo", "slack_delete_channel", "gh_create_issue"]
    assert aggregate["probe"]["tool"] == f"fetch_{by_name['fetch']['probe']['tool']}"
    assert declared.outputs["routes"]["mcp-all"] == "/mcp"
    routes = parse_plan(json.loads(json.dumps(plan)))  # as `pulumi stack output --json` prints it
    assert [r.name for r in routes] == list(by_name) and routes[-1].prefixed


def test_prefix_mode_never_with_a_shared_tool_name_declares_nothing(mocks):
    twin = {**TOOLS_IMAGE, "name": "gh2", "expectedTools": ["get_me"], "dangerousTools": []}
    with pytest.raises(ConfigError) as caught:
        _run(mocks, {"enabled": True, "prefixMode": "Never"}, servers=[{"name": "github"}, TOOLS_IMAGE, twin])
    (error,) = caught.value.errors
    assert error == ("aggregate.prefixMode: 'Never' leaves tool names unprefixed, but create_issue (github, gh); "
                     "get_me (gh, gh2) are offered by more than one target (agentgateway would drop duplicates): "
                     "use Conditional or Always, or select fewer servers")
    assert mocks.created == []


def test_aggregate_config_errors_declare_nothing(mocks):
    with pytest.raises(ConfigError) as caught:
        _run(mocks, {"enabled": True, "path": "/mcp/github", "servers": ["github", "jira"]})
    assert [e.split(":", 1)[0] for e in caught.value.errors] == ["aggregate.servers[1]", "aggregate.path"]
    assert mocks.created == []
