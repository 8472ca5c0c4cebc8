"""Load and validate the verification plan (the `verificationPlan` stack output).

A plan is a JSON list of routes::

    [{"name": "github", "path": "/mcp/github",
      "expectedTools": ["get_repo", ...], "deniedTools": ["delete_repo"],
      "probe": {"tool": "get_repo", "arguments": {"repo": "octo/demo"}}}]

Every problem raises PlanError with a message that names the entry and the key.
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED_KEYS = ("name", "path", "expectedTools", "probe")
OPTIONAL_KEYS = ("deniedTools",)
PULUMI_TIMEOUT = 120


class PlanError(ValueError):
    """The plan cannot be read or is malformed (a configuration error: exit code 2)."""


@dataclass(frozen=True)
class RoutePlan:
    """What one gateway route must offer."""

    name: str
    path: str
    expected_tools: tuple[str, ...]
    probe_tool: str
    probe_arguments: dict = field(default_factory=dict)
    denied_tools: tuple[str, ...] = ()


def _string_list(entry: str, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise PlanError(f"{entry}: '{key}' must be a list of non-empty strings, got {value!r}")
    duplicates = sorted({item for item in value if value.count(item) > 1})
    if duplicates:
        raise PlanError(f"{entry}: '{key}' lists {', '.join(duplicates)} more than once")
    return tuple(value)


def _route(index: int, raw: object) -> RoutePlan:
    entry = f"plan entry {index}"
    if not isinstance(raw, dict):
        raise PlanError(f"{entry}: must be an object, got {type(raw).__name__}")
    if isinstance(raw.get("name"), str) and raw["name"]:
        entry = f"plan entry {index} ({raw['name']!r})"
    missing = [key for key in REQUIRED_KEYS if key not in raw]
    if missing:
        raise PlanError(f"{entry}: missing key(s) {', '.join(map(repr, missing))}")
    unknown = sorted(set(raw) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise PlanError(f"{entry}: unknown key(s) {', '.join(map(repr, unknown))} "
                        f"(allowed: {', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)})")
    name, path = raw["name"], raw["path"]
    if not isinstance(name, str) or not name.strip():
        raise PlanError(f"{entry}: 'name' must be a non-empty string, got {name!r}")
    if not isinstance(path, str) or not path.startswith("/") or any(c.isspace() for c in path):
        raise PlanError(f"{entry}: 'path' must be a URL path starting with '/', got {path!r}")
    expected = _string_list(entry, "expectedTools", raw["expectedTools"])
    denied = _string_list(entry, "deniedTools", raw.get("deniedTools", []))
    both = sorted(set(expected) & set(denied))
    if both:
        raise PlanError(f"{entry}: {', '.join(both)} cannot be both in 'expectedTools' and 'deniedTools'")
    probe = raw["probe"]
    if not isinstance(probe, dict) or not isinstance(probe.get("tool"), str) or not probe["tool"]:
        raise PlanError(f"{entry}: 'probe' must be an object with a non-empty string 'tool', got {probe!r}")
    unknown_probe = sorted(set(probe) - {"tool", "arguments"})
    if unknown_probe:
        raise PlanError(f"{entry}: unknown key(s) {', '.join(map(repr, unknown_probe))} in 'probe' "
                        "(allowed: tool, arguments)")
    arguments = probe.get("arguments", {})
    if not isinstance(arguments, dict):
        raise PlanError(f"{entry}: 'probe.arguments' must be an object, got {arguments!r}")
    if probe["tool"] not in expected:
        raise PlanError(f"{entry}: 'probe.tool' {probe['tool']!r} is not in 'expectedTools'")
    return RoutePlan(name=name, path=path, expected_tools=expected, probe_tool=probe["tool"],
                     probe_arguments=arguments, denied_tools=denied)


def parse_plan(data: object) -> list[RoutePlan]:
    """Validate decoded plan JSON and return its routes."""
    if not isinstance(data, list):
        raise PlanError(f"the plan must be a JSON list of routes, got {type(data).__name__}")
    if not data:
        raise PlanError("the plan has no routes")
    routes = [_route(index, raw) for index, raw in enumerate(data)]
    for key, values in (("name", [r.name for r in routes]), ("path", [r.path for r in routes])):
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            raise PlanError(f"two plan entries have the same '{key}': {', '.join(duplicates)}")
    return routes


def parse_plan_text(text: str, source: str) -> list[RoutePlan]:
    """Decode JSON text from `source` (a file name or a command, for the message) and validate it."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PlanError(f"{source}: not valid JSON ({exc})") from None
    try:
        return parse_plan(data)
    except PlanError as exc:
        raise PlanError(f"{source}: {exc}") from None


def load_plan_file(path: str | Path) -> list[RoutePlan]:
    """Read and validate a plan file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"cannot read plan file {str(path)!r}: {exc}") from None
    return parse_plan_text(text, str(path))


def load_plan_from_stack(stack: str, pulumi: str = "pulumi") -> list[RoutePlan]:
    """Read the plan with `pulumi stack output verificationPlan --json --stack STACK`."""
    command = [pulumi, "stack", "output", "verificationPlan", "--json", "--stack", stack]
    shown = " ".join(command)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PULUMI_TIMEOUT, check=False)
    except FileNotFoundError:
        raise PlanError(f"'{pulumi}' is not on PATH: install the Pulumi CLI, or pass --plan PLAN.json") from None
    except subprocess.TimeoutExpired:
        raise PlanError(f"'{shown}' did not finish within {PULUMI_TIMEOUT}s") from None
    except OSError as exc:
        raise PlanError(f"cannot run '{shown}': {exc}") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip() or "no output"
        raise PlanError(f"'{shown}' failed with exit code {done.returncode}: {detail}")
    return parse_plan_text(done.stdout, f"'{shown}'")
