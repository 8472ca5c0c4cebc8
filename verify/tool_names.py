"""The one place that decides how planned tool names compare with the names a client sees.

Today a route has one target, so agentgateway passes names through unchanged. When routes multiplex several
targets, agentgateway shows `<target>_<tool>`; teach `visible_name` about that here and nowhere else.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


def visible_name(planned: str) -> str:
    """The name a client sees in tools/list (and must call) for a tool named `planned` in the plan."""
    return planned


@dataclass(frozen=True)
class ToolDiff:
    """How the listed tools differ from the planned ones (names as the client sees them)."""

    missing: tuple[str, ...]
    unexpected: tuple[str, ...]

    @property
    def matches(self) -> bool:
        return not self.missing and not self.unexpected


def compare_tools(expected: Iterable[str], seen: Iterable[str]) -> ToolDiff:
    """Exact set comparison of planned tools against listed names."""
    want = {visible_name(name) for name in expected}
    have = set(seen)
    return ToolDiff(missing=tuple(sorted(want - have)), unexpected=tuple(sorted(have - want)))


def listed(planned: str, seen: Iterable[str]) -> bool:
    """True if the planned tool shows up in the listed names."""
    return visible_name(planned) in set(seen)
