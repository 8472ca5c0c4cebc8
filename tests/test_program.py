"""The real program for the dev stack under Pulumi mocks: every resource, its wiring, provider, parent and validity."""
from __future__ import annotations

import json

import pytest

from components.catalog import load_catalog
from components.config import CODE_DIR, CORE_FILE, ConfigError
from components.mcp_route import BACKEND_WAIT_FOR, ROUTE_WAIT_FOR
from components.mcp_server import code_config_map_name
from tests.k8s_schema import assert_valid, normalize_numbers
from tests.pulumi_mocks import K8S_PROVIDER_TYPE, Declared, cli_config, mocks, run_program  # noqa: F401 (fixture)
from verify.plan import parse_plan
from tests.server_process import RawMcp, start_server
from tests.resource_types import BACKEND, CONFIG_MAP, DEPLOYMENT, GATEWAY, HTTP_ROUTE, NAMESPACE, NETWORK_POLICY, PARAMETERS, SERVICE

SERVERS = ("fetch", "github", "slack")  # the code servers of the dev stack
IMAGE_SERVERS = ("everything",)  # its type image server: the official MCP reference server
EVERYTHING_TOOLS = ["echo", "get-annotated-message", "get-env", "get-resource-links", "get-resource-reference",
                    "get-structured-content", "get-sum", "get-tiny-image", "gzip-file-as-resource",
                    "toggle-simulated-logging", "toggle-subscriber-updates", "trigger-long-running-operation"]
FEDERATION = "mcpfederation:components:McpFederation"
SERVER = "mcpfederation:components:McpServer"
IMAGE_SERVER = "mcpfederation:components:McpImageServer"
ROUTE = "mcpfederation:components:McpRoute"
NETWORK = "mcpfederation:components:McpNetworkPolicies"
AGGREGATE = "mcpfederation:components:AggregateRoute"
AGGREGATE_NAME = "mcp-all"  # Pulumi.dev.yaml enables the aggregated route at /mcp with the default name


@pytest.fixture
def dev(mocks) -> Declared:
    """What `pulumi up` on the dev stack would declare (config from Pulumi.yaml + Pulumi.dev.yaml)."""
    return run_program(mocks, cli_config("dev"))


def _per_server(declared: Declared, name: str) -> dict:
    return {"config_map": declared.one(CONFIG_MAP, f"{name}-code").inputs,
            "deployment": declared.one(DEPLOYMENT, name).inputs,
            "service": declared.one(SERVICE, name).inputs,
            "backend": declared.one(BACKEND, f"{name}-backend").inputs,
            "route": declared.one(HTTP_ROUTE, f"{name}-route").inputs}


def test_declares_exactly_the_expected_resources(dev):
    expected = {(K8S_PROVIDER_TYPE, "kubernetes"), (FEDERATION, "mcp-federation"), (NAMESPACE, "mcp"),
                (GATEWAY, "mcp-gateway"), (PARAMETERS, "mcp-gateway-parameters"), (NETWORK, "mcp"),
                (NETWORK_POLICY, "mcp-default-deny"), (AGGREGATE, AGGREGATE_NAME),
                (BACKEND, f"{AGGREGATE_NAME}-backend"), (HTTP_ROUTE, f"{AGGREGATE_NAME}-route")}
    for name in SERVERS:
        expected |= {(SERVER, name), (ROUTE, name), (CONFIG_MAP, f"{name}-code"), (DEPLOYMENT, name),
                     (SERVICE, name), (BACKEND, f"{name}-backend"), (HTTP_ROUTE, f"{name}-route"),
                     (NETWORK_POLICY, f"{name}-from-gateway")}
    for name in IMAGE_SERVERS:  # no code ConfigMap
        expected |= {(IMAGE_SERVER, name), (ROUTE, name), (DEPLOYMENT, name), (SERVICE, name),
                     (BACKEND, f"{name}-backend"), (HTTP_ROUTE, f"{name}-route"),
                     (NETWORK_POLICY, f"{name}-from-gateway")}
    declared = [(r.typ, r.name) for r in dev.resources]
    assert sorted(declared) == sorted(expected)  # also: no duplicates, no GatewayClass, no ReferenceGrant


def test_every_kubernetes_resource_uses_the_explicit_provider(dev):
    provider = dev.one(K8S_PROVIDER_TYPE, "kubernetes")
    assert provider.inputs.get("context") == "kind-mcp-federation"  # kubeContext in Pulumi.dev.yaml
    provider_ref = f"{dev.urn(provider)}::kubernetes_id"
    kubernetes = dev.kubernetes_objects()
    # + the aggregated route's backend and HTTPRoute; an image server has no ConfigMap
    assert len(kubernetes) == 4 + 6 * len(SERVERS) + 5 * len(IMAGE_SERVERS) + 2
    assert {(r.typ, r.name): r.provider for r in kubernetes} == {(r.typ, r.name): provider_ref for r in kubernetes}


