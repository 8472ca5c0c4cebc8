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

from components.crds._base import DNS_LABEL, DNS_SUBDOMAIN

PROJECT = "mcp-federation"
REPO_ROOT = Path(__file__).resolve().parent.parent
CODE_DIR = REPO_ROOT / "server_code"
CORE_FILE = "mcp_core.py"

DEFAULT_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}
DEFAULT_GATEWAY = {"create": True, "name": "mcp-gateway", "namespace": "agentgateway-system", "port": 80,
                   "serviceType": "ClusterIP"}
DEFAULT_SERVERS = [{"name": "fetch"}, {"name": "github"}, {"name": "slack"}]

# Project config key -> default. Must equal the `default:` of each key in Pulumi.yaml (tested).
PROJECT_DEFAULTS: dict[str, Any] = {
    "namespace": "mcp",
    "createNamespace": True,
    "image": "python:3.11-slim",
    "kubeContext": "",
    "gateway": DEFAULT_GATEWAY,
    "servers": DEFAULT_SERVERS,
    "denyDangerousTools": True,
    "secrets": {},
}
SERVER_KEYS = ("name", "path", "code", "replicas", "port", "image", "resources",
               "deniedTools", "allowedTools", "env", "secretEnv")
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
class ServerConfig:
    """One MCP server: its code file in server_code/, where the gateway exposes it, and how it runs."""

    name: str
    path: str
    code: str
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


@dataclass(frozen=True)
class GatewayConfig:
    """The agentgateway Gateway the routes attach to; `create=False` means it already exists."""

    create: bool
    name: str
    namespace: str
    port: int
    service_type: str = "ClusterIP"  # of the data-plane Service the controller creates (only with create=True)


@dataclass(frozen=True)
class FederationConfig:
    """The whole stack configuration."""

    namespace: str
    create_namespace: bool
    image: str
    kube_context: str | None
    gateway: GatewayConfig
    servers: tuple[ServerConfig, ...]
    code_dir: Path
    deny_dangerous_tools: bool = True
    secrets: Mapping[str, SecretValue] = field(default_factory=lambda: MappingProxyType({}))


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
        if pattern is not None and not pattern.match(value):
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


def _route_path(check: _Checker, key: str, value: Any) -> str | None:
    path = check.string(key, value, ROUTE_PATH, "a URL path starting with '/' (segments of letters, digits, "
                        "-._~!$&'()*+,;=:@ or %XX; no '//', no trailing '/')", max_len=1024)
    if path is not None and re.search(r"/\.\.?(/|$)", path):
        check.fail(key, f"{path!r} must not contain '.' or '..' segments")
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
        if not isinstance(name, str) or not ENV_NAME.match(name):
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
    if "code" in entry or name is not None:
        code = _code_file(check, f"{key}.code", entry.get("code", f"{name}.py"), code_dir)
    replicas = check.integer(f"{key}.replicas", entry.get("replicas", SERVER_REPLICAS_DEFAULT), 1, 100)
    port = check.integer(f"{key}.port", entry.get("port", SERVER_PORT_DEFAULT), 1024, 65535,
                         " (non-root containers cannot bind ports below 1024)")
    server_image = check.string(f"{key}.image", entry["image"], IMAGE, IMAGE_HELP) \
        if "image" in entry else image
    resources = _resources(check, f"{key}.resources", entry.get("resources", DEFAULT_RESOURCES))
    security = _server_security(check, key, entry)
    fields = (name, path, code, replicas, port, server_image, resources)
    if any(f is None for f in fields) or security is None:
        return None
    return ServerConfig(*fields, **security)  # type: ignore[arg-type]


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
        if not isinstance(name, str) or not SECRET_NAME.match(name):
            check.fail(f"secrets.{name}", "is not a secret name (a letter, then letters, digits or '_')")
        elif not isinstance(value, str) or not value:
            check.fail(f"secrets.{name}", f"is not a non-empty string (got {type(value).__name__}; {hint})")
        else:
            result[name] = SecretValue(value)
    return result if len(result) == len(raw) else None


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
    # Image servers (type 'image', issue 8) do not read MCP_SESSION_KEY; code servers are the default type.
    replicated = [f"servers[{i}] ({s.name!r}, replicas {s.replicas})" for i, s in enumerate(servers)
                  if s is not None and s.replicas > 1 and getattr(s, "type", "code") == "code"]
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
    if check.errors:
        raise ConfigError(check.errors, missing_secrets)
    return FederationConfig(namespace=namespace, create_namespace=create_namespace, image=image,  # type: ignore
                            kube_context=kube_context or None, gateway=gateway, servers=tuple(servers),
                            code_dir=code_dir, deny_dangerous_tools=deny_dangerous_tools,
                            secrets=MappingProxyType(secrets or {}))


# Keys whose value is structured: the CLI and the mocks hand them over as JSON text.
_STRUCTURED_KEYS = ("gateway", "servers", "secrets")
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


