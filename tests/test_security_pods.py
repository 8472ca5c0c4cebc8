"""Pod Security "restricted" (issue 6): the namespace enforces it, and every pod template the program declares
meets every control of the profile, as checked by the policy pack's rule (policy/pod_security.py; each control is
shown here to catch its violation)."""
from __future__ import annotations

import copy

import pytest

from policy import pod_security
from policy.k8s_objects import pod_template
from tests.pulumi_mocks import cli_config, mocks, run_program  # noqa: F401 (fixture)
from tests.resource_types import NAMESPACE

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
        assert pod_template(workload.typ, workload.inputs) is not None, workload.name
        assert pod_security.violations(workload.typ, workload.inputs) == [], workload.name


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


def restricted_violations(template: dict) -> list[str]:
    """The policy pack's findings for a pod with this template's metadata and spec."""
    return pod_security.violations("kubernetes:core/v1:Pod", template)


C = "container 'c': securityContext"
VIOLATIONS = {
    "host network": ("spec.hostNetwork", True, "spec.hostNetwork must be unset or false"),
    "host PID": ("spec.hostPID", True, "spec.hostPID must be unset or false"),
    "host IPC": ("spec.hostIPC", True, "spec.hostIPC must be unset or false"),
    "HostProcess": ("spec.securityContext.windowsOptions", {"hostProcess": True},
                    "spec.securityContext.windowsOptions.hostProcess must be unset or false"),
    "HostProcess in a container": ("spec.containers.0.securityContext.windowsOptions", {"hostProcess": True},
                                   f"{C}.windowsOptions.hostProcess must be unset or false"),
    "privileged": ("spec.containers.0.securityContext.privileged", True, f"{C}.privileged must be unset or false"),
    "capability beyond baseline": ("spec.containers.0.securityContext.capabilities",
                                   {"drop": ["ALL"], "add": ["SYS_ADMIN"]},
                                   f"{C}.capabilities.add may only contain NET_BIND_SERVICE (adds SYS_ADMIN)"),
    "capability beyond restricted": ("spec.containers.0.securityContext.capabilities",
                                     {"drop": ["ALL"], "add": ["CHOWN"]},
                                     f"{C}.capabilities.add may only contain NET_BIND_SERVICE (adds CHOWN)"),
    "capabilities not dropped": ("spec.containers.0.securityContext.capabilities", {"drop": ["NET_RAW"]},
                                 f"{C}.capabilities.drop must include ALL"),
    "hostPath volume": ("spec.volumes", [{"name": "h", "hostPath": {"path": "/"}}], "spec.volumes['h'] uses hostPath"),
    "restricted volume type": ("spec.volumes", [{"name": "n", "nfs": {"server": "s", "path": "/"}}],
                               "spec.volumes['n'] uses nfs"),
    "host port": ("spec.containers.0.ports", [{"containerPort": 8080, "hostPort": 8080}],
                  "container 'c': ports sets hostPort 8080"),
    "AppArmor unconfined": ("spec.securityContext.appArmorProfile", {"type": "Unconfined"},
                            "spec.securityContext.appArmorProfile.type must be RuntimeDefault or Localhost"),
    "AppArmor unconfined in a container": ("spec.containers.0.securityContext.appArmorProfile", {"type": "Unconfined"},
                                           f"{C}.appArmorProfile.type must be RuntimeDefault or Localhost"),
    "AppArmor annotation": ("metadata.annotations", {"container.apparmor.security.beta.kubernetes.io/c": "unconfined"},
                            "annotation container.apparmor.security.beta.kubernetes.io/c must be runtime/default"),
    "SELinux type": ("spec.securityContext.seLinuxOptions", {"type": "spc_t"},
                     "spec.securityContext.seLinuxOptions.type 'spc_t' is not one of"),
    "SELinux user": ("spec.securityContext.seLinuxOptions", {"user": "root"},
                     "spec.securityContext.seLinuxOptions.user must be unset"),
    "SELinux role": ("spec.containers.0.securityContext.seLinuxOptions", {"role": "sysadm_r"},
                     f"{C}.seLinuxOptions.role must be unset"),
    "proc mount": ("spec.containers.0.securityContext.procMount", "Unmasked",
                   f"{C}.procMount must be unset or Default"),
    "seccomp unconfined": ("spec.containers.0.securityContext.seccompProfile", {"type": "Unconfined"},
                           f"{C}.seccompProfile.type must be RuntimeDefault or Localhost (is 'Unconfined')"),
    "seccomp unconfined on the pod": ("spec.securityContext.seccompProfile", {"type": "Unconfined"},
                                      "spec.securityContext.seccompProfile.type must be RuntimeDefault or Localhost"),
    "seccomp unset": ("spec.securityContext.seccompProfile", None,
                      f"{C}.seccompProfile.type must be RuntimeDefault or Localhost (here or in the pod"),
    "unsafe sysctl": ("spec.securityContext.sysctls", [{"name": "kernel.msgmax", "value": "1"}],
                      "spec.securityContext.sysctls sets 'kernel.msgmax', which is not a safe sysctl"),
    "privilege escalation unset": ("spec.containers.0.securityContext.allowPrivilegeEscalation", None,
                                   f"{C}.allowPrivilegeEscalation must be false (is None)"),
    "runAsNonRoot unset": ("spec.securityContext.runAsNonRoot", None,
                           f"{C}.runAsNonRoot must be true (here or in the pod securityContext)"),
    "runAsNonRoot false on the pod": ("spec.securityContext.runAsNonRoot", False,
                                      "spec.securityContext.runAsNonRoot must be true (is false)"),
    "runAsNonRoot false on a container": ("spec.containers.0.securityContext.runAsNonRoot", False,
                                          f"{C}.runAsNonRoot must be true (is false)"),
    "root user": ("spec.securityContext.runAsUser", 0, "spec.securityContext.runAsUser must not be 0"),
    "root user in a container": ("spec.containers.0.securityContext.runAsUser", 0, f"{C}.runAsUser must not be 0"),
    "init container escalates": ("spec.initContainers", [{"name": "i", "image": "i:1", "securityContext": {
        "capabilities": {"drop": ["ALL"]}}}],
        "initContainer 'i': securityContext.allowPrivilegeEscalation must be false"),
    "ephemeral container privileged": ("spec.ephemeralContainers", [{"name": "e", "image": "i:1", "securityContext": {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "privileged": True}}],
        "ephemeralContainer 'e': securityContext.privileged must be unset or false"),
}


