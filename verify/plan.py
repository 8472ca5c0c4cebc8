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

Authentication (issue 12; shared contract in the project's helper notes), all optional:
- `auth: {"required": true, "resourceMetadata": false}`: an anonymous request must get 401, the verifier's
  token must be accepted; `resourceMetadata` true: the 401 carries `WWW-Authenticate: Bearer
  resource_metadata="..."` (agentgateway's `jwtAuthentication.mcp`). Absent: anonymous access is expected.
- `allowedGroups: ["mcp-github"]`: only callers in one of these groups may use the route's tools.
- `toolGroups: {"create_issue": ["mcp-writers"]}`: these tools (client-visible names, from expectedTools or
  deniedTools) are visible and callable only for callers in one of the groups.
- `groupsClaim: "groups"`: the JWT claim holding the caller's groups (informational for the verifier).
- `auth.location`: where the gateway reads the token (agentgateway's `jwtAuthentication.location`), exactly one of
  `{"header": {"name": "X-Mcp-Token", "prefix": "Token "}}` (`prefix` optional: without it the whole header value
  is the token) or `{"cookie": {"name": "mcp_token"}}`. Absent: `Authorization: Bearer <token>`. The verifier
  sends its tokens there and nowhere else (verify/token_location.py); names must be RFC 9110 header names or
  RFC 6265 cookie names, a prefix visible ASCII (no control characters). Needs `auth.required` true.
Group rules need `auth.required`.

Every problem raises PlanError with a message that names the entry and the key.
"""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from verify.token_location import BEARER, MAX_NAME, LocationError, TokenLocation
from verify.tool_names import DELIMITER, split_prefixed

REQUIRED_KEYS = ("name", "path", "expectedTools")
OPTIONAL_KEYS = ("deniedTools", "probe", "toolsMatch", "targets", "auth", "allowedGroups", "toolGroups",
                 "groupsClaim")
AUTH_KEYS = ("required", "resourceMetadata", "location")  # the keys of an entry's `auth` object
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
    auth_required: bool = False
    resource_metadata: bool = False
    allowed_groups: tuple[str, ...] = ()
    tool_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (tool, groups) in plan order
    groups_claim: str | None = None
    token_location: TokenLocation = BEARER  # where the verifier's tokens go (auth.location)

    @property
    def prefixed(self) -> bool:
        """True when the route shows tools as `<target>_<tool>` (an aggregated route)."""
        return bool(self.targets)

    @property
    def group_restricted(self) -> bool:
        """True when some tools of the route are reserved to callers in certain groups."""
        return bool(self.allowed_groups or self.tool_groups)

    def restricted_tools(self) -> tuple[str, ...]:
        """Tools a caller in none of the plan's groups must neither see nor call (every tool of the route when it
        has allowedGroups, else the toolGroups tools)."""
        if self.allowed_groups:
            return tuple(dict.fromkeys(self.expected_tools + self.denied_tools))
        return tuple(tool for tool, _ in self.tool_groups)


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
    auth_required, resource_metadata, token_location = _auth(entry, raw.get("auth"))
    allowed_groups = _string_list(entry, "allowedGroups", raw.get("allowedGroups", []))
    tool_groups = _tool_groups(entry, raw.get("toolGroups", {}), expected + denied)
    groups_claim = raw.get("groupsClaim")
    if groups_claim is not None and (not isinstance(groups_claim, str) or not groups_claim.strip()):
        raise PlanError(f"{entry}: 'groupsClaim' must be a non-empty string, got {groups_claim!r}")
    if (allowed_groups or tool_groups) and not auth_required:
        raise PlanError(f"{entry}: 'allowedGroups'/'toolGroups' need 'auth': {{'required': true}} (groups come from "
                        "the caller's token)")
    if targets:  # probe.tool is one of expectedTools, so it is checked with them
        _check_prefixed(entry, targets, (("expectedTools", expected), ("deniedTools", denied)))
    return RoutePlan(name=name, path=path, expected_tools=expected, probe_tool=probe_tool,
                     probe_arguments=arguments, denied_tools=denied, tools_match=tools_match, targets=targets,
                     auth_required=auth_required, resource_metadata=resource_metadata,
                     allowed_groups=allowed_groups, tool_groups=tool_groups, groups_claim=groups_claim,
                     token_location=token_location)


def _auth(entry: str, auth: object) -> tuple[bool, bool, TokenLocation]:
    """(required, resourceMetadata, token location) of the entry's `auth` object; (False, False, BEARER) when it
    has none."""
    if auth is None:
        return False, False, BEARER
    auth = _object(entry, "auth", auth, AUTH_KEYS)
    for key in ("required", "resourceMetadata"):
        if key in auth and not isinstance(auth[key], bool):
            raise PlanError(f"{entry}: 'auth.{key}' must be true or false, got {auth[key]!r}")
    if "required" not in auth:
        raise PlanError(f"{entry}: 'auth' must have 'required' (true or false)")
    required, metadata = auth["required"], auth.get("resourceMetadata", False)
    if metadata and not required:
        raise PlanError(f"{entry}: 'auth.resourceMetadata' true needs 'auth.required' true")
    if "location" not in auth:
        return required, metadata, BEARER
    if not required:
        raise PlanError(f"{entry}: 'auth.location' needs 'auth.required' true (the token is sent only to routes "
                        "that require it)")
    return required, metadata, _location(entry, auth["location"])


def _object(entry: str, where: str, value: object, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
    """`value` if it is an object with only `allowed` keys and every `required` one; else PlanError naming `where`."""
    if not isinstance(value, dict):
        raise PlanError(f"{entry}: '{where}' must be an object, got {value!r}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise PlanError(f"{entry}: unknown key(s) {', '.join(map(repr, unknown))} in '{where}' "
                        f"(allowed: {', '.join(allowed)})")
    missing = [key for key in required if key not in value]
    if missing:
        raise PlanError(f"{entry}: '{where}' must have {', '.join(map(repr, missing))}")
    return value


def _location(entry: str, value: object) -> TokenLocation:
    """`auth.location`: {header: {name, prefix?}} | {cookie: {name}} (agentgateway's queryParameter and expression
    are not offered by the project), as a TokenLocation whose names and prefix are checked."""
    location = _object(entry, "auth.location", value, ("header", "cookie"))
    if len(location) != 1:
        raise PlanError(f"{entry}: 'auth.location' must set exactly one of header | cookie, got {value!r}")
    try:
        if "cookie" in location:
            cookie = _object(entry, "auth.location.cookie", location["cookie"], ("name",), ("name",))
            return TokenLocation(header=None, prefix=None, cookie=cookie["name"])
        header = _object(entry, "auth.location.header", location["header"], ("name", "prefix"), ("name",))
        if "prefix" in header and not header["prefix"]:  # "" or null: leave the key out for no prefix
            raise LocationError("header.prefix", f"must be 1-{MAX_NAME} visible ASCII characters or spaces (leave "
                                                 f"it out for none), got {header['prefix']!r}")
        return TokenLocation(header=header["name"], prefix=header.get("prefix"))
    except LocationError as exc:
        raise PlanError(f"{entry}: {exc}") from None


def _tool_groups(entry: str, value: object, tools: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`toolGroups` as ((tool, groups), ...); every tool must be one the plan names, every group list non-empty."""
    if not isinstance(value, dict):
        raise PlanError(f"{entry}: 'toolGroups' must be an object of tool name -> list of groups, got {value!r}")
    pairs = []
    for tool, groups in value.items():
        if tool not in tools:
            raise PlanError(f"{entry}: 'toolGroups' names {tool!r}, which is in neither 'expectedTools' nor "
                            "'deniedTools'")
        listed_groups = _string_list(entry, f"toolGroups.{tool}", groups)
        if not listed_groups:
            raise PlanError(f"{entry}: 'toolGroups.{tool}' must list at least one group")
        pairs.append((tool, listed_groups))
    return tuple(pairs)


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
