"""Typed, validated stack configuration of the federation.

`load_config()` (the running stack's config) or `parse_config(dict)` returns a frozen `FederationConfig`, or raises
`ConfigError` listing every problem at once, each naming the key and the value. It runs before any resource is
declared. `load_config` reads the engine's whole config map rather than `pulumi.Config`, so that a misspelt
`mcp-federation:<key>` in a stack file is an error instead of being silently ignored.

The defaults below are the ones in `Pulumi.yaml`'s `config:` block: the CLI applies those, but under unit-test mocks
the SDK applies none, so the code applies the same values (tests/test_config.py checks that both agree).
Numbers may arrive as ints, whole floats (`2.0`, from protobuf) or numeric strings (`"2"`, from the CLI).
"""
from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Optional

from components.auth_config import GROUP_KEYS, AuthConfig, ServerGroups, check_group_rules_have_a_provider, \
    parse_auth, parse_server_groups
from components.crds._base import DNS_LABEL, DNS_SUBDOMAIN
from components.crds.agentgateway import MAX_TARGETS

PROJECT = "mcp-federation"
REPO_ROOT = Path(__file__).resolve().parent.parent
CODE_DIR = REPO_ROOT / "server_code"
CORE_FILE = "mcp_core.py"

DEFAULT_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}
DEFAULT_GATEWAY = {"create": True, "name": "mcp-gateway", "namespace": "agentgateway-system", "port": 80,
                   "serviceType": "ClusterIP"}
DEFAULT_SERVERS = [{"name": "fetch"}, {"name": "github"}, {"name": "slack"}]
# The aggregated route: one path whose backend has every selected server as a target (`servers`: default all).
DEFAULT_AGGREGATE = {"enabled": False, "path": "/mcp", "name": "mcp-all", "prefixMode": "Conditional",
                     "failureMode": "FailClosed", "sessionRouting": "Stateful"}
AGGREGATE_MODES = {"prefixMode": ("Conditional", "Always", "Never"), "failureMode": ("FailClosed", "FailOpen"),
                   "sessionRouting": ("Stateful", "Stateless")}
# `servers[i].type`: code runs server_code/<code> in `image`; image is a container image that itself serves MCP.
SERVER_TYPES = ("code", "image")
IMAGE_SERVER_KEYS = ("command", "args", "mcpPath", "healthPath", "expectedTools", "dangerousTools", "probe",
                     "runAsUser")
IMAGE_MCP_PATH_DEFAULT = "/mcp"

# Project config key -> default. Must equal the `default:` of each key in Pulumi.yaml (tested).
PROJECT_DEFAULTS: dict[str, Any] = {
    "namespace": "mcp",
    "createNamespace": True,
    "image": "python:3.11-slim",
    "kubeContext": "",
    "gateway": DEFAULT_GATEWAY,
    "servers": DEFAULT_SERVERS,
    "aggregate": {"enabled": False},
    "denyDangerousTools": True,
    "secrets": {},
    "auth": {"mode": "none"},
}
SERVER_KEYS = ("name", "path", "code", "replicas", "port", "image", "resources",
               "deniedTools", "allowedTools", "env", "secretEnv", "type") + IMAGE_SERVER_KEYS + GROUP_KEYS
# Data-plane Service types a created Gateway may get (AgentgatewayParameters spec.service.spec.type).
GATEWAY_SERVICE_TYPES = ("ClusterIP", "LoadBalancer", "NodePort")
SECRET_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_ENV = ("PORT", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "MCP_SESSION_KEY")  # set by the components
SESSION_KEY_SECRET = "sessionKey"  # secrets.sessionKey: MCP_SESSION_KEY of code servers with replicas > 1
SESSION_KEY_MIN_LENGTH = 16        # mcp_core refuses shorter keys
SERVER_PORT_DEFAULT = 8080
SERVER_REPLICAS_DEFAULT = 1

# One or more path segments of the characters Gateway API allows in a PathPrefix; no trailing '/'.
ROUTE_PATH = re.compile(r"^(/(?:[-A-Za-z0-9._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+)+$")
CODE_FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*\.py$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
# [registry[:port]/]repository with a tag and/or a digest: an image must be pinned, never implicitly `latest`.
IMAGE = re.compile(r"^(?:[a-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._/-][a-z0-9]+)*"
                   r"(?=[:@])(?::(?!latest$)[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$")
