"""The whole stack configuration, `secrets`, and the rules that span sections (unique names and paths, referenced
secrets set, the aggregate's servers, group rules needing authentication, an exposed gateway needing auth)."""
from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Mapping, Optional

from dataclasses import dataclass
from typing import Sequence

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, WithJsonSchema, PrivateAttr, TypeAdapter, ValidationError, ValidationInfo, \
    model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from components.crds.agentgateway import MAX_TARGETS

from .auth import AuthConfig
from .fields import CliBool, Hint, Model, Str, Text, list_of, problem
from .gateway import AggregateConfig, GatewayConfig
from .servers import CODE_DIR, IMAGE, SECRET_NAME, DnsLabel, Image, ServerConfig

SESSION_KEY_SECRET = "sessionKey"  # secrets.sessionKey: MCP_SESSION_KEY of code servers with replicas > 1
SESSION_KEY_MIN_LENGTH = 16        # mcp_core refuses shorter keys
EXPOSED_SERVICE_TYPES = ("LoadBalancer", "NodePort")
SET_SECRET_HINT = "set each with: pulumi config set --secret --path 'secrets.<name>' <value>"


class SecretValue(SecretStr):
    """A secret config value. Its repr/str is `<secret>`, so it never shows up in errors, logs or reprs;
    `reveal()` gives the value to the one place that needs it (the Kubernetes Secret, as a Pulumi secret)."""

    def reveal(self) -> str:
        """The plain value."""
        return self.get_secret_value()

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(self, "_secret_value"):
            raise AttributeError("SecretValue is immutable")
        super().__setattr__(name, value)

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