def test_empty_kube_context_means_the_current_context(mocks):
    declared = run_program(mocks, cli_config("dev", {"mcp-federation:kubeContext": ""}))
    assert "context" not in declared.one(K8S_PROVIDER_TYPE, "kubernetes").inputs


def test_parentage_shows_the_component_types(dev):
    expected_parent = {NAMESPACE: FEDERATION, GATEWAY: FEDERATION, SERVER: FEDERATION, ROUTE: FEDERATION,
                       CONFIG_MAP: SERVER, DEPLOYMENT: SERVER, SERVICE: SERVER, BACKEND: ROUTE, HTTP_ROUTE: ROUTE,
                       NETWORK: FEDERATION, NETWORK_POLICY: NETWORK, PARAMETERS: FEDERATION,
                       AGGREGATE: FEDERATION, IMAGE_SERVER: FEDERATION,
                       FEDERATION: "pulumi:pulumi:Stack", K8S_PROVIDER_TYPE: "pulumi:pulumi:Stack"}
    special = {(BACKEND, f"{AGGREGATE_NAME}-backend"): AGGREGATE, (HTTP_ROUTE, f"{AGGREGATE_NAME}-route"): AGGREGATE,
               **{(kind, name): IMAGE_SERVER for name in IMAGE_SERVERS for kind in (DEPLOYMENT, SERVICE)}}
    assert {(r.typ, r.name): dev.parent_type(r) for r in dev.resources} == \
        {(r.typ, r.name): special.get((r.typ, r.name), expected_parent[r.typ]) for r in dev.resources}
    # A server's children sit under the component of the same name (mock URNs keep only the parent's type).
    assert dev.urn(dev.one(SERVER, "github")).endswith(f"{FEDERATION}${SERVER}::github")


def test_every_declared_kubernetes_object_validates_against_the_real_schemas(dev):
    for resource in dev.kubernetes_objects():
        assert_valid(resource.inputs)


@pytest.mark.parametrize("name", SERVERS)
def test_wiring_route_to_backend_to_service_to_pods_to_code(dev, name):
    objects = _per_server(dev, name)
    gateway = dev.one(GATEWAY, "mcp-gateway").inputs
    route, backend, service = objects["route"]["spec"], objects["backend"], objects["service"]
    deployment, config_map = objects["deployment"], objects["config_map"]

    # route -> Gateway listener, path prefix -> backend (same namespace, so no namespace and no ReferenceGrant)
    listener = gateway["spec"]["listeners"][0]
    assert route["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                    "name": gateway["metadata"]["name"],
                                    "namespace": gateway["metadata"]["namespace"], "sectionName": listener["name"]}]
    (rule,) = route["rules"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": f"/mcp/{name}"}}]
    assert rule["backendRefs"] == [{"group": "agentgateway.dev", "kind": "AgentgatewayBackend",
                                    "name": backend["metadata"]["name"]}]
    assert objects["route"]["metadata"]["namespace"] == backend["metadata"]["namespace"] == "mcp"

    # backend -> Service (by name, in the backend's namespace) on the Service's port, MCP at /mcp
    (target,) = backend["spec"]["mcp"]["targets"]
    assert target == {"name": name, "static": {"backendRef": {"name": service["metadata"]["name"]},
                                               "port": service["spec"]["ports"][0]["port"], "path": "/mcp",
                                               "protocol": "StreamableHTTP"}}
    assert service["metadata"]["namespace"] == "mcp"

    # Service -> pods: selector == pod labels == Deployment selector; named target port == container port name
    pod = deployment["spec"]["template"]
    assert service["spec"]["selector"] == pod["metadata"]["labels"] == deployment["spec"]["selector"]["matchLabels"]
    (container,) = pod["spec"]["containers"]
    assert service["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"] == "http"
    assert container["ports"][0]["containerPort"] == service["spec"]["ports"][0]["port"] == 8080

    # pods -> ConfigMap with the code, mounted read-only at /app, run as `python /app/<file>`
    (volume,) = pod["spec"]["volumes"]
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]
    assert container["volumeMounts"] == [{"name": volume["name"], "mountPath": "/app", "readOnly": True}]
    assert container["command"] == ["python", f"/app/{name}.py"]
    core = sorted(path.name for path in CODE_DIR.glob("mcp_*.py"))  # mcp_core.py and every module it imports
    assert CORE_FILE in core and len(core) > 1
    files = {f: (CODE_DIR / f).read_text() for f in (*core, f"{name}.py")}
    assert config_map["data"] == files
    assert config_map["metadata"]["name"] == code_config_map_name(name, files)
    assert config_map["immutable"] is True
    assert config_map["metadata"]["namespace"] == deployment["metadata"]["namespace"] == "mcp"


