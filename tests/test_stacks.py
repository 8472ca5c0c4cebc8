"""Every stack (dev, staging, prod) rendered by the real program under mocks, with the config the CLI would use
(Pulumi.yaml defaults, then Pulumi.<stack>.yaml). Secrets a stack needs but does not (cannot) hold in its file are
filled with placeholders from ConfigError.missing_secrets by the offline renderer's own run. Every object is
validated against the real CRDs / Kubernetes 1.33 schemas; the stacks differ only in config."""
from __future__ import annotations

import json

import pytest
import yaml

from policy import pod_security
from policy.k8s_objects import pod_template
from render.core import UNSET_SECRET, run_stack
from render.stack_config import placeholder, stack_config
from tests.k8s_schema import assert_valid, normalize_numbers, unwrap_secrets
from tests.pulumi_mocks import REPO_ROOT, Declared
from verify.plan import parse_plan
from tests.resource_types import BACKEND, DEPLOYMENT, GATEWAY, HTTP_ROUTE, PARAMETERS, PDB, POLICY, SECRET

STACKS = ("dev", "staging", "prod")
PROD_IMAGE = "python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7"


def render(stack: str) -> tuple[Declared, list[str]]:
    """Run the program for `stack` as `python -m render` does (on missing secrets: placeholders, then again);
    returns what it declared and the config paths of the secrets that got placeholders."""
    declared, _, config = run_stack(stack_config(stack), REPO_ROOT / "__main__.py", log=lambda _message: None)
    return declared, sorted(path for path, why in config.placeholders.items() if why == UNSET_SECRET)


@pytest.fixture(scope="module")
def rendered() -> dict[str, tuple[Declared, list[str]]]:
    return {stack: render(stack) for stack in STACKS}


def test_every_stack_has_a_file_with_config_only():
    for stack in STACKS:
        document = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())
        assert set(document) == {"config"}, stack
        assert all(key.split(":")[0] in ("mcp-federation", "kubernetes", "pulumi") for key in document["config"])


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_of_every_stack_is_valid(rendered, stack):
    declared, _ = rendered[stack]
    objects = declared.kubernetes_objects()
    assert len(objects) > 10
    for resource in objects:
        assert_valid(resource.inputs)
        # the policy pack's Pod Security "restricted" rule (pod templates; the Namespace's enforce label)
        assert pod_security.violations(resource.typ, unwrap_secrets(resource.inputs)) == [], (stack, resource.name)
    assert [r for r in objects if pod_template(r.typ, unwrap_secrets(r.inputs))]  # the rule saw workloads


@pytest.mark.parametrize("stack", STACKS)
def test_the_verifier_accepts_every_stacks_plan(rendered, stack):
    declared, _ = rendered[stack]
    routes = parse_plan(json.loads(json.dumps(declared.outputs["verificationPlan"])))
    assert [route.name for route in routes] == list(declared.outputs["routes"])


def test_only_staging_and_prod_need_a_secret_outside_the_file(rendered):
    session_key = "mcp-federation:secrets.sessionKey"
    assert {stack: missing for stack, (_, missing) in rendered.items()} == \
        {"dev": [], "staging": [session_key], "prod": [session_key]}
    for stack, (declared, missing) in rendered.items():
        text = json.dumps(declared.outputs) + json.dumps([r.inputs for r in declared.resources if r.typ != SECRET])
        assert all(placeholder(path) not in text for path in missing), stack


def _deployments(declared: Declared) -> dict[str, dict]:
    return {r.name: normalize_numbers(r.inputs) for r in declared.of_type(DEPLOYMENT)}


# Image servers run their own pinned image (dev: the official MCP reference server on a pinned Node image).
IMAGE_SERVER_IMAGES = {("dev", "everything"): "node:22.23.2-alpine3.24"}


def test_servers_replicas_resources_and_image_pins_differ_by_stack(rendered):
    expected = {
        "dev": ({"fetch": 1, "github": 1, "slack": 1, "everything": 1}, "python:3.11-slim", "128Mi"),
        "staging": ({"fetch": 1, "github": 2, "slack": 2}, "python:3.11.13-slim", "192Mi"),
        "prod": ({"github": 3, "slack": 3}, PROD_IMAGE, "256Mi"),
    }
    for stack, (replicas, image, memory_limit) in expected.items():
        deployments = _deployments(rendered[stack][0])
        assert {name: d["spec"]["replicas"] for name, d in deployments.items()} == replicas, stack
        for name, deployment in deployments.items():
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            assert container["image"] == IMAGE_SERVER_IMAGES.get((stack, name), image), (stack, name)
            if replicas[name] > 1:
                assert container["resources"]["limits"]["memory"] == memory_limit, (stack, name)
        budgets = sorted(r.name for r in rendered[stack][0].of_type(PDB))
        assert budgets == sorted(f"{name}-pdb" for name, count in replicas.items() if count > 1), stack


