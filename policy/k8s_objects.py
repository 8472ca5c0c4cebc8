"""Reading Kubernetes objects as the policy engine hands them over: a Pulumi type token plus camelCase props.

Props may be plain dicts/lists (tests) or pulumi-policy's read-only proxies (`Mapping`/`Sequence`), so everything
here is written against the abstract collection types. Numbers may be floats (`0.0`), as protobuf delivers them.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Iterator, NamedTuple, Optional

# Workload kind -> the path from the object to its pod template (empty: the object is the pod itself).
_POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": (),
    "PodTemplate": ("template",),
    "ReplicationController": ("spec", "template"),
    "Deployment": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


class GroupVersionKind(NamedTuple):
    """The Kubernetes API group ('' for core), version and kind of a Pulumi type token."""

    group: str
    version: str
    kind: str


class PodTemplate(NamedTuple):
    """A pod (or pod template) inside a workload: its metadata, its spec, and the props path of the spec."""

    metadata: Mapping
    spec: Mapping
    path: str


class Container(NamedTuple):
    """One container of a pod spec, with the list it is in (`containers`, `initContainers`, ...)."""

    list_name: str
    container: Mapping

    @property
    def label(self) -> str:
        """How messages name the container, e.g. `container 'server'` or `initContainer 'setup'`."""
        kind = self.list_name[:-1]  # containers -> container
        return f"{kind} {self.container.get('name', '?')!r}"


def gvk(resource_type: str) -> Optional[GroupVersionKind]:
    """`kubernetes:apps/v1:Deployment` -> ('apps', 'v1', 'Deployment'); core/v1 -> group ''. None if not k8s."""
    parts = resource_type.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes" or "/" not in parts[1]:
        return None
    group, _, version = parts[1].rpartition("/")
    return GroupVersionKind("" if group == "core" else group, version, parts[2])


def get_path(value: Any, *keys: str) -> Any:
    """`value[k1][k2]...`, or None as soon as a level is missing or not an object."""
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def as_list(value: Any) -> list:
    """A list property as a list (None and non-lists, including strings, give [])."""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return []


def as_mapping(value: Any) -> Mapping:
    """An object property as a Mapping ({} if absent or not an object)."""
    return value if isinstance(value, Mapping) else {}


def pod_template(resource_type: str, props: Mapping) -> Optional[PodTemplate]:
    """The pod template of a workload object, or None if the type runs no pods (or has no template yet)."""
    kind = gvk(resource_type)
    if kind is None or kind.kind not in _POD_TEMPLATE_PATHS:
        return None
    path = _POD_TEMPLATE_PATHS[kind.kind]
    template = get_path(props, *path) if path else props
    if not isinstance(template, Mapping):
        return None
    return PodTemplate(metadata=as_mapping(template.get("metadata")), spec=as_mapping(template.get("spec")),
                       path=".".join((*path, "spec")))


def containers(spec: Mapping) -> Iterator[Container]:
    """Every container of a pod spec: init containers, containers, ephemeral containers."""
    for list_name in CONTAINER_LISTS:
        for container in as_list(spec.get(list_name)):
            if isinstance(container, Mapping):
                yield Container(list_name, container)


def workload_containers(resource_type: str, props: Mapping) -> list[Container]:
    """Every container of a workload's pod template; [] if the object runs no pods."""
    pod = pod_template(resource_type, props)
    return list(containers(pod.spec)) if pod is not None else []


def metadata_name(props: Mapping) -> Optional[str]:
    """metadata.name, if set (auto-named objects have none in their inputs)."""
    name = get_path(props, "metadata", "name")
    return name if isinstance(name, str) else None


def namespace_of(props: Mapping, provider_props: Optional[Mapping] = None) -> str:
    """metadata.namespace, else the provider's default namespace, else `default` (where Kubernetes puts it)."""
    namespace = get_path(props, "metadata", "namespace")
    if isinstance(namespace, str) and namespace:
        return namespace
    default = get_path(provider_props, "namespace") if provider_props is not None else None
    return default if isinstance(default, str) and default else "default"


def describe(resource_type: str, props: Mapping, fallback_name: str = "?") -> str:
    """`Deployment mcp/github` (kind, namespace if set, metadata.name or the Pulumi name) for messages."""
    kind = gvk(resource_type)
    namespace = get_path(props, "metadata", "namespace")
    name = metadata_name(props) or fallback_name
    where = f"{namespace}/{name}" if isinstance(namespace, str) and namespace else name
    return f"{kind.kind if kind else resource_type} {where}"


def stack_of_urn(urn: str) -> str:
    """The stack name in `urn:pulumi:<stack>::<project>::<type>::<name>` (ValueError if not a URN)."""
    if not urn.startswith("urn:pulumi:") or "::" not in urn:
        raise ValueError(f"not a Pulumi URN: {urn!r}")
    return urn[len("urn:pulumi:"):].split("::", 1)[0]
