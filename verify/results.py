"""What checking a route produces: its problems and the facts the report shows."""
from __future__ import annotations

from dataclasses import dataclass, field

PROBE_PASSED, PROBE_FAILED, PROBE_SKIPPED, PROBE_NOT_RUN = "passed", "failed", "skipped", "not_run"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a route. `kind` is a stable code for --json; `detail` is for a person."""

    kind: str
    detail: str


@dataclass
class RouteResult:
    """The outcome of checking one route (the last attempt when retried)."""

    name: str
    path: str
    url: str
    problems: list[Problem] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    latency_ms: float = 0.0
    attempts: int = 1
    tools_match: str = "exact"
    targets: tuple[str, ...] = ()
    missing_tools: list[str] = field(default_factory=list)
    unexpected_tools: list[str] = field(default_factory=list)
    extra_tools: list[str] = field(default_factory=list)  # listed, not planned, allowed by atLeast
    targets_down: list[str] = field(default_factory=list)
    probe: str = PROBE_NOT_RUN  # passed | failed | skipped (the plan has none) | not_run
    notes: list[str] = field(default_factory=list)  # facts about a route that are not problems

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def reason(self) -> str:
        return "; ".join(problem.detail for problem in self.problems)
