"""The validation harness itself: CRD discovery, strict schemas, CEL rules and built-in kinds."""
from __future__ import annotations

import copy
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from tests import k8s_schema as ks

# The resources of research/agentgateway.md section 7 (copied verbatim; all must validate).
RESEARCH_EXAMPLES = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: agentgateway-proxy, namespace: agentgateway-system}
spec:
  gatewayClassName: agentgateway
  listeners:
  - {name: http, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: v1
kind: Service
metadata:
  name: jira-mcp
  namespace: mcp
  labels: {mcp-federation: "true"}
  annotations:
    agentgateway.dev/mcp-path: /mcp
    agentgateway.dev/mcp-target-name: jira
spec:
  selector: {app: jira-mcp}
  ports:
  - {name: http, port: 8080, targetPort: 8080, appProtocol: agentgateway.dev/mcp}
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: {name: mcp-federation, namespace: mcp}
spec:
  mcp:
    sessionRouting: Stateful
    failureMode: FailClosed
    prefixMode: Conditional
    targets:
    - name: github
      static:
        host: github-mcp.mcp.svc.cluster.local
        port: 8080
        path: /mcp
        protocol: StreamableHTTP
    - name: jira
      static:
        backendRef: {name: jira-mcp}
        port: 8080
        protocol: StreamableHTTP
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayBackend
metadata: {name: mcp-selected, namespace: mcp}
spec:
  mcp:
    targets:
    - name: labelled
      selector:
        services: {matchLabels: {mcp-federation: "true"}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mcp-federation, namespace: mcp}
spec:
  parentRefs:
  - {group: gateway.networking.k8s.io, kind: Gateway, name: agentgateway-proxy, namespace: agentgateway-system}
  rules:
  - matches:
    - path: {type: PathPrefix, value: /mcp}
    backendRefs:
    - {group: agentgateway.dev, kind: AgentgatewayBackend, name: mcp-federation}
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: mcp-deny-delete-repo, namespace: mcp}
spec:
  targetRefs:
  - {group: agentgateway.dev, kind: AgentgatewayBackend, name: mcp-federation}
  backend:
    mcp:
      authorization:
        action: Deny
        policy:
          matchExpressions:
          - 'mcp.tool.target == "github" && mcp.tool.name == "delete_repo"'
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: mcp-allowlist, namespace: mcp}
spec:
  targetRefs:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: mcp-federation}
  backend:
    mcp:
      authorization:
        action: Allow
        policy:
          matchExpressions:
          - 'mcp.tool.name == "get_repo"'
          - 'mcp.tool.name == "search_issues"'
