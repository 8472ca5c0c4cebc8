"""The Kubernetes Pod Security Standards, "restricted" profile (which includes "baseline"), as a checker for pod
templates: https://kubernetes.io/docs/concepts/security/pod-security-standards/ (v1.33). One check per control
of that page; `restricted_violations(pod_template)` returns every violation, naming the field and the value.
"""
from __future__ import annotations

from typing import Any, Iterator

BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                         "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes"}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
RESTRICTED_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                           "projected", "secret"}
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def _containers(spec: dict) -> Iterator[tuple[str, dict]]:
    for list_name in CONTAINER_LISTS:
        for index, container in enumerate(spec.get(list_name) or []):
            yield f"spec.{list_name}[{index}]", container


def _baseline(metadata: dict, spec: dict) -> Iterator[str]:
    pod_sc = spec.get("securityContext") or {}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            yield f"spec.{field}: {spec[field]!r} (host namespaces are forbidden)"
    if (pod_sc.get("windowsOptions") or {}).get("hostProcess"):
        yield "spec.securityContext.windowsOptions.hostProcess: True (HostProcess is forbidden)"
    for index, volume in enumerate(spec.get("volumes") or []):
        if "hostPath" in volume:
            yield f"spec.volumes[{index}].hostPath: HostPath volumes are forbidden"
    for key, value in (metadata.get("annotations") or {}).items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/") and \
                value not in ("runtime/default",) and not value.startswith("localhost/"):
            yield f"metadata.annotations[{key}]: {value!r} (AppArmor must be runtime/default or localhost/*)"
    for where, sc in [("spec.securityContext", pod_sc)] + \
            [(f"{at}.securityContext", c.get("securityContext") or {}) for at, c in _containers(spec)]:
        apparmor = (sc.get("appArmorProfile") or {}).get("type")
        if apparmor not in (None, "RuntimeDefault", "Localhost"):
            yield f"{where}.appArmorProfile.type: {apparmor!r} (must be RuntimeDefault or Localhost)"
        selinux = sc.get("seLinuxOptions") or {}
        if selinux.get("type", "") not in SELINUX_TYPES:
            yield f"{where}.seLinuxOptions.type: {selinux['type']!r} is not an allowed SELinux type"
        for field in ("user", "role"):
            if selinux.get(field):
                yield f"{where}.seLinuxOptions.{field}: {selinux[field]!r} (must be unset)"
        if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
            yield f"{where}.seccompProfile.type: 'Unconfined' is forbidden"
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            yield f"{where}.windowsOptions.hostProcess: True (HostProcess is forbidden)"
    for index, sysctl in enumerate(pod_sc.get("sysctls") or []):
        if sysctl.get("name") not in SAFE_SYSCTLS:
            yield f"spec.securityContext.sysctls[{index}].name: {sysctl.get('name')!r} is not a safe sysctl"
    for at, container in _containers(spec):
        sc = container.get("securityContext") or {}
        if sc.get("privileged"):
            yield f"{at}.securityContext.privileged: True (privileged containers are forbidden)"
        for cap in (sc.get("capabilities") or {}).get("add") or []:
            if cap not in BASELINE_CAPABILITIES:
                yield f"{at}.securityContext.capabilities.add: {cap!r} is not allowed by baseline"
        if sc.get("procMount", "Default") != "Default":
            yield f"{at}.securityContext.procMount: {sc['procMount']!r} (must be Default)"
        for port_index, port in enumerate(container.get("ports") or []):
            if port.get("hostPort"):
                yield f"{at}.ports[{port_index}].hostPort: {port['hostPort']!r} (host ports are forbidden)"


def _restricted(spec: dict) -> Iterator[str]:
    pod_sc = spec.get("securityContext") or {}
    for index, volume in enumerate(spec.get("volumes") or []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            yield f"spec.volumes[{index}]: volume type {sorted(kinds - RESTRICTED_VOLUME_TYPES)} is not allowed"
    if pod_sc.get("runAsUser") == 0:
        yield "spec.securityContext.runAsUser: 0 (must not run as root)"
    pod_non_root = pod_sc.get("runAsNonRoot") is True
    if pod_sc.get("runAsNonRoot") is False:
        yield "spec.securityContext.runAsNonRoot: False (must be true)"
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type") in ("RuntimeDefault", "Localhost")
    for at, container in _containers(spec):
        sc = container.get("securityContext") or {}
        if sc.get("allowPrivilegeEscalation") is not False:
            yield f"{at}.securityContext.allowPrivilegeEscalation: {sc.get('allowPrivilegeEscalation')!r} " \
                  "(must be false)"
        if sc.get("runAsNonRoot") is False or (not pod_non_root and sc.get("runAsNonRoot") is not True):
            yield f"{at}.securityContext.runAsNonRoot: {sc.get('runAsNonRoot')!r} (must be true here or on the pod)"
        if sc.get("runAsUser") == 0:
            yield f"{at}.securityContext.runAsUser: 0 (must not run as root)"
        container_seccomp = (sc.get("seccompProfile") or {}).get("type")
        if not pod_seccomp and container_seccomp not in ("RuntimeDefault", "Localhost"):
            yield f"{at}.securityContext.seccompProfile.type: {container_seccomp!r} " \
                  "(RuntimeDefault or Localhost, here or on the pod)"
        capabilities = sc.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            yield f"{at}.securityContext.capabilities.drop: {capabilities.get('drop')!r} (must include ALL)"
        for cap in capabilities.get("add") or []:
            if cap != "NET_BIND_SERVICE":
                yield f"{at}.securityContext.capabilities.add: {cap!r} (only NET_BIND_SERVICE may be added)"


def restricted_violations(pod_template: dict) -> list[str]:
    """Every violation of the "restricted" profile by a pod template (`{metadata, spec}`); empty when it complies."""
    metadata, spec = pod_template.get("metadata") or {}, pod_template.get("spec") or {}
    return list(_baseline(metadata, spec)) + list(_restricted(spec))


def pod_templates(obj: dict) -> list[dict]:
    """The pod templates of a workload object (Deployment, StatefulSet, DaemonSet, Job, ReplicaSet; Pod itself)."""
    if obj.get("kind") == "Pod":
        return [obj]
    template = (obj.get("spec") or {}).get("template")
    return [template] if template else []