IMAGE_HELP = "a pinned image reference with a tag other than 'latest' or a digest (e.g. python:3.11-slim)"
# Where an image serves MCP or health: an absolute path of path characters (a trailing '/' is allowed).
UPSTREAM_PATH = re.compile(r"^/(?:[-A-Za-z0-9._~!$&'()*+,;=:@/]|%[0-9a-fA-F]{2})*$")
UPSTREAM_PATH_HELP = "an absolute URL path (e.g. /mcp)"


class ConfigError(ValueError):
    """Invalid stack configuration; `errors` lists every problem, each naming the key and the value (never the
    value of a secret). `missing_secrets` names the referenced secrets that are not set (sorted; may be empty)."""

    def __init__(self, errors: list[str], missing_secrets: tuple[str, ...] | list[str] = ()):
        self.errors = list(errors)
        self.missing_secrets = sorted(set(missing_secrets))
        lines = "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(f"invalid {PROJECT} stack configuration ({len(self.errors)} problem(s)):\n{lines}")


class SecretValue:
    """A secret config value. Its repr/str is `<secret>`, so it never shows up in errors, logs or reprs;
    `reveal()` gives the value to the one place that needs it (the Kubernetes Secret, as a Pulumi secret)."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        object.__setattr__(self, "_value", value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("SecretValue is immutable")

    def reveal(self) -> str:
        """The plain value."""
        return self._value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


@dataclass(frozen=True)
class ResourcesConfig:
    """CPU/memory requests and limits of one server container (Kubernetes quantities)."""

    requests_cpu: str
    requests_memory: str
    limits_cpu: str
    limits_memory: str

    def to_k8s(self) -> dict:
        """The container `resources` object."""
        return {"requests": {"cpu": self.requests_cpu, "memory": self.requests_memory},
                "limits": {"cpu": self.limits_cpu, "memory": self.limits_memory}}


@dataclass(frozen=True)
class ImageServerConfig:
    """What only a `type: image` server has: how its container starts, where it serves MCP and health, and the
    tools it is expected to offer (an image cannot be inspected at deploy time, so the config states them)."""

    command: tuple[str, ...] | None    # None: the image's entrypoint
    args: tuple[str, ...] | None       # None: the image's cmd
    mcp_path: str
    health_path: str | None            # None: TCP socket probes on the port
    expected_tools: tuple[str, ...]
    dangerous_tools: tuple[str, ...]
    probe_tool: str | None             # None: the verifier lists tools but calls none
    probe_arguments: dict
    run_as_user: int | None            # None: the component's default non-root UID


@dataclass(frozen=True)
class ServerConfig:
    """One MCP server: its code file in server_code/, where the gateway exposes it, and how it runs."""

    name: str
    path: str
    code: str | None  # None for a type image server
    replicas: int
    port: int
    image: str
    resources: ResourcesConfig
    # Tool authorization at the gateway: a deny list, or (exclusive) an allow list; None means no allow list.
    denied_tools: tuple[str, ...] = ()
    allowed_tools: Optional[tuple[str, ...]] = None
    # Extra container env: plain values, and env names mapped to names under the `secrets` config key.
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    secret_env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    image_server: ImageServerConfig | None = None  # set exactly for type image (then `code` is None)
    groups: ServerGroups = field(default_factory=ServerGroups)  # allowedGroups / toolGroups (auth_config.py)

    @property
    def type(self) -> str:
        """`code` (runs server_code/<code>) or `image` (the image itself serves MCP)."""
        return "image" if self.image_server is not None else "code"


@dataclass(frozen=True)
class GatewayConfig:
    """The agentgateway Gateway the routes attach to; `create=False` means it already exists."""

    create: bool
    name: str
    namespace: str
    port: int
    service_type: str = "ClusterIP"  # of the data-plane Service the controller creates (only with create=True)


@dataclass(frozen=True)
class AggregateConfig:
    """The optional aggregated route: one path whose AgentgatewayBackend has every selected server as a target."""

    enabled: bool
    path: str
    name: str
    prefix_mode: str
    failure_mode: str
    session_routing: str
    servers: tuple[str, ...]  # target (= server) names in config order


@dataclass(frozen=True)
class FederationConfig:
    """The whole stack configuration."""

    namespace: str
    create_namespace: bool
    image: str
    kube_context: str | None
    gateway: GatewayConfig
    servers: tuple[ServerConfig, ...]
    aggregate: AggregateConfig
    code_dir: Path
    deny_dangerous_tools: bool = True
    secrets: Mapping[str, SecretValue] = field(default_factory=lambda: MappingProxyType({}))
    auth: AuthConfig = field(default_factory=AuthConfig)


class _Checker:
    """Collects errors while converting raw values; every converter returns None on error."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, key: str, message: str) -> None:
        self.errors.append(f"{key}: {message}")

    def string(self, key: str, value: Any, pattern: re.Pattern | None = None, what: str = "",
               max_len: int | None = None) -> str | None:
        if not isinstance(value, str):
            self.fail(key, f"{value!r} is not a string")
            return None
        if pattern is not None and not pattern.fullmatch(value):  # `$` alone would accept a trailing newline
            self.fail(key, f"{value!r} is not {what}")
            return None
        if max_len is not None and len(value) > max_len:
            self.fail(key, f"{value!r} is longer than {max_len} characters")
            return None
        return value

    def integer(self, key: str, value: Any, low: int, high: int, hint: str = "") -> int | None:
        number: int | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and re.fullmatch(r"\s*[-+]?[0-9]+\s*", value):
            number = int(value)
        if number is None:
            self.fail(key, f"{value!r} is not an integer")
            return None
        if not low <= number <= high:
            self.fail(key, f"{value!r} is out of range {low}..{high}{hint}")
            return None
        return number

    def boolean(self, key: str, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        self.fail(key, f"{value!r} is not a boolean (true or false)")
        return None

    def mapping(self, key: str, value: Any, allowed: tuple[str, ...], sep: str = ".") -> dict | None:
        if not isinstance(value, Mapping):
            self.fail(key, f"{value!r} is not an object")
            return None
        for unknown in sorted(set(value) - set(allowed), key=str):
            close = difflib.get_close_matches(str(unknown), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.fail(f"{key}{sep}{unknown}", f"unknown key{hint}; allowed: {', '.join(allowed)}")
        return dict(value)


_DNS_LABEL_HELP = "a DNS label (lowercase letters, digits and '-', starting and ending alphanumeric)"


def _resources(check: _Checker, key: str, raw: Any) -> ResourcesConfig | None:
    top = check.mapping(key, raw, ("requests", "limits"))
    if top is None:
        return None
    values: dict[str, str | None] = {}
    for section in ("requests", "limits"):
        part = check.mapping(f"{key}.{section}", top.get(section, DEFAULT_RESOURCES[section]), ("cpu", "memory"))
        if part is None:
            return None
        for res in ("cpu", "memory"):
            value = part.get(res, DEFAULT_RESOURCES[section][res])
            values[f"{section}_{res}"] = check.string(f"{key}.{section}.{res}", value, QUANTITY,
                                                      "a Kubernetes quantity (e.g. 100m, 128Mi)")
    if any(v is None for v in values.values()):
        return None
    return ResourcesConfig(**values)  # type: ignore[arg-type]


def has_dot_segment(path: str) -> bool:
    """Whether `path` has a '.' or '..' segment, also percent-encoded ('%2e', '.%2E', ...): a proxy or server that
    decodes before normalizing would resolve it (RFC 3986 section 6.2.2.2: %2E is '.')."""
    return any(re.fullmatch(r"(?:\.|%2[eE]){1,2}", segment) for segment in path.split("/"))


def _route_path(check: _Checker, key: str, value: Any) -> str | None:
    path = check.string(key, value, ROUTE_PATH, "a URL path starting with '/' (segments of letters, digits, "
                        "-._~!$&'()*+,;=:@ or %XX; no '//', no trailing '/')", max_len=1024)
    if path is not None and has_dot_segment(path):
        check.fail(key, f"{path!r} must not contain '.' or '..' segments (also percent-encoded)")
        return None
    return path


def _upstream_path(check: _Checker, key: str, value: Any) -> str | None:
    path = check.string(key, value, UPSTREAM_PATH, UPSTREAM_PATH_HELP, 1024)
    if path is not None and has_dot_segment(path):
        check.fail(key, f"{path!r} must not contain '.' or '..' segments (also percent-encoded)")
        return None
    return path


def _code_file(check: _Checker, key: str, value: Any, code_dir: Path) -> str | None:
    code = check.string(key, value, CODE_FILE, "a Python file name in server_code/ (e.g. github.py)")
    if code == CORE_FILE:
        check.fail(key, f"{code!r} is the shared core, not a server")
        return None
    if code is not None and not (code_dir / code).is_file():
        check.fail(key, f"{code!r} does not exist in {code_dir}")
        return None
    return code


def _tool_list(check: _Checker, key: str, value: Any) -> tuple[str, ...] | None:
    """A list of distinct tool names (whether the server has them is checked against its catalog later)."""
    if not isinstance(value, list):
        check.fail(key, f"{value!r} is not a list of tool names")
        return None
    bad = [item for item in value if not isinstance(item, str) or not item]
    if bad:
        check.fail(key, f"{bad!r} are not tool names (non-empty strings)")
        return None
    duplicates = sorted({item for item in value if value.count(item) > 1})
    if duplicates:
        check.fail(key, f"{', '.join(duplicates)} listed more than once")
        return None
    return tuple(value)


def _env_map(check: _Checker, key: str, value: Any, value_pattern: re.Pattern | None = None,
             what: str = "") -> dict[str, str] | None:
    """{ENV_NAME: string}: names are env names that the components do not set themselves."""
    if not isinstance(value, Mapping):
        check.fail(key, f"{value!r} is not an object of environment variables")
        return None
    result: dict[str, str] = {}
    for name, item in value.items():
        at = f"{key}.{name}"
        if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
            check.fail(at, f"{name!r} is not an environment variable name (letters, digits, '_')")
        elif name in RESERVED_ENV:
            check.fail(at, f"{name!r} is set by the component ({', '.join(RESERVED_ENV)} are reserved)")
        elif check.string(at, item, value_pattern, what) is not None:
            result[name] = item
    return result if len(result) == len(value) else None


def _server_security(check: _Checker, key: str, entry: dict) -> dict | None:
    """The tool-authorization and env keys of one server, as ServerConfig keyword arguments."""
    denied = _tool_list(check, f"{key}.deniedTools", entry.get("deniedTools", []))
    allowed = _tool_list(check, f"{key}.allowedTools", entry["allowedTools"]) if "allowedTools" in entry else ()
    if "deniedTools" in entry and "allowedTools" in entry:
        check.fail(f"{key}.allowedTools", "cannot be combined with deniedTools: use a deny list or an allow list")
        allowed = None
    elif allowed is not None and "allowedTools" in entry and not allowed:
        check.fail(f"{key}.allowedTools", "is empty: it would hide every tool (remove the key to allow all)")
        allowed = None
    env = _env_map(check, f"{key}.env", entry.get("env", {}))
    secret_env = _env_map(check, f"{key}.secretEnv", entry.get("secretEnv", {}), SECRET_NAME,
                          "a name under the secrets key (a letter, then letters, digits or '_')")
    if env is not None and secret_env is not None:
        for name in sorted(set(env) & set(secret_env)):
            check.fail(f"{key}.secretEnv.{name}", "is also set in env: set it in one of them")
            secret_env = None
    if None in (denied, allowed, env, secret_env):
        return None
    return {"denied_tools": denied, "allowed_tools": allowed if "allowedTools" in entry else None,
            "env": MappingProxyType(env), "secret_env": MappingProxyType(secret_env)}


def _server_type(check: _Checker, key: str, entry: dict) -> str | None:
    """The server's `type`; keys of the other type are errors."""
    server_type = entry.get("type", "code")
    if server_type not in SERVER_TYPES:
        check.fail(f"{key}.type", f"{server_type!r} is not one of {', '.join(SERVER_TYPES)}")
        return None
    for other in ("code",) if server_type == "image" else IMAGE_SERVER_KEYS:
        if other in entry:
            owner = "code" if other == "code" else "image"
            check.fail(f"{key}.{other}", f"{entry[other]!r}: only a type {owner} server takes this key "
                                         f"(this one is type {server_type})")
    return server_type


def _string_list(check: _Checker, key: str, value: Any, non_empty: bool = False) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        check.fail(key, f"{value!r} is not a list of strings")
        return None
    if non_empty and not value:
        check.fail(key, "[] is empty")
        return None
    return tuple(value)


def _probe(check: _Checker, key: str, value: Any, expected: tuple[str, ...] | None,
           dangerous: tuple[str, ...] | None) -> tuple[str, dict] | None:
    """`probe: {tool, arguments}` of an image server: a harmless tool of expectedTools."""
    entry = check.mapping(key, value, ("tool", "arguments"))
    if entry is None:
        return None
    if "tool" not in entry:
        check.fail(f"{key}.tool", "is required (the tool the verifier calls after a deploy)")
        return None
    tool = check.string(f"{key}.tool", entry["tool"])
    arguments = entry.get("arguments", {})
    if not isinstance(arguments, Mapping):
        check.fail(f"{key}.arguments", f"{arguments!r} is not an object")
        return None
    if tool is None or expected is None or dangerous is None:
        return None
    if tool not in expected:
        check.fail(f"{key}.tool", f"{tool!r} is not in expectedTools ({', '.join(expected)})")
        return None
    if tool in dangerous:
        check.fail(f"{key}.tool", f"{tool!r} is in dangerousTools: the verifier calls the probe tool after every "
                                  "deploy, so it must be a harmless one")
        return None
    return tool, dict(arguments)


def _image_server(check: _Checker, key: str, entry: dict) -> ImageServerConfig | None:
    """The keys of a `type: image` server (its container image itself serves MCP over Streamable HTTP)."""
    errors = len(check.errors)
    if "image" not in entry:
        check.fail(f"{key}.image", "is required for type image (a pinned container image that serves MCP)")
    command = _string_list(check, f"{key}.command", entry["command"], True) if "command" in entry else None
    args = _string_list(check, f"{key}.args", entry["args"]) if "args" in entry else None
    mcp_path = _upstream_path(check, f"{key}.mcpPath", entry.get("mcpPath", IMAGE_MCP_PATH_DEFAULT))
    health_path = _upstream_path(check, f"{key}.healthPath", entry["healthPath"]) if "healthPath" in entry else None
    run_as_user = check.integer(f"{key}.runAsUser", entry["runAsUser"], 1, 2**31 - 1,
                                " (0 is root; the pods run as non-root)") if "runAsUser" in entry else None
    expected = None
    if "expectedTools" not in entry:
        check.fail(f"{key}.expectedTools", "is required for type image (the tools the image offers; "
                                           "the verifier checks that tools/list includes them)")
    elif entry["expectedTools"] == []:
        check.fail(f"{key}.expectedTools", "[] is empty: list the tools the image offers")
    else:
        expected = _tool_list(check, f"{key}.expectedTools", entry["expectedTools"])
    dangerous = _tool_list(check, f"{key}.dangerousTools", entry.get("dangerousTools", []))
    unknown = [t for t in dangerous or () if expected is not None and t not in expected]
    if unknown:
        check.fail(f"{key}.dangerousTools", f"{', '.join(unknown)} not in expectedTools ({', '.join(expected)})")
    probe = _probe(check, f"{key}.probe", entry["probe"], expected, dangerous) if "probe" in entry else None
    if len(check.errors) > errors or expected is None or dangerous is None:
        return None
    return ImageServerConfig(command=command, args=args, mcp_path=mcp_path, health_path=health_path,  # type: ignore
                             expected_tools=expected, dangerous_tools=dangerous,
                             probe_tool=probe[0] if probe else None, probe_arguments=probe[1] if probe else {},
                             run_as_user=run_as_user)


def _server(check: _Checker, index: int, raw: Any, image: str | None, code_dir: Path) -> ServerConfig | None:
    key = f"servers[{index}]"
    entry = check.mapping(key, raw, SERVER_KEYS)
    if entry is None:
        return None
    name = None
    if "name" not in entry:
        check.fail(f"{key}.name", "is required")
    else:
        name = check.string(f"{key}.name", entry["name"], DNS_LABEL, _DNS_LABEL_HELP, max_len=63)
    # Defaults derive from the name: only check them when the name is valid (one mistake, one error).
    path = code = None
    if "path" in entry or name is not None:
        path = _route_path(check, f"{key}.path", entry.get("path", f"/mcp/{name}"))
    server_type = _server_type(check, key, entry)
    image_server = _image_server(check, key, entry) if server_type == "image" else None
    if server_type == "code" and ("code" in entry or name is not None):
        code = _code_file(check, f"{key}.code", entry.get("code", f"{name}.py"), code_dir)
    replicas = check.integer(f"{key}.replicas", entry.get("replicas", SERVER_REPLICAS_DEFAULT), 1, 100)
    port = check.integer(f"{key}.port", entry.get("port", SERVER_PORT_DEFAULT), 1024, 65535,
                         " (non-root containers cannot bind ports below 1024)")
    server_image = check.string(f"{key}.image", entry["image"], IMAGE, IMAGE_HELP) \
        if "image" in entry else image
    resources = _resources(check, f"{key}.resources", entry.get("resources", DEFAULT_RESOURCES))
    security = _server_security(check, key, entry)
    groups = parse_server_groups(check, key, entry)
    fields = (name, path, code, replicas, port, server_image, resources)
    if any(f is None for f in (name, path, replicas, port, server_image, resources)) or security is None \
            or groups is None or (code is None) == (image_server is None):  # exactly one: code file | image
        return None
    return ServerConfig(*fields, **security, image_server=image_server, groups=groups)  # type: ignore[arg-type]


def _gateway(check: _Checker, raw: Any) -> GatewayConfig | None:
    entry = check.mapping("gateway", raw, tuple(DEFAULT_GATEWAY))
    if entry is None:
        return None
    merged = {**DEFAULT_GATEWAY, **entry}
    fields = (check.boolean("gateway.create", merged["create"]),
              check.string("gateway.name", merged["name"], DNS_SUBDOMAIN, "a Kubernetes object name", 253),
              check.string("gateway.namespace", merged["namespace"], DNS_LABEL, _DNS_LABEL_HELP, 63),
              check.integer("gateway.port", merged["port"], 1, 65535))
    service_type = merged["serviceType"]
    if service_type not in GATEWAY_SERVICE_TYPES:
        check.fail("gateway.serviceType", f"{service_type!r} is not one of {', '.join(GATEWAY_SERVICE_TYPES)}")
        service_type = None
    elif "serviceType" in entry and fields[0] is False:
        check.fail("gateway.serviceType", f"{service_type!r} only applies when gateway.create is true "
                   "(an existing Gateway's Service is managed elsewhere)")
        service_type = None
    if any(f is None for f in fields) or service_type is None:
        return None
    return GatewayConfig(*fields, service_type=service_type)  # type: ignore[arg-type]


def _secrets(check: _Checker, raw: Any) -> dict[str, SecretValue] | None:
    """The `secrets` object. Values are never put into an error message."""
    hint = "set each with: pulumi config set --secret --path 'secrets.<name>' <value>"
    if not isinstance(raw, Mapping):
        check.fail("secrets", f"is not an object of secret values ({hint})")
        return None
    result: dict[str, SecretValue] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not SECRET_NAME.fullmatch(name):
            check.fail(f"secrets.{name}", "is not a secret name (a letter, then letters, digits or '_')")
        elif not isinstance(value, str) or not value:
            check.fail(f"secrets.{name}", f"is not a non-empty string (got {type(value).__name__}; {hint})")
        else:
            result[name] = SecretValue(value)
    return result if len(result) == len(raw) else None


def needs_session_key(server: ServerConfig) -> bool:
    """Whether the server gets MCP_SESSION_KEY from secrets.sessionKey: a code server (image servers do not read
    it) with more than one replica, whose replicas must accept each other's MCP session ids."""
    return server.replicas > 1 and getattr(server, "type", "code") == "code"


def _set_command(name: str, value_hint: str = "<value>") -> str:
    return f"pulumi config set --secret --path 'secrets.{name}' {value_hint}"


def _secret_references(check: _Checker, servers: list[Optional[ServerConfig]],
                       secrets: Mapping[str, SecretValue]) -> list[str]:
    """Every secret a server references must be set; the session key when a code server runs > 1 replica.
    Returns the names of the missing secrets."""
    missing: list[str] = []
    for index, server in enumerate(servers):
        if server is None:
            continue
        for env_name, secret in server.secret_env.items():
            if secret not in secrets:
                missing.append(secret)
                check.fail(f"servers[{index}].secretEnv.{env_name}",
                           f"secret {secret!r} is not set; run: {_set_command(secret)}")
    replicated = [f"servers[{i}] ({s.name!r}, replicas {s.replicas})" for i, s in enumerate(servers)
                  if s is not None and needs_session_key(s)]
    if replicated and SESSION_KEY_SECRET not in secrets:
        missing.append(SESSION_KEY_SECRET)
        check.fail(f"secrets.{SESSION_KEY_SECRET}",
                   f"is required because {', '.join(replicated)} share MCP sessions across replicas; run: "
                   f"{_set_command(SESSION_KEY_SECRET, f'<at least {SESSION_KEY_MIN_LENGTH} characters>')}")
    key = secrets.get(SESSION_KEY_SECRET)
    if key is not None and len(key.reveal()) < SESSION_KEY_MIN_LENGTH:
        check.fail(f"secrets.{SESSION_KEY_SECRET}", f"is shorter than {SESSION_KEY_MIN_LENGTH} characters")
    return missing


def _duplicates(check: _Checker, raw_servers: list) -> None:
    """Names and paths must be unique (a duplicate name already implies a duplicate default path)."""
    names: dict[str, int] = {}
    paths: dict[str, int] = {}
    for index, entry in enumerate(raw_servers):
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if not isinstance(name, str):
            continue
        if name in names:
            check.fail(f"servers[{index}].name", f"{name!r} is already used by servers[{names[name]}]")
            continue
        names[name] = index
        path = entry.get("path", f"/mcp/{name}")
        if not isinstance(path, str):
            continue
        if path in paths:
            check.fail(f"servers[{index}].path", f"{path!r} is already used by servers[{paths[path]}]")
        else:
            paths[path] = index


def _aggregate(check: _Checker, raw: Any, raw_servers: list) -> AggregateConfig | None:
    """The `aggregate` key. When enabled, its name and path must not be a server's and at most MAX_TARGETS
    servers may be selected. Server names are read from the raw entries, so one bad server entry does not also
    make the aggregate fail."""
    entry = check.mapping("aggregate", raw, tuple(DEFAULT_AGGREGATE) + ("servers",))
    if entry is None:
        return None
    merged = {**DEFAULT_AGGREGATE, **entry}
    names: dict[str, int] = {}
    paths: dict[str, int] = {}
    for index, server in enumerate(raw_servers):
        if isinstance(server, Mapping) and isinstance(server.get("name"), str):
            names.setdefault(server["name"], index)
            path = server.get("path", f"/mcp/{server['name']}")
            if isinstance(path, str):
                paths.setdefault(path, index)
    errors = len(check.errors)
    enabled = check.boolean("aggregate.enabled", merged["enabled"])
    path = _route_path(check, "aggregate.path", merged["path"])
    name = check.string("aggregate.name", merged["name"], DNS_LABEL, _DNS_LABEL_HELP, 63)
    for mode, allowed in AGGREGATE_MODES.items():
        if merged[mode] not in allowed:
            check.fail(f"aggregate.{mode}", f"{merged[mode]!r} is not one of {', '.join(allowed)}")
    selected: tuple[str, ...] | None = tuple(names)
    if "servers" in entry:
        selected = _string_list(check, "aggregate.servers", entry["servers"], True)
        for index, server_name in enumerate(selected or ()):
            if server_name not in names:
                check.fail(f"aggregate.servers[{index}]",
                           f"{server_name!r} is not a server name ({', '.join(names) or 'no servers'})")
            elif server_name in selected[:index]:  # type: ignore[index]
                check.fail(f"aggregate.servers[{index}]", f"{server_name!r} is listed twice")
    if enabled:
        if path in paths:
            check.fail("aggregate.path", f"{path!r} is already the path of servers[{paths[path]}]")
        if name in names:
            check.fail("aggregate.name", f"{name!r} is already the name of servers[{names[name]}] (the aggregate's "
                                         "backend and route would get that server's object names)")
        if selected is not None and len(selected) > MAX_TARGETS:
            check.fail("aggregate.servers", f"{len(selected)} servers selected, but one AgentgatewayBackend holds at "
                                            f"most {MAX_TARGETS} targets: list at most {MAX_TARGETS}")
    if len(check.errors) > errors:
        return None
    return AggregateConfig(enabled=enabled, path=path, name=name, prefix_mode=merged["prefixMode"],  # type: ignore
                           failure_mode=merged["failureMode"], session_routing=merged["sessionRouting"],
                           servers=selected)  # type: ignore[arg-type]


def parse_config(raw: Mapping[str, Any], code_dir: Path = CODE_DIR) -> FederationConfig:
    """Validate a plain mapping of project config keys (missing keys take their defaults)."""
    check = _Checker()
    values = check.mapping(PROJECT, raw, tuple(PROJECT_DEFAULTS), sep=":") or {}
    values = {**PROJECT_DEFAULTS, **values}
    namespace = check.string("namespace", values["namespace"], DNS_LABEL, _DNS_LABEL_HELP, 63)
    create_namespace = check.boolean("createNamespace", values["createNamespace"])
    image = check.string("image", values["image"], IMAGE, IMAGE_HELP)
    kube_context = check.string("kubeContext", values["kubeContext"])
    gateway = _gateway(check, values["gateway"])
    deny_dangerous_tools = check.boolean("denyDangerousTools", values["denyDangerousTools"])
    secrets = _secrets(check, values["secrets"])
    missing_secrets: list[str] = []
    servers: list[ServerConfig] = []
    parsed: list[Optional[ServerConfig]] = []
    raw_servers = values["servers"]
    if not isinstance(raw_servers, list):
        check.fail("servers", f"{raw_servers!r} is not a list of server objects")
    elif not raw_servers:
        check.fail("servers", "is empty: declare at least one server")
    else:
        parsed = [_server(check, i, entry, image, code_dir) for i, entry in enumerate(raw_servers)]
        _duplicates(check, raw_servers)
        if secrets is not None:
            missing_secrets = _secret_references(check, parsed, secrets)
        servers = [s for s in parsed if s is not None]
    aggregate = _aggregate(check, values["aggregate"], raw_servers if isinstance(raw_servers, list) else [])
    auth = parse_auth(check, values["auth"], gateway.service_type if gateway is not None and gateway.create
                      else None)
    check_group_rules_have_a_provider(check, values["auth"], [(index, server.groups if server is not None else None)
                                                    for index, server in enumerate(parsed)])
    if check.errors:
        raise ConfigError(check.errors, missing_secrets)
    return FederationConfig(namespace=namespace, create_namespace=create_namespace, image=image,  # type: ignore
                            kube_context=kube_context or None, gateway=gateway, servers=tuple(servers),
                            aggregate=aggregate,
                            code_dir=code_dir, deny_dangerous_tools=deny_dangerous_tools,
                            secrets=MappingProxyType(secrets or {}), auth=auth)


# Keys whose value is structured: the CLI and the mocks hand them over as JSON text.
_STRUCTURED_KEYS = ("gateway", "servers", "secrets", "aggregate", "auth")
_SECRET_KEYS = ("secrets",)  # never echoed in an error


def _decode(key: str, value: Any, errors: list[str]) -> Any:
    if key in _STRUCTURED_KEYS and isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            shown = "<secret>" if key in _SECRET_KEYS else repr(value)
            errors.append(f"{key}: {shown} is not valid JSON ({exc.msg})")
            return None
    return value


def raw_project_config(all_config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Pick this project's keys out of the engine's flat `<namespace>:<key>` config map (JSON values decoded)."""
    errors: list[str] = []
    raw = {}
    for full_key, value in all_config.items():
        namespace, _, key = full_key.partition(":")
        if namespace == PROJECT:
            decoded = _decode(key, value, errors)
            if decoded is not None:
                raw[key] = decoded
    return raw, errors


def load_config(code_dir: Path = CODE_DIR) -> FederationConfig:
    """Read and validate the running stack's config (the CLI's, or the one set by tests under mocks)."""
    from pulumi.runtime import config as runtime_config  # the engine's full map, so typos in keys are caught

    all_config = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    raw, errors = raw_project_config(all_config)
    try:
        config = parse_config(raw, code_dir)
    except ConfigError as exc:
        raise ConfigError(errors + exc.errors, exc.missing_secrets) from None
    if errors:
        raise ConfigError(errors)
    return config


