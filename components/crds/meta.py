"""Kubernetes meta types shared by several custom resources: label selectors and local object references."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping, Optional, Sequence

from ._base import DNS_SUBDOMAIN, SUBDOMAIN_RULE, CrdObject, CrdValueError, as_items, as_string_map, \
    check_enum, check_str

SelectorOperator = Literal["In", "NotIn", "Exists", "DoesNotExist"]
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True)
class LabelSelectorRequirement(CrdObject):
    """One ``matchExpressions`` entry of a label selector."""

    key: str
    operator: SelectorOperator
    values: Optional[Sequence[str]] = None

    def __post_init__(self) -> None:
        at = "LabelSelector matchExpressions[]"
        check_str(f"{at}.key", self.key, max_len=317)
        check_enum(f"{at}.operator", self.operator, SELECTOR_OPERATORS)
        if self.values is not None:
            self._set("values", as_items(f"{at}.values", self.values, str))
        needs_values = self.operator in ("In", "NotIn")
        if needs_values and not self.values:
            raise CrdValueError(f"{at}.values", self.values, f"must be non-empty for operator {self.operator}")
        if not needs_values and self.values:
            raise CrdValueError(f"{at}.values", self.values, f"must be empty for operator {self.operator}")


@dataclass(frozen=True)
class LabelSelector(CrdObject):
    """A Kubernetes label selector (``matchLabels`` and/or ``matchExpressions``)."""

    matchLabels: Optional[Mapping[str, str]] = None
    matchExpressions: Optional[Sequence[LabelSelectorRequirement]] = None

    def __post_init__(self) -> None:
        if self.matchLabels is not None:
            self._set("matchLabels", as_string_map("LabelSelector matchLabels", self.matchLabels))
        if self.matchExpressions is not None:
            self._set("matchExpressions", as_items("LabelSelector matchExpressions", self.matchExpressions,
                                                   LabelSelectorRequirement))


@dataclass(frozen=True)
class LocalObjectReference(CrdObject):
    """A reference to an object (here: a Service) in the same namespace, by name."""

    name: str

    def __post_init__(self) -> None:
        check_str("LocalObjectReference name", self.name, max_len=253, pattern=DNS_SUBDOMAIN, rule=SUBDOMAIN_RULE)
