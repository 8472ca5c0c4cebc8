"""Rule pod-security-restricted: pods meet the Kubernetes Pod Security Standard "restricted" profile.

Follows https://kubernetes.io/docs/concepts/security/pod-security-standards/ (restricted includes baseline):
host namespaces, privileged, capabilities, hostPath and other volume types, host ports, AppArmor, SELinux,
/proc mount, seccomp, sysctls, privilege escalation, non-root. A field the profile requires at "pod level or every
container" is accepted at either place. Namespaces must enforce the profile by label.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .k8s_objects import Container, PodTemplate, as_list, as_mapping, containers, get_path, gvk, pod_template

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
ENFORCE_LEVEL = "restricted"
ALLOWED_VOLUME_TYPES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                        "projected", "secret")
ALLOWED_ADDED_CAPABILITIES = ("NET_BIND_SERVICE",)
ALLOWED_SECCOMP_TYPES = ("RuntimeDefault", "Localhost")
ALLOWED_APPARMOR_TYPES = ("RuntimeDefault", "Localhost")
ALLOWED_SELINUX_TYPES = ("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t")
# The baseline/restricted policies' sysctls as of v1.32 (tcp_rmem and tcp_wmem were added in v1.32, kubernetes#127489).
SAFE_SYSCTLS = ("kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem")
APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _pod_level(pod: PodTemplate) -> list[str]:
    spec, at = pod.spec, pod.path
    problems = [f"{at}.{field} must be unset or false (is {spec.get(field)!r})"
                for field in ("hostNetwork", "hostPID", "hostIPC") if _truthy(spec.get(field))]
    for volume in as_list(spec.get("volumes")):
        volume = as_mapping(volume)
        for source in sorted(set(volume) - {"name"} - set(ALLOWED_VOLUME_TYPES)):
            problems.append(f"{at}.volumes[{volume.get('name', '?')!r}] uses {source}; allowed volume types: "
                            f"{', '.join(ALLOWED_VOLUME_TYPES)}")
    context = as_mapping(spec.get("securityContext"))
    for sysctl in as_list(context.get("sysctls")):
        name = get_path(sysctl, "name")
        if name not in SAFE_SYSCTLS:
            problems.append(f"{at}.securityContext.sysctls sets {name!r}, which is not a safe sysctl")
    problems += _context_problems(f"{at}.securityContext", context)
    for key, value in as_mapping(pod.metadata.get("annotations")).items():
        if key.startswith(APPARMOR_ANNOTATION_PREFIX) and not (
                value == "runtime/default" or (isinstance(value, str) and value.startswith("localhost/"))):
            problems.append(f"annotation {key} must be runtime/default or localhost/<profile> (is {value!r})")
    return problems


def _context_problems(at: str, context: Mapping) -> list[str]:
    """Checks that apply alike to the pod's and to a container's securityContext."""
    problems = []
    if _truthy(get_path(context, "windowsOptions", "hostProcess")):
        problems.append(f"{at}.windowsOptions.hostProcess must be unset or false")
    run_as_user = context.get("runAsUser")
    if run_as_user is not None and run_as_user == 0:
        problems.append(f"{at}.runAsUser must not be 0 (root)")
    if context.get("runAsNonRoot") is False:
        problems.append(f"{at}.runAsNonRoot must be true (is false)")
    seccomp = get_path(context, "seccompProfile", "type")
    if seccomp is not None and seccomp not in ALLOWED_SECCOMP_TYPES:
        problems.append(f"{at}.seccompProfile.type must be RuntimeDefault or Localhost (is {seccomp!r})")
    apparmor = get_path(context, "appArmorProfile", "type")
    if apparmor is not None and apparmor not in ALLOWED_APPARMOR_TYPES:
        problems.append(f"{at}.appArmorProfile.type must be RuntimeDefault or Localhost (is {apparmor!r})")
    selinux = as_mapping(context.get("seLinuxOptions"))
    if selinux.get("type", "") not in ALLOWED_SELINUX_TYPES:
        problems.append(f"{at}.seLinuxOptions.type {selinux.get('type')!r} is not one of "
                        f"{', '.join(repr(t) for t in ALLOWED_SELINUX_TYPES)}")
    for field in ("user", "role"):
        if selinux.get(field):
            problems.append(f"{at}.seLinuxOptions.{field} must be unset")
    return problems


def _container_level(entry: Container, pod_context: Mapping) -> list[str]:
    container, label = entry.container, entry.label
    context = as_mapping(container.get("securityContext"))
    at = f"{label}: securityContext"
    problems = [f"{label}: {p}" for p in _context_problems("securityContext", context)]
    if _truthy(context.get("privileged")):
        problems.append(f"{at}.privileged must be unset or false")
    if context.get("procMount") not in (None, "Default"):
        problems.append(f"{at}.procMount must be unset or Default (is {context.get('procMount')!r})")
    if context.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{at}.allowPrivilegeEscalation must be false (is {context.get('allowPrivilegeEscalation')!r})")
    capabilities = as_mapping(context.get("capabilities"))
    if "ALL" not in as_list(capabilities.get("drop")):
        problems.append(f"{at}.capabilities.drop must include ALL")
    added = [c for c in as_list(capabilities.get("add")) if c not in ALLOWED_ADDED_CAPABILITIES]
    if added:
        problems.append(f"{at}.capabilities.add may only contain NET_BIND_SERVICE (adds {', '.join(map(str, added))})")
    # An invalid pod-level value is reported once, at pod level; here only "set nowhere" is reported.
    if context.get("runAsNonRoot") is None and pod_context.get("runAsNonRoot") is None:
        problems.append(f"{at}.runAsNonRoot must be true (here or in the pod securityContext)")
    if get_path(context, "seccompProfile", "type") is None and get_path(pod_context, "seccompProfile", "type") is None:
        problems.append(f"{at}.seccompProfile.type must be RuntimeDefault or Localhost "
                        "(here or in the pod securityContext)")
    for port in as_list(container.get("ports")):
        host_port = get_path(port, "hostPort")
        if host_port:  # unset or 0
            problems.append(f"{label}: ports sets hostPort {host_port!r}; host ports are not allowed")
    return problems


def pod_violations(resource_type: str, props: Mapping) -> list[str]:
    """Everything in a workload's pod template that breaks the restricted profile ([] if none or not a workload)."""
    pod = pod_template(resource_type, props)
    if pod is None:
        return []
    pod_context = as_mapping(pod.spec.get("securityContext"))
    problems = _pod_level(pod)
    for entry in containers(pod.spec):
        problems += _container_level(entry, pod_context)
    return problems


def namespace_violations(resource_type: str, props: Mapping) -> list[str]:
    """A Namespace must carry `pod-security.kubernetes.io/enforce: restricted` ([] for other types)."""
    kind = gvk(resource_type)
    if kind is None or (kind.group, kind.kind) != ("", "Namespace"):
        return []
    value = get_path(props, "metadata", "labels", ENFORCE_LABEL)
    if value == ENFORCE_LEVEL:
        return []
    return [f"metadata.labels[{ENFORCE_LABEL!r}] must be {ENFORCE_LEVEL!r} (is {value!r})"]


def violations(resource_type: str, props: Mapping) -> list[str]:
    """The rule for any resource: pod template checks for workloads, the enforce label for namespaces."""
    return pod_violations(resource_type, props) + namespace_violations(resource_type, props)
