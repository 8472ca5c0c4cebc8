"""Building blocks of the typed CRD specs: the error type, field checks and the dict rendering.

Every check takes the field's location in its custom resource (e.g.
``AgentgatewayBackend spec.mcp.targets[].name``) so that an error names the field and the bad value.
Pulumi ``Output`` values (unknown until deployment) are passed through unchecked.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Iterable, Optional, Pattern

import pulumi

# A name that may be another resource's output (known only at deployment; `check_str` skips Outputs).
NameInput = pulumi.Input[str]

# Patterns copied from the CRDs (Gateway API v1.6.1, agentgateway v1.4.1).
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
GROUP = re.compile(r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
KIND = re.compile(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

SUBDOMAIN_RULE = "a valid DNS-1123 subdomain (lowercase letters, digits, '-' and '.')"
LABEL_RULE = "a valid DNS-1123 label (lowercase letters, digits and '-', at most 63 characters)"


class CrdValueError(ValueError):
    """An impossible value for a custom-resource field. ``path`` names the field, ``value`` is the bad value."""

    def __init__(self, path: str, value: Any, problem: str):
        self.path = path
        self.value = value
        super().__init__(f"{path}: {value!r} {problem}")


def is_output(value: Any) -> bool:
    """True for a Pulumi Output, which is only known at deployment time and therefore not checked."""
    return isinstance(value, pulumi.Output)


def check_str(path: str, value: Any, *, min_len: int = 1, max_len: Optional[int] = None,
              pattern: Optional[Pattern[str]] = None, rule: str = "") -> None:
    """Check a string field: type, length and (optionally) a pattern described by ``rule``."""
    if is_output(value):
        return
    if not isinstance(value, str):
        raise CrdValueError(path, value, f"is not a string (got {type(value).__name__})")
    if len(value) < min_len:
        raise CrdValueError(path, value, f"is too short (at least {min_len} characters)")
    if max_len is not None and len(value) > max_len:
        raise CrdValueError(path, value, f"is too long ({len(value)} characters, at most {max_len})")
    if pattern is not None and not pattern.fullmatch(value):  # Go's `$` (the API server's) is end of text only
        raise CrdValueError(path, value, f"is not {rule}")


def check_int(path: str, value: Any, low: int, high: int) -> None:
    """Check an integer field and its inclusive range (bool and float are rejected)."""
    if is_output(value):
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise CrdValueError(path, value, f"is not an integer (got {type(value).__name__})")
    if not low <= value <= high:
        raise CrdValueError(path, value, f"is out of range ({low}..{high})")


def check_enum(path: str, value: Any, allowed: Iterable[str]) -> None:
    """Check that a field holds one of the CRD's enum values."""
    allowed = tuple(allowed)
    if is_output(value):
        return
    if value not in allowed:
        raise CrdValueError(path, value, f"is not one of {', '.join(allowed)}")


def check_type(path: str, value: Any, expected: type) -> None:
    """Check that a nested value is the typed class the field expects (not a plain dict)."""
    if not isinstance(value, expected):
        raise CrdValueError(path, value, f"is not a {expected.__name__}")


def as_items(path: str, value: Any, item_type: type, *, min_items: int = 0,
             max_items: Optional[int] = None) -> tuple:
    """Check a list field (count and item type) and return it as a tuple, so the spec stays immutable."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise CrdValueError(path, value, f"is not a list of {item_type.__name__}")
    items = tuple(value)
    if len(items) < min_items:
        raise CrdValueError(path, value, f"has {len(items)} items (at least {min_items})")
    if max_items is not None and len(items) > max_items:
        raise CrdValueError(path, value, f"has {len(items)} items (at most {max_items})")
    for index, item in enumerate(items):
        if item_type is str:
            if not (isinstance(item, str) or is_output(item)):
                raise CrdValueError(f"{path}[{index}]", item, "is not a string")
        else:
            check_type(f"{path}[{index}]", item, item_type)
    return items


def as_string_map(path: str, value: Any) -> dict:
    """Check a string-to-string map (labels) and return a copy."""
    if not isinstance(value, Mapping):
        raise CrdValueError(path, value, "is not a mapping of strings to strings")
    for key, item in value.items():
        if not isinstance(key, str):
            raise CrdValueError(path, key, "is not a string key")
        if not (isinstance(item, str) or is_output(item)):
            raise CrdValueError(f"{path}[{key!r}]", item, "is not a string")
    return dict(value)


def first_duplicate(values: Iterable[Any]) -> Optional[tuple[int, Any]]:
    """Index and value of the first repeated value, or None."""
    seen = set()
    for index, value in enumerate(values):
        if is_output(value):
            continue
        if value in seen:
            return index, value
        seen.add(value)
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, CrdObject):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


class CrdObject:
    """Base of every typed spec class: a frozen dataclass rendered by ``to_dict()`` with the CRD's names.

    ``WIRE_NAMES`` maps the few Python field names that cannot be the wire name (``from_``, a keyword)
    to the wire name.
    """

    WIRE_NAMES: ClassVar[Mapping[str, str]] = {}

    def to_dict(self) -> dict:
        """The plain camelCase dict of this object, without unset optional fields."""
        out = {}
        for field in dataclasses.fields(self):  # type: ignore[arg-type]  # subclasses are dataclasses; the base is not
            value = getattr(self, field.name)
            if value is None:
                continue
            out[self.WIRE_NAMES.get(field.name, field.name)] = _plain(value)
        return out

    def _set(self, name: str, value: Any) -> None:
        """Store a normalised value (a tuple for a list) on the frozen dataclass."""
        object.__setattr__(self, name, value)
