"""Load and validate the verification plan (the `verificationPlan` stack output).

A plan is a JSON list of routes::

    [{"name": "github", "path": "/mcp/github",
      "expectedTools": ["get_repo", ...], "deniedTools": ["delete_repo"],
      "probe": {"tool": "get_repo", "arguments": {"repo": "octo/demo"}}},
     {"name": "mcp-all", "path": "/mcp", "targets": ["github", "slack"], "toolsMatch": "exact",
      "expectedTools": ["github_get_repo", "slack_list_channels", ...], "deniedTools": ["github_delete_repo"]}]

Tool names are the names a client sees. `probe` is optional (no probe: the call is skipped, the list checks
still run). `toolsMatch` is `exact` (default: the listed tools are exactly `expectedTools`) or `atLeast`
(extra listed tools are allowed). `targets` is present only when the route prefixes tool names (an aggregated
route): every name in expectedTools, deniedTools and probe.tool is then `<target>_<tool>` with a listed target.

Every problem raises PlanError with a message that names the entry and the key.
"""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from verify.tool_names import DELIMITER, split_prefixed

REQUIRED_KEYS = ("name", "path", "expectedTools")
# Authentication keys (shared contract of issue 12; their checks are the verifier's, verify/ owns the parsing):
# accepted here so that a plan of an authenticated stack loads.
AUTH_KEYS = ("auth", "allowedGroups", "toolGroups", "groupsClaim")
OPTIONAL_KEYS = ("deniedTools", "probe", "toolsMatch", "targets") + AUTH_KEYS
TOOLS_MATCH = ("exact", "atLeast")
# agentgateway's MCP target names (a Gateway API SectionName): lower case, '-', '.'; never the '_' delimiter
TARGET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
PULUMI_TIMEOUT = 120


class PlanError(ValueError):
    """The plan cannot be read or is malformed (a configuration error: exit code 2)."""


@dataclass(frozen=True)
class RoutePlan:
    """What one gateway route must offer."""

    name: str
    path: str
    expected_tools: tuple[str, ...]
    probe_tool: str | None = None
    probe_arguments: dict = field(default_factory=dict)
    denied_tools: tuple[str, ...] = ()
    tools_match: str = "exact"
    targets: tuple[str, ...] = ()

    @property
    def prefixed(self) -> bool:
        """True when the route shows tools as `<target>_<tool>` (an aggregated route)."""
        return bool(self.targets)


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
    probe_tool, arguments = _probe(entry, raw.get("probe"), expected)
    tools_match = raw.get("toolsMatch", "exact")
    if tools_match not in TOOLS_MATCH:
        raise PlanError(f"{entry}: 'toolsMatch' must be one of {', '.join(TOOLS_MATCH)}, got {tools_match!r}")
    targets = _targets(entry, raw["targets"]) if "targets" in raw else ()
    if targets:  # probe.tool is one of expectedTools, so it is checked with them
        _check_prefixed(entry, targets, (("expectedTools", expected), ("deniedTools", denied)))
    return RoutePlan(name=name, path=path, expected_tools=expected, probe_tool=probe_tool,
                     probe_arguments=arguments, denied_tools=denied, tools_match=tools_match, targets=targets)


def _probe(entry: str, probe: object, expected: tuple[str, ...]) -> tuple[str | None, dict]:
    """The probe tool and its arguments; (None, {}) when the entry has no probe."""
    if probe is None:
        return None, {}
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
    return probe["tool"], arguments


def _targets(entry: str, value: object) -> tuple[str, ...]:
    targets = _string_list(entry, "targets", value)
    if not targets:
        raise PlanError(f"{entry}: 'targets' must list at least one target (leave it out when tool names "
                        "are not prefixed)")
    bad = [target for target in targets if not TARGET_NAME.match(target)]
    if bad:
        raise PlanError(f"{entry}: 'targets' has invalid target name(s) {', '.join(map(repr, bad))} (lower-case "
                        f"letters, digits, '-' and '.'; no {DELIMITER!r}, which separates target and tool)")
    return targets


def _check_prefixed(entry: str, targets: tuple[str, ...], names: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
    """Every tool name of a prefixed route must be `<target>_<tool>` with `<target>` in `targets`."""
    for key, values in names:
        for name in values:
            parts = split_prefixed(name)
            if parts is None or parts[0] not in targets:
                raise PlanError(f"{entry}: '{key}' name {name!r} is not '<target>{DELIMITER}<tool>' with a target "
                                f"in 'targets' ({', '.join(targets)})")


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
