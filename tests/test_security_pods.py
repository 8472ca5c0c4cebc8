"""Pod Security "restricted" (issue 6): the namespace enforces it, and every pod template the program declares
meets every control of the profile (tests/pod_security.py; each control is shown to catch its violation)."""
from __future__ import annotations

import copy

import pytest

from tests.pod_security import pod_templates, restricted_violations
from tests.pulumi_mocks import cli_config, mocks, run_program  # noqa: F401 (fixture)

NAMESPACE = "kubernetes:core/v1:Namespace"
WORKLOAD_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet",
                  "kubernetes:batch/v1:Job", "kubernetes:core/v1:Pod")


def test_namespace_enforces_restricted(mocks):
    declared = run_program(mocks, cli_config("dev"))
    labels = declared.one(NAMESPACE, "mcp").inputs["metadata"]["labels"]
    assert {key: value for key, value in labels.items() if key.startswith("pod-security.kubernetes.io/")} == {
        "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted"}


def test_every_declared_pod_template_is_restricted(mocks):
    config = cli_config("dev", {"mcp-federation:secrets": {"sessionKey": "k" * 32, "token": "t0ken"},
                                "mcp-federation:servers": [
                                    {"name": "github", "replicas": 2, "secretEnv": {"GITHUB_TOKEN": "token"}},
                                    {"name": "slack"}, {"name": "fetch", "env": {"LOG": "1"}}]})
    declared = run_program(mocks, config)
    workloads = [r for r in declared.resources if r.typ in WORKLOAD_TYPES]
    assert sorted(r.name for r in workloads) == ["fetch", "github", "slack"]
    for workload in workloads:
        (template,) = pod_templates(workload.inputs)
        assert restricted_violations(template) == [], workload.name


COMPLIANT = {
    "metadata": {"labels": {"app": "x"}},
    "spec": {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "c", "image": "i:1", "ports": [{"containerPort": 8080}],
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                            "readOnlyRootFilesystem": True}}],
        "volumes": [{"name": "code", "configMap": {"name": "code"}}],
    },
}


def _mutated(path: str, value):
    template = copy.deepcopy(COMPLIANT)
    *parents, last = path.split(".")
    node = template
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return template


VIOLATIONS = {
    "host network": ("spec.hostNetwork", True, "spec.hostNetwork"),
    "host PID": ("spec.hostPID", True, "spec.hostPID"),
    "host IPC": ("spec.hostIPC", True, "spec.hostIPC"),
    "HostProcess": ("spec.securityContext.windowsOptions", {"hostProcess": True},
                    "spec.securityContext.windowsOptions.hostProcess"),
    "privileged": ("spec.containers.0.securityContext.privileged", True, "spec.containers[0].securityContext.privileged"),
    "capability beyond baseline": ("spec.containers.0.securityContext.capabilities",
                                   {"drop": ["ALL"], "add": ["SYS_ADMIN"]},
                                   "spec.containers[0].securityContext.capabilities.add: 'SYS_ADMIN'"),
    "capability beyond restricted": ("spec.containers.0.securityContext.capabilities",
                                     {"drop": ["ALL"], "add": ["CHOWN"]},
                                     "spec.containers[0].securityContext.capabilities.add: 'CHOWN' (only"),
    "capabilities not dropped": ("spec.containers.0.securityContext.capabilities", {"drop": ["NET_RAW"]},
                                 "spec.containers[0].securityContext.capabilities.drop"),
    "hostPath volume": ("spec.volumes", [{"name": "h", "hostPath": {"path": "/"}}], "spec.volumes[0].hostPath"),
    "restricted volume type": ("spec.volumes", [{"name": "n", "nfs": {"server": "s", "path": "/"}}],
                               "spec.volumes[0]: volume type ['nfs']"),
    "host port": ("spec.containers.0.ports", [{"containerPort": 8080, "hostPort": 8080}],
                  "spec.containers[0].ports[0].hostPort"),
    "AppArmor unconfined": ("spec.securityContext.appArmorProfile", {"type": "Unconfined"},
                            "spec.securityContext.appArmorProfile.type"),
    "AppArmor annotation": ("metadata.annotations", {"container.apparmor.security.beta.kubernetes.io/c": "unconfined"},
                            "metadata.annotations"),
    "SELinux type": ("spec.securityContext.seLinuxOptions", {"type": "spc_t"}, "spec.securityContext.seLinuxOptions.type"),
    "SELinux user": ("spec.securityContext.seLinuxOptions", {"user": "root"}, "spec.securityContext.seLinuxOptions.user"),
    "proc mount": ("spec.containers.0.securityContext.procMount", "Unmasked",
                   "spec.containers[0].securityContext.procMount"),
    "seccomp unconfined": ("spec.containers.0.securityContext.seccompProfile", {"type": "Unconfined"},
                           "spec.containers[0].securityContext.seccompProfile.type: 'Unconfined'"),
    "seccomp unset": ("spec.securityContext.seccompProfile", None,
                      "spec.containers[0].securityContext.seccompProfile.type: None"),
    "unsafe sysctl": ("spec.securityContext.sysctls", [{"name": "kernel.msgmax", "value": "1"}],
                      "spec.securityContext.sysctls[0].name"),
    "privilege escalation unset": ("spec.containers.0.securityContext.allowPrivilegeEscalation", None,
                                   "spec.containers[0].securityContext.allowPrivilegeEscalation: None"),
    "runAsNonRoot unset": ("spec.securityContext.runAsNonRoot", None,
                           "spec.containers[0].securityContext.runAsNonRoot: None"),
    "runAsNonRoot false on a container": ("spec.containers.0.securityContext.runAsNonRoot", False,
                                          "spec.containers[0].securityContext.runAsNonRoot: False"),
    "root user": ("spec.securityContext.runAsUser", 0, "spec.securityContext.runAsUser: 0"),
    "root user in a container": ("spec.containers.0.securityContext.runAsUser", 0,
                                 "spec.containers[0].securityContext.runAsUser: 0"),
    "init container escalates": ("spec.initContainers", [{"name": "i", "image": "i:1", "securityContext": {
        "capabilities": {"drop": ["ALL"]}}}], "spec.initContainers[0].securityContext.allowPrivilegeEscalation"),
}


def test_the_compliant_template_passes():
    assert restricted_violations(COMPLIANT) == []


@pytest.mark.parametrize("path, value, expected", VIOLATIONS.values(), ids=VIOLATIONS.keys())
def test_each_control_catches_its_violation(path, value, expected):
    violations = restricted_violations(_mutated(path, value))
    assert any(v.startswith(expected) for v in violations), violations


def test_an_existing_namespace_gets_a_warning_to_label_it(mocks, caplog):
    declared = run_program(mocks, cli_config("dev", {"mcp-federation:createNamespace": False}))
    assert declared.of_type(NAMESPACE) == []
    assert any("namespace 'mcp' is managed elsewhere: label it pod-security.kubernetes.io/enforce=restricted"
               in record.getMessage() for record in caplog.records), [r.getMessage() for r in caplog.records]
