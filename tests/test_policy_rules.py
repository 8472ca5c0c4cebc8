"""The policy pack's rule functions on edge cases (image references, object lookups, annotation parsing, the
Allow/Deny semantics), plus the pack's metadata: every policy mandatory with a description that says what to fix."""
from __future__ import annotations

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from policy import dangerous_tools, image_pinning, pod_security, resource_limits
from policy.dangerous_tools import Authorization, DangerousTool, is_denied, parse_annotation
from policy.k8s_objects import describe, gvk, namespace_of, pod_template, stack_of_urn
from policy.pack import PACK_NAME, POLICIES
from policy.testing import Declared, check_resource, engine_props


@pytest.mark.parametrize("image", [
    "python:3.11-slim", "ghcr.io/org/app:1.2.3", "registry.local:5000/team/app:v2",
    "python@sha256:" + "a" * 64, "python:latest@sha256:" + "0123456789abcdef" * 4])
def test_pinned_images_pass(image):
    assert image_pinning.image_problem(image) is None


@pytest.mark.parametrize("image, expected", [
    ("python", "has no tag, so it means :latest"),
    ("python:latest", "uses the tag latest"),
    ("registry.local:5000/team/app", "has no tag"),  # the port is not a tag
    ("ghcr.io/org/app:", "has an empty tag"),
    ("python@sha256:xyz", "malformed digest"),
    ("", "has no image"),
    (None, "has no image"),
])
def test_unpinned_images_are_named_with_the_reason(image, expected):
    problem = image_pinning.image_problem(image)
    assert problem is not None and expected in problem
    if image:
        assert repr(image) in problem


def test_type_tokens_and_urns():
    assert gvk("kubernetes:apps/v1:Deployment") == ("apps", "v1", "Deployment")
    assert gvk("kubernetes:core/v1:Namespace") == ("", "v1", "Namespace")
    assert gvk("kubernetes:agentgateway.dev/v1alpha1:AgentgatewayBackend") == \
        ("agentgateway.dev", "v1alpha1", "AgentgatewayBackend")
    assert gvk("pulumi:providers:kubernetes") is None and gvk("mcpfederation:components:McpServer") is None
    assert stack_of_urn("urn:pulumi:prod::mcp-federation::kubernetes:core/v1:Namespace::mcp") == "prod"
    with pytest.raises(ValueError, match="not a Pulumi URN: 'mcp'"):
        stack_of_urn("mcp")


def test_namespace_defaults_to_the_provider_then_default():
    assert namespace_of({"metadata": {"namespace": "mcp"}}, {"namespace": "other"}) == "mcp"
    assert namespace_of({"metadata": {}}, {"namespace": "other"}) == "other"
    assert namespace_of({}) == "default"
    assert describe("kubernetes:apps/v1:Deployment", {"metadata": {"name": "a", "namespace": "n"}}) == "Deployment n/a"
    assert describe("kubernetes:core/v1:Namespace", {}, "fallback") == "Namespace fallback"