def test_gateway_exposure_differs_by_stack(rendered):
    dev, staging, prod = (rendered[stack][0] for stack in STACKS)
    assert dev.one(PARAMETERS, "mcp-gateway-parameters").inputs["spec"] == \
        {"service": {"spec": {"type": "ClusterIP"}}}        # dev: kubectl port-forward
    assert staging.one(PARAMETERS, "mcp-gateway-parameters").inputs["spec"] == \
        {"service": {"spec": {"type": "LoadBalancer"}}}
    assert prod.of_type(GATEWAY) == [] and prod.of_type(PARAMETERS) == []  # prod: the platform's Gateway
    assert prod.outputs["gateway"] == {"name": "agentgateway-proxy", "namespace": "agentgateway-system", "port": 80}
    for route in prod.of_type(HTTP_ROUTE):
        (parent,) = route.inputs["spec"]["parentRefs"]
        assert (parent["name"], parent["namespace"], parent["sectionName"]) == \
            ("agentgateway-proxy", "agentgateway-system", "http")


def test_dangerous_tools_are_reachable_in_dev_only(rendered):
    def policies(stack: str) -> dict:
        return {r.name: r.inputs["spec"]["backend"]["mcp"]["authorization"] for r in rendered[stack][0].of_type(POLICY)
                if "backend" in r.inputs["spec"]}

    def denied(stack: str) -> dict:
        return {entry["name"]: entry["deniedTools"] for entry in rendered[stack][0].outputs["verificationPlan"]}

    assert policies("dev") == {} and set(map(tuple, denied("dev").values())) == {()}
    assert policies("staging") == {
        "github-tools": {"action": "Deny", "policy": {"matchExpressions": ['mcp.tool.name == "delete_repo"']}},
        "slack-tools": {"action": "Deny", "policy": {"matchExpressions": ['mcp.tool.name == "delete_channel"']}},
        "mcp-all-tools": {"action": "Deny", "policy": {"matchExpressions": [
            'mcp.tool.target == "github" && mcp.tool.name == "delete_repo"',
            'mcp.tool.target == "slack" && mcp.tool.name == "delete_channel"']}}}
    assert denied("staging") == {"fetch": [], "github": ["delete_repo"], "slack": ["delete_channel"],
                                 "mcp-all": ["github_delete_repo", "slack_delete_channel"]}
    assert policies("prod")["github-tools"] == {"action": "Allow", "policy": {"matchExpressions": [
        'mcp.tool.name == "get_repo"', 'mcp.tool.name == "list_issues"',
        'mcp.tool.name == "create_issue" && has(jwt.groups) && type(jwt.groups) == list && "mcp-writers" in jwt.groups']}}
    assert denied("prod") == {"github": ["delete_repo"], "slack": ["delete_channel"]}


def _jwt_policies(declared: Declared) -> list:
    return [r for r in declared.of_type(POLICY) if "traffic" in r.inputs["spec"]]


def test_authentication_differs_by_stack(rendered):
    """dev: anonymous (no IdP for the kind quick start); staging: Strict on its Gateway; prod: Strict on each of
    its routes (the Gateway is the platform's); both with a remote JWKS fetched over TLS."""
    dev, staging, prod = (rendered[stack][0] for stack in STACKS)
    assert _jwt_policies(dev) == [] and all("auth" not in entry for entry in dev.outputs["verificationPlan"])
    (gateway_policy,) = _jwt_policies(staging)
    assert gateway_policy.inputs["spec"]["targetRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "mcp-gateway"}]
    assert gateway_policy.inputs["metadata"]["namespace"] == "agentgateway-system"
    routes = {r.inputs["metadata"]["name"] for r in prod.of_type(HTTP_ROUTE)}
    targeted = [ref["name"] for r in _jwt_policies(prod) for ref in r.inputs["spec"]["targetRefs"]]
    assert sorted(targeted) == sorted(routes) and len(routes) == 2   # every route exactly once
    for declared, namespace in ((staging, "agentgateway-system"), (prod, "mcp")):
        for policy in _jwt_policies(declared):
            jwt = policy.inputs["spec"]["traffic"]["jwtAuthentication"]
            assert jwt["mode"] == "Strict"
            ((provider),) = jwt["providers"]
            backend = declared.one(BACKEND, provider["jwks"]["remote"]["backendRef"]["name"]).inputs
            assert backend["metadata"]["namespace"] == policy.inputs["metadata"]["namespace"] == namespace
            assert normalize_numbers(backend["spec"]) == {"static": {"host": "sso.example.com", "port": 443},
                                                          "policies": {"tls": {"sni": "sso.example.com"}}}
        assert all(entry["auth"] == {"required": True, "resourceMetadata": False}
                   for entry in declared.outputs["verificationPlan"])


def test_prod_restricts_create_issue_to_writers(rendered):
    prod = rendered["prod"][0]
    (github,) = [entry for entry in prod.outputs["verificationPlan"] if entry["name"] == "github"]
    assert github["toolGroups"] == {"create_issue": ["mcp-writers"]} and github["groupsClaim"] == "groups"
    assert "allowedGroups" not in github


@pytest.mark.parametrize("stack", STACKS)
def test_every_authorization_rule_of_every_stack_compiles_as_cel(rendered, stack):
    import celpy
    environment = celpy.Environment()
    expressions = [e for r in rendered[stack][0].of_type(POLICY) if "backend" in r.inputs["spec"]
                   for e in r.inputs["spec"]["backend"]["mcp"]["authorization"]["policy"]["matchExpressions"]]
    assert expressions or stack == "dev"
    for expression in expressions:
        environment.compile(expression)  # raises CELParseError on a bad rule
