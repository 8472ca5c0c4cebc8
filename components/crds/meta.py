"""Kubernetes meta types shared by several custom resources: label selectors and local object references."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from ._base import DNS_SUBDOMAIN, SUBDOMAIN_RULE, CrdObject, NameInput, as_string_map, check_str


@dataclass(frozen=True)
class LabelSelector(CrdObject):
    """A Kubernetes label selector by ``matchLabels`` (``matchExpressions`` is not used here, so not modelled)."""

    matchLabels: Optional[Mapping[str, str]] = None

    def __post_init__(self) -> None:
        if self.matchLabels is not None:
            self._set("matchLabels", as_string_map("LabelSelector matchLabels", self.matchLabels))


@dataclass(frozen=True)
class LocalObjectReference(CrdObject):
    """A reference to an object (here: a Service) in the same namespace, by name."""

    name: NameInput

    def __post_init__(self) -> None:
        check_str("LocalObjectReference name", self.name, max_len=253, pattern=DNS_SUBDOMAIN, rule=SUBDOMAIN_RULE)