def test_the_compliant_template_passes():
    assert restricted_violations(COMPLIANT) == []


@pytest.mark.parametrize("path, value, expected", VIOLATIONS.values(), ids=VIOLATIONS.keys())
def test_each_control_catches_its_violation(path, value, expected):
    violations = restricted_violations(_mutated(path, value))
    assert any(v.startswith(expected) for v in violations), violations


def test_allowed_values_of_each_control_pass():
    """What the profile allows (Kubernetes v1.33) is not reported: every safe sysctl (tcp_rmem/tcp_wmem since
    v1.32), NET_BIND_SERVICE, Localhost profiles, the allowed SELinux types, and container-level settings that
    stand in for pod-level ones."""
    template = _mutated("spec.securityContext.sysctls", [{"name": name, "value": "1"} for name in (
        "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem")])
    template["spec"]["securityContext"].update(appArmorProfile={"type": "Localhost", "localhostProfile": "p"},
                                               seLinuxOptions={"type": "container_t", "level": "s0:c1"})
    template["spec"]["containers"][0]["securityContext"]["capabilities"]["add"] = ["NET_BIND_SERVICE"]
    template["metadata"]["annotations"] = {"container.apparmor.security.beta.kubernetes.io/c": "localhost/p"}
    assert restricted_violations(template) == []
    pod_level_moved = _mutated("spec.securityContext", {})
    pod_level_moved["spec"]["containers"][0]["securityContext"].update(
        runAsNonRoot=True, seccompProfile={"type": "RuntimeDefault"})
    assert restricted_violations(pod_level_moved) == []


def test_an_existing_namespace_gets_a_warning_to_label_it(mocks, caplog):
    declared = run_program(mocks, cli_config("dev", {"mcp-federation:createNamespace": False}))
    assert declared.of_type(NAMESPACE) == []
    assert any("namespace 'mcp' is managed elsewhere: label it pod-security.kubernetes.io/enforce=restricted"
               in record.getMessage() for record in caplog.records), [r.getMessage() for r in caplog.records]