def _secret_value(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        raise problem(f"is not a non-empty string (got {type(value).__name__}; {SET_SECRET_HINT})")
    return value


def needs_session_key(server: ServerConfig) -> bool:
    """Whether the server gets MCP_SESSION_KEY from secrets.sessionKey: a code server (image servers do not read
    it) with more than one replica, whose replicas must accept each other's MCP session ids."""
    return server.replicas > 1 and server.type == "code"


def _set_command(name: str, value_hint: str = "<value>") -> str:
    return f"pulumi config set --secret --path 'secrets.{name}' {value_hint}"


def _secret_name(name: str) -> str:
    if not SECRET_NAME.fullmatch(name):
        raise problem("is not a secret name (a letter, then letters, digits or '_')")  # the key shows the name
    return name


SecretKey = Annotated[Str, AfterValidator(_secret_name)]


class FederationConfig(Model):
    """The whole stack configuration."""

    namespace: DnsLabel = "mcp"
    create_namespace: CliBool = True
    image: Image = "python:3.11-slim"
    kube_context: Optional[Str] = None  # None (or ""): the kubeconfig's current context
    gateway: GatewayConfig = GatewayConfig()
    servers: Annotated[tuple[ServerConfig, ...], list_of("server objects", "is empty: declare at least one server")] = ()  # default: fetch, github, slack (_inherited_defaults)
    aggregate: AggregateConfig = AggregateConfig()
    deny_dangerous_tools: CliBool = True
    secrets: Annotated[Mapping[SecretKey, Annotated[SecretValue, BeforeValidator(_secret_value),
                                                         WithJsonSchema({"type": "string", "minLength": 1})]], AfterValidator(MappingProxyType),
                       Hint(expected=f"an object of secret values ({SET_SECRET_HINT})")] = Field(default_factory=lambda: MappingProxyType({}))
    auth: AuthConfig = AuthConfig()
    _code_dir: Path = PrivateAttr(CODE_DIR)

    @model_validator(mode="before")
    @classmethod
    def _inherited_defaults(cls, data: Any) -> Any:
        return inherited_defaults(data)

    @model_validator(mode="wrap")
    @classmethod
    def _rules_across_sections(cls, data: Any, handler: Any, info: ValidationInfo) -> "FederationConfig":
        """The cross-section rules, also when some section is invalid: they then see every server, secret and
        aggregate setting that is valid on its own (all problems at once)."""
        context = info.context or {}
        try:
            config = handler(data)
        except ValidationError as exc:
            if not isinstance(data, dict):
                raise
            found = _cross_rules(_Sections.partial(data, context))
            raise ValidationError.from_exception_data(cls.__name__, [*map(_again, exc.errors()), *_details(found)])
        config._code_dir = context.get("code_dir", CODE_DIR)
        found = _cross_rules(_Sections.of(config))
        if found:
            raise ValidationError.from_exception_data(cls.__name__, _details(found))
        return config

    @property
    def code_dir(self) -> Path:
        """Where the server code files are (server_code/ unless a test says otherwise)."""
        return self._code_dir


_SECRETS = TypeAdapter(FederationConfig.model_fields["secrets"].rebuild_annotation())
def inherited_defaults(data: Any) -> Any:
    """Code servers default to the top-level image (only a valid one: one mistake, one error); the aggregate
    selects every server by default."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    image = data.get("image", "python:3.11-slim")
    servers = data.get("servers", [{"name": n} for n in ("fetch", "github", "slack")])
    if isinstance(servers, list):
        if isinstance(image, str) and IMAGE.fullmatch(image):
            servers = [{"image": image, **entry} if isinstance(entry, dict) and entry.get("type", "code") == "code"
                       else entry for entry in servers]
        data["servers"] = servers
        aggregate = data.get("aggregate", {})
        if isinstance(aggregate, dict) and "servers" not in aggregate:
            names = [s["name"] for s in servers if isinstance(s, dict) and isinstance(s.get("name"), str)]
            if names:
                data["aggregate"] = {**aggregate, "servers": list(dict.fromkeys(names))}
    if data.get("kubeContext") == "":
        data["kubeContext"] = None
    return data


Found = list[tuple[tuple, str, Optional[str]]]  # (location, message, missing secret name)


def _details(found: Found) -> list[InitErrorDetails]:
    return [InitErrorDetails(type=problem(message, **({"secret": secret} if secret else {})), loc=loc, input=None)
            for loc, message, secret in found]


def _again(error: Any) -> InitErrorDetails:
    """An error of a failed validation, to be raised again together with others."""
    kind = PydanticCustomError("config", "{message}", error["ctx"]) if error["type"] == "config" else error["type"]
    return InitErrorDetails(type=kind, loc=error["loc"], input=error.get("input"), ctx=error.get("ctx", {}))


def _valid_part(validate: Any, raw: Any) -> Any:
    """`raw` validated, else validated again without its invalid top-level keys (their defaults apply), else None."""
    for _ in range(2):
        try:
            return validate(raw)
        except ValidationError as exc:
            bad = {error["loc"][0] for error in exc.errors() if error["loc"]}
            if not isinstance(raw, dict) or not bad & set(raw):
                return None
            raw = {key: value for key, value in raw.items() if key not in bad}
    return None


@dataclass(frozen=True)
class _Sections:
    """What the cross-section rules read; an invalid server is None, an invalid section the default or None."""

    servers: Sequence[Optional[ServerConfig]]
    secrets: Optional[Mapping[str, SecretValue]]
    aggregate: Optional[AggregateConfig]
    auth: Optional[AuthConfig]
    gateway: Optional[GatewayConfig]
    names: Mapping[str, int]  # server name or route path -> first index: of every entry, also an invalid one
    paths: Mapping[str, int]

    @classmethod
    def of(cls, config: "FederationConfig") -> "_Sections":
        names: dict[str, int] = {}
        paths: dict[str, int] = {}
        for index, server in enumerate(config.servers):
            names.setdefault(server.name, index)
            paths.setdefault(server.path, index)
        return cls(config.servers, config.secrets, config.aggregate, config.auth, config.gateway, names, paths)

    @classmethod
    def partial(cls, data: dict, context: dict) -> "_Sections":
        data = inherited_defaults(data)
        listed = data.get("servers")
        raw_servers: list = listed if isinstance(listed, list) else []
        servers = [_valid_part(lambda raw: ServerConfig.model_validate(raw, context=context), entry)
                   for entry in raw_servers]
        try:  # all or nothing: with a bad secret, references to it are not reported as missing
            secrets = _SECRETS.validate_python(data.get("secrets", {}))
        except ValidationError:
            secrets = None
        names: dict[str, int] = {}
        paths: dict[str, int] = {}
        for index, entry in enumerate(raw_servers):
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                names.setdefault(entry["name"], index)
                if isinstance(entry.get("path", f"/mcp/{entry['name']}"), str):
                    paths.setdefault(entry.get("path", f"/mcp/{entry['name']}"), index)
        return cls(servers, secrets, _valid_part(AggregateConfig.model_validate, data.get("aggregate", {})),
                   _valid_part(AuthConfig.model_validate, data.get("auth", {})),
                   _valid_part(GatewayConfig.model_validate, data.get("gateway", {})), names, paths)


def _cross_rules(config: _Sections) -> Found:
    return _unique_servers(config) + _secret_references(config) + _aggregate_rules(config) + _auth_rules(config)


def _servers(config: _Sections) -> list[tuple[int, ServerConfig]]:
    return [(index, server) for index, server in enumerate(config.servers) if server is not None]


def _unique_servers(config: _Sections) -> Found:
    names: dict[str, int] = {}
    paths: dict[str, int] = {}
    found: Found = []
    for index, server in _servers(config):
        if server.name in names:
            found.append((("servers", index, "name"), f"{server.name!r} is already used by servers[{names[server.name]}]",
                          None))
            continue
        names[server.name] = index
        if server.path in paths:
            found.append((("servers", index, "path"), f"{server.path!r} is already used by servers[{paths[server.path]}]",
                          None))
        paths.setdefault(server.path, index)
    return found


def _secret_references(config: _Sections) -> Found:
    """Every secret a server references must be set; the session key when a code server runs > 1 replica."""
    if config.secrets is None:
        return []
    secrets = config.secrets
    found: Found = [(("servers", index, "secretEnv", env_name), f"secret {secret!r} is not set; run: "
                     f"{_set_command(secret)}", secret)
                    for index, server in _servers(config)
                    for env_name, secret in server.secret_env.items() if secret not in secrets]
    replicated = [f"servers[{i}] ({s.name!r}, replicas {s.replicas})" for i, s in _servers(config)
                  if needs_session_key(s)]
    key = secrets.get(SESSION_KEY_SECRET)
    if replicated and key is None:
        found.append((("secrets", SESSION_KEY_SECRET), f"is required because {', '.join(replicated)} share MCP "
                      f"sessions across replicas; run: "
                      f"{_set_command(SESSION_KEY_SECRET, f'<at least {SESSION_KEY_MIN_LENGTH} characters>')}",
                      SESSION_KEY_SECRET))
    if key is not None and len(key.reveal()) < SESSION_KEY_MIN_LENGTH:
        found.append((("secrets", SESSION_KEY_SECRET), f"is shorter than {SESSION_KEY_MIN_LENGTH} characters", None))
    return found


def _aggregate_rules(config: _Sections) -> Found:
    """The selected servers exist, once each; when enabled, the aggregate's name and path are not a server's and
    at most MAX_TARGETS servers are selected (one AgentgatewayBackend's limit)."""
    aggregate = config.aggregate
    if aggregate is None:
        return []
    names, paths = config.names, config.paths
    found: Found = []
    for index, name in enumerate(aggregate.servers):
        if name not in names:
            found.append((("aggregate", "servers", index), f"{name!r} is not a server name "
                          f"({', '.join(names) or 'no servers'})", None))
        elif name in aggregate.servers[:index]:
            found.append((("aggregate", "servers", index), f"{name!r} is listed twice", None))
    if aggregate.enabled:
        if aggregate.path in paths:
            found.append((("aggregate", "path"), f"{aggregate.path!r} is already the path of "
                          f"servers[{paths[aggregate.path]}]", None))
        if aggregate.name in names:
            found.append((("aggregate", "name"), f"{aggregate.name!r} is already the name of "
                          f"servers[{names[aggregate.name]}] (the aggregate's backend and route would get that "
                          "server's object names)", None))
        if len(aggregate.servers) > MAX_TARGETS:
            found.append((("aggregate", "servers"), f"{len(aggregate.servers)} servers selected, but one "
                          f"AgentgatewayBackend holds at most {MAX_TARGETS} targets: list at most {MAX_TARGETS}",
                          None))
    return found


def _auth_rules(config: _Sections) -> Found:
    """A group rule needs validated tokens; a gateway exposed outside the cluster needs auth or allowAnonymous."""
    auth, gateway = config.auth, config.gateway
    found: Found = []
    if auth is not None and auth.mode == "none":
        for index, server in _servers(config):
            if server.groups.restricted:
                which = "allowedGroups" if server.allowed_groups else "toolGroups"
                found.append((("servers", index, which), "is a group rule, but auth.mode is none: no caller has a "
                              "groups claim (set auth.mode and auth.providers)", None))
        if gateway is not None and gateway.create and gateway.service_type in EXPOSED_SERVICE_TYPES and not auth.allow_anonymous:
            found.append((("auth", "mode"), f"'none' leaves the gateway open, and gateway.serviceType "
                          f"{gateway.service_type!r} exposes it outside the cluster: set auth.mode Strict with a "
                          "provider, or auth.allowAnonymous: true to accept anonymous callers deliberately", None))
    return found