@pytest.mark.parametrize("name", SERVERS)
def test_the_config_map_alone_runs_the_server(dev, name, tmp_path):
    """The pod sees only the ConfigMap's files: written to an empty directory, they must start and serve MCP."""
    for file_name, source in _per_server(dev, name)["config_map"]["data"].items():
        (tmp_path / file_name).write_text(source)
    server = start_server(name, tmp_dir=tmp_path, script=tmp_path / f"{name}.py",
                          env={"PYTHONPATH": "", "PYTHONSAFEPATH": ""})
    try:
        client = RawMcp(server.url)
        assert client.initialize().status_code == 200
        assert client.request("tools/list").json()["result"]["tools"]
    finally:
        server.stop()


@pytest.mark.parametrize("name", SERVERS)
def test_deployment_runs_hardened_with_probes_and_resources(dev, name):
    deployment = normalize_numbers(dev.one(DEPLOYMENT, name).inputs)
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert deployment["spec"]["replicas"] == 1
    assert container["image"] == "python:3.11-slim"
    assert {e["name"]: e["value"] for e in container["env"]} == \
        {"PORT": "8080", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["resources"] == {"requests": {"cpu": "50m", "memory": "64Mi"},
                                      "limits": {"cpu": "500m", "memory": "128Mi"}}
    assert container["securityContext"] == {"runAsNonRoot": True, "readOnlyRootFilesystem": True,
                                            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False


@pytest.mark.parametrize("name", SERVERS)
def test_service_names_its_port_and_speaks_mcp(dev, name):
    (port,) = dev.one(SERVICE, name).inputs["spec"]["ports"]
    assert (port["name"], port["appProtocol"], port["protocol"]) == ("http", "agentgateway.dev/mcp", "TCP")


@pytest.mark.parametrize("name", SERVERS)
def test_pulumi_up_waits_for_the_controller(dev, name):
    annotations = dict(dev.one(BACKEND, f"{name}-backend").inputs["metadata"]["annotations"])
    annotations.pop("mcp-federation.dev/dangerous-tools")  # tested in tests/test_security_tools.py
    assert annotations == {"pulumi.com/waitFor": "condition=Accepted"} == {"pulumi.com/waitFor": BACKEND_WAIT_FOR}
    assert dev.one(HTTP_ROUTE, f"{name}-route").inputs["metadata"]["annotations"] == \
        {"pulumi.com/waitFor": ROUTE_WAIT_FOR}
    # what these waits accept and refuse is tested against sample statuses in tests/test_readiness.py


def test_namespace_and_gateway(dev):
    assert dev.one(NAMESPACE, "mcp").inputs["metadata"]["name"] == "mcp"
    gateway = dev.one(GATEWAY, "mcp-gateway").inputs
    assert gateway["metadata"]["namespace"] == "agentgateway-system"
    assert gateway["spec"]["gatewayClassName"] == "agentgateway"
    (listener,) = gateway["spec"]["listeners"]
    assert (listener["name"], listener["protocol"], listener["port"]) == ("http", "HTTP", 80)
    # admits HTTPRoutes from the servers' namespace only, by the label Kubernetes sets on every namespace
    assert listener["allowedRoutes"] == {
        "namespaces": {"from": "Selector", "selector": {"matchLabels": {"kubernetes.io/metadata.name": "mcp"}}},
        "kinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}]}
    # the data-plane Service type comes from AgentgatewayParameters of the same name, in the Gateway's namespace
    parameters = dev.one(PARAMETERS, "mcp-gateway-parameters").inputs
    assert gateway["spec"]["infrastructure"] == {"parametersRef": {
        "group": "agentgateway.dev", "kind": "AgentgatewayParameters", "name": parameters["metadata"]["name"]}}
    assert parameters["metadata"]["namespace"] == gateway["metadata"]["namespace"]
    assert parameters["spec"] == {"service": {"spec": {"type": "ClusterIP"}}}


def test_stack_outputs(dev):
    expected_plan = []
    for name in SERVERS:
        catalog = load_catalog(CODE_DIR, f"{name}.py")
        expected_plan.append({"name": name, "path": f"/mcp/{name}", "expectedTools": catalog.tool_names,
                              "deniedTools": [], "probe": {"tool": catalog.probe_tool,
                                                           "arguments": catalog.probe_arguments}})
    expected_plan.append({"name": "everything", "path": "/mcp/everything", "expectedTools": EVERYTHING_TOOLS,
                          "deniedTools": [], "probe": {"tool": "echo", "arguments": {"message": "mcp-federation verify"}},
                          "toolsMatch": "atLeast"})
    aggregated = {"name": AGGREGATE_NAME, "path": "/mcp", "targets": [*SERVERS, *IMAGE_SERVERS], "deniedTools": [],
                  "expectedTools": [f"{entry['name']}_{tool}" for entry in expected_plan
                                    for tool in entry["expectedTools"]]}
    *per_server, aggregate_entry = dev.outputs["verificationPlan"]
    assert per_server == expected_plan
    assert {key: aggregate_entry[key] for key in aggregated} == aggregated
    assert dev.outputs["routes"] == {**{name: f"/mcp/{name}" for name in (*SERVERS, *IMAGE_SERVERS)},
                                     AGGREGATE_NAME: "/mcp"}
    assert (dev.outputs["namespace"], dev.outputs["gateway"]) == \
        ("mcp", {"name": "mcp-gateway", "namespace": "agentgateway-system", "port": 80})
    assert set(dev.outputs) == {"namespace", "gateway", "routes", "verificationPlan"}
    # The post-deploy verifier accepts the plan as `pulumi stack output --json` prints it.
    routes = parse_plan(json.loads(json.dumps(dev.outputs["verificationPlan"])))
    assert [(r.name, r.path) for r in routes] == \
        [(p["name"], p["path"]) for p in expected_plan] + [(AGGREGATE_NAME, "/mcp")]


def test_bad_config_declares_nothing(mocks):
    config = cli_config("dev", {"mcp-federation:servers": [{"name": "Git_Hub"}, {"name": "slack", "replicas": 0}]})
    with pytest.raises(ConfigError) as caught:
        run_program(mocks, config)
    assert [e.split(":")[0] for e in caught.value.errors] == ["servers[0].name", "servers[1].replicas"]
    assert mocks.created == []


def test_existing_gateway_and_namespace_are_referenced_not_declared(mocks):
    declared = run_program(mocks, cli_config("dev", {
        "mcp-federation:createNamespace": False,
        "mcp-federation:gateway": {"create": False, "name": "shared", "namespace": "gateways", "port": 8080}}))
    kinds = {r.typ for r in declared.resources}
    assert GATEWAY not in kinds and NAMESPACE not in kinds and PARAMETERS not in kinds
    route = declared.one(HTTP_ROUTE, "github-route").inputs
    assert route["spec"]["parentRefs"][0]["name"] == "shared"
    assert route["spec"]["parentRefs"][0]["namespace"] == "gateways"
    assert declared.one(DEPLOYMENT, "github").inputs["metadata"]["namespace"] == "mcp"
    assert declared.outputs["gateway"] == {"name": "shared", "namespace": "gateways", "port": 8080}
    for resource in declared.kubernetes_objects():
        assert_valid(resource.inputs)


def test_per_server_settings_reach_the_objects(mocks):
    declared = run_program(mocks, cli_config("dev", {
        "mcp-federation:aggregate": {"enabled": False},
        "mcp-federation:namespace": "tools", "mcp-federation:secrets": {"sessionKey": "k" * 16},
        "mcp-federation:servers": [
        {"name": "github", "path": "/gh", "replicas": 3, "port": 9090, "image": "python:3.12-slim",
         "resources": {"limits": {"memory": "256Mi"}}}]}))
    deployment = normalize_numbers(declared.one(DEPLOYMENT, "github").inputs)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert deployment["spec"]["replicas"] == 3
    assert container["image"] == "python:3.12-slim"
    assert container["resources"]["limits"]["memory"] == "256Mi"
    env = {e["name"]: e for e in container["env"]}
    assert env["PORT"]["value"] == "9090"
    assert env["MCP_SESSION_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "github-secrets", "key": "sessionKey"}}
    backend = normalize_numbers(declared.one(BACKEND, "github-backend").inputs)
    assert backend["spec"]["mcp"]["targets"][0]["static"]["port"] == 9090
    route = declared.one(HTTP_ROUTE, "github-route").inputs
    assert route["spec"]["rules"][0]["matches"][0]["path"]["value"] == "/gh"
    assert route["metadata"]["namespace"] == "tools"
    gateway = declared.one(GATEWAY, "mcp-gateway").inputs
    assert gateway["spec"]["listeners"][0]["allowedRoutes"]["namespaces"]["selector"] == \
        {"matchLabels": {"kubernetes.io/metadata.name": "tools"}}
    assert declared.outputs["routes"] == {"github": "/gh"}
    for resource in declared.kubernetes_objects():
        assert_valid(resource.inputs)