"""


def examples() -> list[dict]:
    return list(yaml.safe_load_all(RESEARCH_EXAMPLES))


def example(kind: str, name: str) -> dict:
    return copy.deepcopy(next(o for o in examples() if o["kind"] == kind and o["metadata"]["name"] == name))


def backend_with(mcp: dict) -> dict:
    obj = example("AgentgatewayBackend", "mcp-federation")
    obj["spec"]["mcp"] = mcp
    return obj


def static_target(**static) -> dict:
    return {"name": "github", "static": {"host": "github.mcp.svc", "port": 8080, **static}}


def only_error(obj: dict) -> str:
    errors = ks.validate_object(obj)
    assert len(errors) >= 1, f"expected a validation error for {obj}"
    return "\n".join(errors)


# --- CRD discovery ---------------------------------------------------------------------------------------

def test_crds_dir_defaults_to_shared_crds_next_to_the_repo(monkeypatch):
    monkeypatch.delenv(ks.CRDS_ENV, raising=False)
    shared = ks.REPO_ROOT.parent / "shared" / "crds"
    expected = shared if shared.is_dir() else ks.REPO_ROOT / ".crds"
    assert ks.crds_dir() == expected


def test_crds_dir_env_var_wins(monkeypatch, tmp_path):
    for name in ks.REQUIRED_CRD_FILES:
        shutil.copy(ks.crds_dir() / name, tmp_path / name)
    monkeypatch.setenv(ks.CRDS_ENV, str(tmp_path))
    assert ks.crds_dir() == tmp_path


def test_missing_crds_fail_with_instructions(monkeypatch, tmp_path):
    (tmp_path / ks.REQUIRED_CRD_FILES[0]).write_text("# only one\n")
    monkeypatch.setenv(ks.CRDS_ENV, str(tmp_path))
    with pytest.raises(ks.CrdsNotFoundError) as caught:
        ks.crds_dir()
    message = str(caught.value)
    assert "make crds" in message and ks.CRDS_ENV in message
    assert ks.REQUIRED_CRD_FILES[1] in message


# --- CEL rules -------------------------------------------------------------------------------------------

def test_every_cel_rule_of_the_crds_compiles():
    assert ks.rule_count() == 995  # occurrences in the served versions of the 7 CRD files (v1.4.1 / v1.6.1)
    bad = [(r.kind, r.location, r.compile_error) for r in ks.uncompilable_rules()]
    assert bad == []


def test_an_uncompilable_rule_is_counted_and_reported(tmp_path):
    crd = yaml.safe_load(textwrap.dedent("""
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: widgets.example.com}
        spec:
          group: example.com
          names: {kind: Widget, plural: widgets}
          scope: Namespaced
          versions:
          - name: v1
            served: true
            storage: true
            schema:
              openAPIV3Schema:
                type: object
                properties:
                  apiVersion: {type: string}
                  kind: {type: string}
                  metadata: {type: object}
                  spec:
                    type: object
                    properties:
                      url: {type: string}
                    x-kubernetes-validations:
                    - rule: isURL(self.url)
                      message: url must be a URL
                    - rule: self.url.startsWith(
                      message: broken syntax
                    - rule: self.url.size() < 10
                      message: url too long
        """))
    (tmp_path / "widgets.yaml").write_text(yaml.safe_dump(crd))
    bad = ks.uncompilable_rules(tmp_path)
    assert [r.message for r in bad] == ["url must be a URL", "broken syntax"]
    assert "isURL" in bad[0].compile_error
    version = ks.load_crds(tmp_path)[("example.com/v1", "Widget")]
    errors = ks._validate_custom(version, {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {},
                                           "spec": {"url": "https://a.example/long"}})
    assert len(errors) == 3
    assert sum("could not be compiled" in e for e in errors) == 2
    assert "spec: url too long" in errors


@pytest.mark.parametrize("expression, expected", [
    ("duration('500ms') > duration('100ms')", True),
    ("duration('1h30m') == duration('90m')", True),
    ("duration('1s') >= duration('1ms')", True),
    ("'a/b/c'.split('/')[0]", "a"),
    ("'a/b/c'.split('/').size()", 3),
    ("'a*b*'.indexOf('*')", 1),
    ("'a*b*'.lastIndexOf('*')", 3),
    ("'abc'.indexOf('z')", -1),
    ("quantity('16Ki').isLessThan(quantity('16384'))", False),
    ("quantity('1M').isGreaterThan(quantity('1677215'))", False),
    ("quantity('2Mi').isGreaterThan(quantity('1677215'))", True),
    ("quantity('1500m').isLessThan(quantity('2'))", True),
    ("matches('10s', '^([0-9]{1,5}(h|m|s|ms)){1,4}$')", True),
])
def test_kubernetes_cel_extension_functions(expression, expected):
    rule = ks.compile_rule("Test", "spec", {"rule": expression})
    assert rule.compile_error is None
    assert rule.program.evaluate({}) == expected


def test_property_names_are_escaped_like_kubernetes():
    assert ks.escape_property("namespace") == "__namespace__"
    assert ks.escape_property("x-y.z") == "x__dash__y__dot__z"
    assert ks.escape_property("a__b") == "a__underscores__b"
    assert ks.escape_property("plain") == "plain"


def test_transition_rules_are_compiled_but_not_evaluated_on_create():
    rules = [r for r in ks._all_rules() if r.is_transition_rule]
    assert rules and all(r.compile_error is None for r in rules)


# --- the research examples and the negative cases ------------------------------------------------------------

@pytest.mark.parametrize("obj", examples(), ids=lambda o: f"{o['kind']}-{o['metadata']['name']}")
def test_research_examples_validate(obj):
    assert ks.validate_object(obj) == []


def test_tutorial_shape_target_singular_is_rejected():
    errors = only_error(backend_with({"target": {"host": "github.mcp.svc", "port": 8080}}))
    assert "spec.mcp: 'targets' is a required property" in errors
    assert "'target' was unexpected" in errors


def test_target_name_with_underscore_is_rejected():
    errors = only_error(backend_with({"targets": [{**static_target(), "name": "git_hub"}]}))
    assert "spec.mcp.targets[0].name: 'git_hub' does not match" in errors


def test_host_and_backend_ref_together_are_rejected():
    errors = only_error(backend_with({"targets": [static_target(backendRef={"name": "github"})]}))
    assert "spec.mcp.targets[0].static: exactly one of the fields in [host backendRef] must be set" in errors


def test_neither_host_nor_backend_ref_is_rejected():
    target = {"name": "github", "static": {"port": 8080}}
    assert "exactly one of the fields in [host backendRef]" in only_error(backend_with({"targets": [target]}))


def test_protocol_must_be_the_enum_value():
    errors = only_error(backend_with({"targets": [static_target(protocol="streamable-http")]}))
    assert "static.protocol: 'streamable-http' is not one of ['SSE', 'StreamableHTTP']" in errors


def test_duplicate_target_names_are_rejected_by_cel_and_list_map():
    target = static_target()
    errors = only_error(backend_with({"targets": [target, copy.deepcopy(target)]}))
    assert "spec.mcp.targets: target names must be unique" in errors
    assert "duplicate entry with name='github'" in errors


def test_backend_mcp_policy_with_section_name_is_rejected():
    policy = example("AgentgatewayPolicy", "mcp-deny-delete-repo")
    policy["spec"]["targetRefs"][0]["sectionName"] = "github"
    assert "spec: backend.mcp may not target an AgentgatewayBackend sectionName" in only_error(policy)


def test_backend_mcp_policy_on_a_service_is_rejected():
    policy = example("AgentgatewayPolicy", "mcp-deny-delete-repo")
    policy["spec"]["targetRefs"] = [{"group": "", "kind": "Service", "name": "github"}]
    assert "spec: backend.mcp may not be used with a Service target" in only_error(policy)


def test_route_path_rules_and_defaults_are_applied():
    route = example("HTTPRoute", "mcp-federation")
    route["spec"]["rules"][0]["matches"][0]["path"]["value"] = "mcp/github"
    route["spec"]["rules"][0]["backendRefs"] = [{"name": "github"}]  # kind defaults to Service: needs a port
    errors = only_error(route)
    assert "spec.rules[0].matches[0].path: value must be an absolute path" in errors
    assert "spec.rules[0].backendRefs[0]: Must have port for Service reference" in errors


def test_gateway_duplicate_listener_names_are_rejected():
    gateway = example("Gateway", "agentgateway-proxy")
    gateway["spec"]["listeners"].append({"name": "http", "protocol": "HTTP", "port": 8080})
    assert "Listener name must be unique within the Gateway" in only_error(gateway)


def test_unknown_metadata_field_of_a_custom_resource_is_rejected():
    backend = example("AgentgatewayBackend", "mcp-selected")
    backend["metadata"]["lables"] = {"a": "b"}
    assert "metadata: Additional properties are not allowed ('lables' was unexpected)" in only_error(backend)


def test_unknown_kind_is_an_error_not_a_pass():
    assert "unknown kind example.com/v1 Widget" in only_error({"apiVersion": "example.com/v1", "kind": "Widget"})


# --- built-in kinds --------------------------------------------------------------------------------------

def deployment() -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "github", "namespace": "mcp"},
        "spec": {"replicas": 1.0, "selector": {"matchLabels": {"app": "github"}},
                 "template": {"metadata": {"labels": {"app": "github"}},
                              "spec": {"containers": [{"name": "server", "image": "python:3.11-slim",
                                                       "ports": [{"containerPort": 8080.0, "name": "http"}]}]}}},
    }


def test_deployment_recorded_with_floats_validates():
    assert ks.validate_object(deployment()) == []


def test_unknown_field_in_deployment_is_rejected():
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/healthz"}}
    assert "containers[0]: Additional properties are not allowed ('readinesProbe' was unexpected)" in only_error(obj)


def test_unknown_field_in_service_is_rejected():
    service = example("Service", "jira-mcp")
    service["spec"]["ports"][0]["app_protocol"] = "agentgateway.dev/mcp"
    assert "spec.ports[0]: Additional properties are not allowed ('app_protocol' was unexpected)" in only_error(service)


def test_wrong_type_in_builtin_kind_is_rejected():
    service = example("Service", "jira-mcp")
    service["spec"]["ports"][0]["port"] = "eighty"
    assert "spec.ports[0].port" in only_error(service)


@pytest.mark.parametrize("kind, api_version", [("Namespace", "v1"), ("ConfigMap", "v1"), ("Secret", "v1"),
                                               ("NetworkPolicy", "networking.k8s.io/v1"),
                                               ("PodDisruptionBudget", "policy/v1")])
def test_other_builtin_kinds_are_checked_strictly(kind, api_version):
    obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}}
    assert ks.validate_object(obj) == []
    assert "'bogus' was unexpected" in only_error({**obj, "bogus": 1})


def test_normalize_numbers_keeps_non_whole_floats_and_booleans():
    assert ks.normalize_numbers({"a": [8080.0, 0.5, True, "1.0"]}) == {"a": [8080, 0.5, True, "1.0"]}
    assert type(ks.normalize_numbers(8080.0)) is int


def test_assert_valid_lists_every_error():
    obj = backend_with({"targets": [{**static_target(protocol="sse"), "name": "git_hub"}]})
    with pytest.raises(ks.SchemaValidationError) as caught:
        ks.assert_valid(obj)
    assert "2 validation error(s)" in str(caught.value)
    assert "'git_hub'" in str(caught.value) and "'sse'" in str(caught.value)


def test_pinned_kubernetes_version_has_schemas():
    assert Path(ks.kv_utils.__file__).parent.joinpath(
        "kubernetes-json-schema", f"v{ks.K8S_VERSION}-local-strict", "deployment-apps-v1.json").is_file()