@pytest.mark.parametrize("resource_type, props, spec_path", [
    ("kubernetes:core/v1:Pod", {"spec": {"containers": []}}, "spec"),
    ("kubernetes:batch/v1:Job", {"spec": {"template": {"spec": {}}}}, "spec.template.spec"),
    ("kubernetes:batch/v1:CronJob", {"spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}},
     "spec.jobTemplate.spec.template.spec"),
    ("kubernetes:apps/v1:StatefulSet", {"spec": {"template": {"spec": {}}}}, "spec.template.spec"),
])
def test_pod_templates_of_every_workload_kind(resource_type, props, spec_path):
    assert pod_template(resource_type, engine_props(props)).path == spec_path


def test_objects_that_run_no_pods_are_not_workloads():
    for resource_type in ("kubernetes:core/v1:Service", "kubernetes:core/v1:ConfigMap", "pulumi:providers:kubernetes"):
        props = {"spec": {"template": {"spec": {"containers": [{"name": "x", "image": "python"}]}}}}
        assert pod_template(resource_type, props) is None
        assert image_pinning.violations(resource_type, props) == resource_limits.violations(resource_type, props) \
            == pod_security.violations(resource_type, props) == []


def test_a_bare_pod_is_checked_at_pod_level_and_per_container():
    pod = {"metadata": {"name": "p", "namespace": "n",
                        "annotations": {"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}},
           "spec": {"hostPID": True, "securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]},
                    "containers": [{"name": "c", "image": "app:1", "securityContext": {"procMount": "Unmasked"}}]}}
    found = check_resource(Declared("kubernetes:core/v1:Pod", pod, "urn:pulumi:dev::p::kubernetes:core/v1:Pod::p", "p"))
    messages = [v.message for v in found if v.policy == "pod-security-restricted"]
    for expected in ("spec.hostPID must be unset or false", "'kernel.msgmax', which is not a safe sysctl",
                     "container.apparmor.security.beta.kubernetes.io/c must be runtime/default",
                     "container 'c': securityContext.procMount must be unset or Default",
                     "container 'c': securityContext.allowPrivilegeEscalation must be false",
                     "container 'c': securityContext.capabilities.drop must include ALL",
                     "container 'c': securityContext.runAsNonRoot must be true",
                     "container 'c': securityContext.seccompProfile.type must be RuntimeDefault or Localhost"):
        assert any(expected in m for m in messages), (expected, messages)
    assert all(m.startswith("Pod n/p: ") for m in messages)
    assert {v.policy for v in found} == {"pod-security-restricted", "resource-limits"}


def test_container_level_settings_satisfy_the_profile_without_a_pod_security_context():
    pod = {"spec": {"containers": [{"name": "c", "image": "app:1", "securityContext": {
        "runAsNonRoot": True, "allowPrivilegeEscalation": False, "seccompProfile": {"type": "Localhost"},
        "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}],
        "volumes": [{"name": "t", "projected": {"sources": []}}, {"name": "e", "emptyDir": {}}]}}
    assert pod_security.violations("kubernetes:core/v1:Pod", engine_props(pod)) == []


@pytest.mark.parametrize("value, pairs, problems", [
    ("", [], []),
    ("github/delete_repo", [("github", "delete_repo")], []),
    ("github/delete_repo,slack/delete_channel", [("github", "delete_repo"), ("slack", "delete_channel")], []),
    ("github/delete_repo,delete_all,/x,a/b/c", [("github", "delete_repo")],
     ["entry 'delete_all' is not <target>/<tool>", "entry '/x' is not <target>/<tool>",
      "entry 'a/b/c' is not <target>/<tool>"]),
    ("github/delete_repo, slack/wipe ,t/wipe_\U0001f5d1,,t/" + "a" * 129, [("github", "delete_repo")],
     ["entry ' slack/wipe ': 'wipe ' is not an MCP tool name (1 to 128 characters, each an ASCII letter, digit, "
      "'_', '-' or '.': the MCP 2025-11-25 rule)",
      "entry 't/wipe_\U0001f5d1': 'wipe_\U0001f5d1' is not an MCP tool name (1 to 128 characters, each an ASCII "
      "letter, digit, '_', '-' or '.': the MCP 2025-11-25 rule)",
      "entry '' is not <target>/<tool>",
      f"entry 't/{'a' * 129}': {'a' * 129!r} is not an MCP tool name (1 to 128 characters, each an ASCII letter, "
      "digit, '_', '-' or '.': the MCP 2025-11-25 rule)"]),
])
def test_dangerous_tools_annotation_parsing(value, pairs, problems):
    assert parse_annotation(value) == ([DangerousTool(*p) for p in pairs], problems)


def test_deny_and_allow_semantics():
    pair = DangerousTool("github", "delete_repo")
    targeted, by_name = dangerous_tools.matching_expressions(pair)
    assert (targeted, by_name) == ('mcp.tool.target == "github" && mcp.tool.name == "delete_repo"',
                                   'mcp.tool.name == "delete_repo"')
    other = 'mcp.tool.name == "search"'
    assert not is_denied(pair, [])                                          # no policy: everything allowed
    assert is_denied(pair, [Authorization("Deny", (other, by_name))])
    assert is_denied(pair, [Authorization("Deny", (targeted,))])
    assert not is_denied(pair, [Authorization("Deny", (other,))])
    assert not is_denied(pair, [Authorization("Deny", ('mcp.tool.target == "slack" && ' + by_name,))])
    assert is_denied(pair, [Authorization("Allow", (other,))])              # an Allow list without it
    assert is_denied(pair, [Authorization("Allow", ('mcp.tool.target == "slack" && ' + by_name,))])
    assert not is_denied(pair, [Authorization("Allow", (other,)), Authorization("Allow", (targeted,))])  # OR
    assert is_denied(pair, [Authorization("Allow", (by_name,)), Authorization("Deny", (by_name,))])  # Deny wins
    assert not is_denied(pair, [Authorization("Require", (other,))])        # Require is not a deny list


# Allow rules that do match delete_repo (or may match anything) although they are not its canonical expression.
ALLOWING_ANYTHING = ["mcp.tool.name == 'delete_repo'", 'mcp.tool.name == "get_repo" || mcp.tool.name == "delete_repo"',
                     "true", 'mcp.tool.target == "github"', 'mcp.tool.name == "get_repo" && true || true',
                     'mcp.tool.name == "get_repo" && has(jwt.groups) && type(jwt.groups) == list && "a" in jwt.groups'
                     ' || true', 'mcp.tool.name == "delete_r\\u0065po"', 'mcp.tool.name != "get_repo"']


@pytest.mark.parametrize("expression", ALLOWING_ANYTHING)
def test_an_allow_rule_not_in_the_programs_form_may_allow_anything(expression):
    pair = DangerousTool("github", "delete_repo")
    authorizations = [Authorization("Allow", ('mcp.tool.name == "get_repo"', expression))]
    assert not is_denied(pair, authorizations)
    assert "is not in a form the program writes, so it may match any tool" in \
        dangerous_tools.why_callable(pair, authorizations)


@pytest.mark.parametrize("expression", ALLOWING_ANYTHING)
def test_a_deny_rule_not_in_the_canonical_form_denies_nothing(expression):
    assert not is_denied(DangerousTool("github", "delete_repo"), [Authorization("Deny", (expression,))])


def test_group_narrowed_allow_rules_are_read_as_the_program_writes_them():
    pair = DangerousTool("github", "delete_repo")
    writers = 'has(jwt.groups) && type(jwt.groups) == list && ("w" in jwt.groups || "a" in jwt.groups)'
    assert is_denied(pair, [Authorization("Allow", (f'mcp.tool.name == "get_repo" && {writers}',))])
    assert not is_denied(pair, [Authorization("Allow", (f'mcp.tool.name == "delete_repo" && {writers}',))])


def test_rules_that_may_reach_the_backend_only_partly_count_for_allowing_never_for_denying():
    pair = DangerousTool("github", "delete_repo")
    by_name = dangerous_tools.matching_expressions(pair)[1]
    assert not is_denied(pair, [Authorization("Deny", (by_name,), whole_backend=False)])
    assert not is_denied(pair, [Authorization("Allow", ('mcp.tool.name == "x"',), whole_backend=False)])
    assert not is_denied(pair, [Authorization("Allow", ('mcp.tool.name == "x"',)),
                                Authorization("Allow", ("true",), whole_backend=False)])


def test_dev_stacks_config_is_checked():
    assert dangerous_tools.dev_stacks_from_config({}) == ("dev",)
    assert dangerous_tools.dev_stacks_from_config({"devStacks": ["dev", "dev-alice"]}) == ("dev", "dev-alice")
    for bad in ("dev", [1], None):
        with pytest.raises(ValueError, match=r"dangerous-tools-denied\.devStacks must be a list of stack names"):
            dangerous_tools.dev_stacks_from_config({"devStacks": bad})


def test_the_pack_is_mandatory_and_says_what_to_fix():
    assert PACK_NAME == "mcp-federation"
    assert [(p.name, type(p)) for p in POLICIES] == [
        ("pod-security-restricted", ResourceValidationPolicy), ("resource-limits", ResourceValidationPolicy),
        ("image-pinned", ResourceValidationPolicy), ("route-backend-declared", StackValidationPolicy),
        ("dangerous-tools-denied", StackValidationPolicy), ("jwt-authentication-required", StackValidationPolicy)]
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in POLICIES)
    fixes = {"pod-security-restricted": ["runAsNonRoot: true", "RuntimeDefault", "allowPrivilegeEscalation: false",
                                         "drop [ALL]", "pod-security.kubernetes.io/enforce: restricted"],
             "resource-limits": ["resources.limits.memory"], "image-pinned": ["other than latest", "digest"],
             "route-backend-declared": ["declared in this stack"],
             "dangerous-tools-denied": ["action Deny", "spec.policies.mcp.authorization", "denyDangerousTools: true",
                                        "devStacks"],
             "jwt-authentication-required": ["exactly one", "mode Strict", "not targetSelectors", "auth.mode Strict",
                                             "devStacks"]}
    for policy in POLICIES:
        assert all(text in policy.description for text in fixes[policy.name]), policy.name
