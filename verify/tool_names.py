"""The one place that decides how planned tool names compare with the names a client sees.

Plan names are client-visible names (the contract of the `verificationPlan` output). On an aggregated route
agentgateway shows `<target>_<tool>` and routes a call by splitting the name at the first `_` (target names
never contain `_`, tool names may); `split_prefixed` does the same split here.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

DELIMITER = "_"


def split_prefixed(name: str) -> tuple[str, str] | None:
    """`github_get_repo` -> (`github`, `get_repo`); None when the name has no `<target>_<tool>` form."""
    target, delimiter, tool = name.partition(DELIMITER)
    return (target, tool) if delimiter and target and tool else None


@dataclass(frozen=True)
class ToolDiff:
    """How the listed tools differ from the planned ones (names as the client sees them).

    `unexpected` are listed tools the plan does not allow; `extra` are listed tools a `toolsMatch: atLeast`
    plan allows without naming them.
    """

    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    extra: tuple[str, ...] = ()

    @property
    def matches(self) -> bool:
        return not self.missing and not self.unexpected


def compare_tools(expected: Iterable[str], seen: Iterable[str], tools_match: str = "exact",
                  reported_elsewhere: Iterable[str] = ()) -> ToolDiff:
    """Compare planned tools with listed names: `exact` (same set) or `atLeast` (planned ⊆ listed).

    Names in `reported_elsewhere` (listed denied tools) are neither unexpected nor extra.
    """
    want = set(expected)
    have = set(seen) - set(reported_elsewhere)
    surplus = tuple(sorted(have - want))
    if tools_match == "atLeast":
        return ToolDiff(missing=tuple(sorted(want - have)), unexpected=(), extra=surplus)
    return ToolDiff(missing=tuple(sorted(want - have)), unexpected=surplus)


def listed(planned: str, seen: Iterable[str]) -> bool:
    """True if the planned tool shows up in the listed names."""
    return planned in set(seen)


@dataclass(frozen=True)
class TargetDiff:
    """The part of a ToolDiff that belongs to one target of an aggregated route (tool names un-prefixed)."""

    target: str
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    down: bool  # every planned tool of the target is missing and it lists nothing at all
    known: bool = True  # False: the listed prefix is not one of the plan's targets


def diff_by_target(diff: ToolDiff, expected: Iterable[str], seen: Iterable[str],
                   targets: Iterable[str]) -> tuple[list[TargetDiff], tuple[str, ...]]:
    """Group a prefixed route's diff by target; also return unexpected names that have no `<target>_` prefix."""
    planned_per_target = Counter(parts[0] for parts in map(split_prefixed, expected) if parts)
    listing_targets = {parts[0] for parts in map(split_prefixed, seen) if parts}
    missing: dict[str, list[str]] = {}
    unexpected: dict[str, list[str]] = {}
    unprefixed = []
    for groups, names in ((missing, diff.missing), (unexpected, diff.unexpected)):
        for name in names:
            parts = split_prefixed(name)
            if parts is None:
                unprefixed.append(name)
            else:
                groups.setdefault(parts[0], []).append(parts[1])
    order = list(targets) + sorted(set(unexpected) - set(targets))
    result = []
    for target in order:
        gone, extra = tuple(missing.get(target, ())), tuple(unexpected.get(target, ()))
        if gone or extra:
            down = bool(gone) and len(gone) == planned_per_target.get(target, 0) and target not in listing_targets
            result.append(TargetDiff(target, gone, extra, down, known=target in targets))
    return result, tuple(unprefixed)
