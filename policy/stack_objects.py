"""The stack's declared objects as the stack rules see them, and lookups by Kubernetes identity."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterable, NamedTuple, Optional, Protocol

from .k8s_objects import gvk, metadata_name, namespace_of


class StackObject(Protocol):
    """What a stack rule reads of a resource; pulumi_policy.PolicyResource has these attributes."""

    resource_type: str
    props: Mapping
    urn: str
    name: str
    provider: Any  # PolicyProviderResource (with .props) or None


class Violation(NamedTuple):
    """One stack-rule finding: the URN of the offending resource and what is wrong."""

    urn: str
    message: str


class ObjectKey(NamedTuple):
    """A Kubernetes object's identity within the stack: API group ('' = core), kind, namespace, name."""

    group: str
    kind: str
    namespace: str
    name: str


def provider_props(resource: StackObject) -> Optional[Mapping]:
    """The props of the resource's provider (its default namespace lives there), if known."""
    provider = getattr(resource, "provider", None)
    return getattr(provider, "props", None) if provider is not None else None


def object_key(resource: StackObject) -> Optional[ObjectKey]:
    """The identity of a Kubernetes object with a metadata.name; None for anything else."""
    kind = gvk(resource.resource_type)
    name = metadata_name(resource.props)
    if kind is None or name is None:
        return None
    return ObjectKey(kind.group, kind.kind, namespace_of(resource.props, provider_props(resource)), name)


def of_kind(resources: Iterable[StackObject], group: str, kind: str) -> list[StackObject]:
    """The stack's objects of one API group and kind (any version)."""
    found = []
    for resource in resources:
        gv = gvk(resource.resource_type)
        if gv is not None and (gv.group, gv.kind) == (group, kind):
            found.append(resource)
    return found
