"""The whole stack configuration, `secrets`, and the rules that span sections.

Each rule sits on the key it reports. A rule that reads other keys (unique server names and paths, a server's secret
references and group rules, the aggregate's servers, path and name, the session key, an exposed gateway's auth) takes
them from the validation context, where this model's first validator puts what they need from the raw config
(`_sibling_facts`). So every rule runs also when some other key is invalid: all problems at once.
"""
from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Callable, Mapping, Optional

from pydantic import AfterValidator, BeforeValidator, Field, PrivateAttr, SecretStr, TypeAdapter, ValidationError, \
    ValidationInfo, WithJsonSchema, WrapValidator, field_validator, model_validator
from pydantic_core import InitErrorDetails

from .auth import AuthConfig
from .errors import SET_SECRET_HINT, set_secret_command
from .fields import CliBool, Model, Str, again, list_of, problem, problems
from .gateway import AggregateConfig, GatewayConfig
from .servers import CODE_DIR, IMAGE, SECRET_NAME, DnsLabel, Image, Replicas, ServerConfig, default_path, \
    frozen_empty, needs_session_key

SESSION_KEY_SECRET = "sessionKey"  # secrets.sessionKey: MCP_SESSION_KEY of code servers with replicas > 1
SESSION_KEY_MIN_LENGTH = 16        # mcp_core refuses shorter keys
EXPOSED_SERVICE_TYPES = ("LoadBalancer", "NodePort")


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


def _secret_name(name: str) -> str:
    if not SECRET_NAME.fullmatch(name):
        raise problem("is not a secret name (a letter, then letters, digits or '_')")  # the key shows the name
    return name


Secrets = Annotated[Mapping[Annotated[Str, AfterValidator(_secret_name)],
                            Annotated[SecretValue, BeforeValidator(_secret_value),
                                      WithJsonSchema({"type": "string", "minLength": 1})]],
                    AfterValidator(MappingProxyType)]


def _unique(entries: Any, handler: Callable[[Any], Any], info: ValidationInfo) -> Any:
    """Server names and paths are unique (the repeats are in the context), also when some entry is invalid; a name or
    path that is itself invalid is reported as such only."""
    try:
        servers, errors = handler(entries), []
    except ValidationError as exc:
        servers, errors = None, exc.errors()
    bad = {tuple(error["loc"][:2]) for error in errors}
    found = [InitErrorDetails(type=problem(f"{value!r} is already used by servers[{first}]"), loc=loc, input=value)
             for loc, value, first in (info.context or {}).get("repeats", ()) if not {loc, (loc[0], "name")} & bad]
    if errors or found:
        raise ValidationError.from_exception_data("servers", [*map(again, errors), *found])
    return servers


class FederationConfig(Model):
    """The whole stack configuration."""

    namespace: DnsLabel = "mcp"
    create_namespace: CliBool = True
    image: Image = "python:3.11-slim"
    kube_context: Optional[Str] = None  # None (or ""): the kubeconfig's current context
    gateway: GatewayConfig = GatewayConfig()
    servers: Annotated[tuple[ServerConfig, ...], list_of("server objects", "is empty: declare at least one server"),
                       WrapValidator(_unique)] = ()  # default: fetch, github, slack (inherited_defaults)
    aggregate: AggregateConfig = AggregateConfig()
    deny_dangerous_tools: CliBool = True
    secrets: Secrets = Field(default_factory=frozen_empty)
    auth: AuthConfig = AuthConfig()
    _code_dir: Path = PrivateAttr(CODE_DIR)

    @model_validator(mode="before")
    @classmethod
    def _defaults_and_context(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(info.context, dict):
            raise TypeError("validate a FederationConfig with parse_config(): its rules read the validation context")
        if not isinstance(data, dict):
            return data
        data = inherited_defaults(data)
        info.context.update(_sibling_facts(data))
        aggregate, names = data.get("aggregate", {}), list(info.context["names"])
        if isinstance(aggregate, dict) and "servers" not in aggregate and names:
            data["aggregate"] = {**aggregate, "servers": names}  # the aggregate selects every server by default
        return data

    @field_validator("secrets")
    @classmethod
    def _session_key(cls, secrets: Mapping[str, SecretValue], info: ValidationInfo) -> Mapping[str, SecretValue]:
        """A code server with replicas > 1 needs secrets.sessionKey, long enough."""
        replicated = (info.context or {}).get("replicated", [])
        key = secrets.get(SESSION_KEY_SECRET)
        if replicated and key is None:
            command = set_secret_command(SESSION_KEY_SECRET, f"<at least {SESSION_KEY_MIN_LENGTH} characters>")
            problems("secrets", [((SESSION_KEY_SECRET,), problem(
                f"is required because {', '.join(replicated)} share MCP sessions across replicas; run: {command}",
                secret=SESSION_KEY_SECRET), None)])
        if key is not None and len(key.reveal()) < SESSION_KEY_MIN_LENGTH:
            problems("secrets", [((SESSION_KEY_SECRET,), f"is shorter than {SESSION_KEY_MIN_LENGTH} characters", None)])
        return secrets

    @model_validator(mode="after")
    def _code_dir_from_context(self, info: ValidationInfo) -> "FederationConfig":
        self._code_dir = (info.context or {}).get("code_dir", CODE_DIR)
        return self

    @property
    def code_dir(self) -> Path:
        """Where the server code files are (server_code/ unless a test says otherwise)."""
        return self._code_dir


def inherited_defaults(data: dict) -> dict:
    """Code servers default to the top-level image (only a valid one: one mistake, one error); kubeContext "" means
    none; secrets and auth are validated also when left out (their rules read the context)."""
    image = data.get("image", "python:3.11-slim")
    servers = data.get("servers", [{"name": name} for name in ("fetch", "github", "slack")])
    if isinstance(servers, list) and isinstance(image, str) and IMAGE.fullmatch(image):
        servers = [{"image": image, **entry} if isinstance(entry, dict) and entry.get("type", "code") == "code"
                   else entry for entry in servers]
    return {"secrets": {}, "auth": {}, **data, "servers": servers,
            **({"kubeContext": None} if data.get("kubeContext") == "" else {})}


def _valid(adapter: TypeAdapter, value: Any) -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return None


_SECRETS, _REPLICAS = TypeAdapter(Secrets), TypeAdapter(Replicas)


def _sibling_facts(data: dict) -> dict[str, Any]:
    """What the rules on one section read of the others, from the raw config: each server name and path (its first
    index) and their repeats, the servers that need the session key, the secret names (None unless all are valid: a
    bad secret is no missing one), `auth.mode` (None if unknown), and the serviceType exposing a gateway that allows
    no anonymous callers."""
    names: dict[str, int] = {}
    paths: dict[str, int] = {}
    replicated, repeats = [], []
    for index, entry in enumerate(data["servers"] if isinstance(data.get("servers"), list) else []):
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            name, path = entry["name"], entry.get("path", default_path(entry["name"]))
            if names.setdefault(name, index) != index:
                repeats.append(((index, "name"), name, names[name]))
            elif isinstance(path, str) and paths.setdefault(path, index) != index:
                repeats.append(((index, "path"), path, paths[path]))
            replicas = _valid(_REPLICAS, entry.get("replicas", 1)) or 1
            if needs_session_key(entry.get("type", "code"), replicas):
                replicated.append(f"servers[{index}] ({name!r}, replicas {replicas})")
    secrets, gateway, auth = _valid(_SECRETS, data.get("secrets", {})), data.get("gateway", {}), data.get("auth", {})
    auth = auth if isinstance(auth, dict) else None  # not an object: its mode is unknown
    exposed = isinstance(gateway, dict) and gateway.get("create", True) is True \
        and gateway.get("serviceType") in EXPOSED_SERVICE_TYPES and (auth or {}).get("allowAnonymous") is not True
    return {"names": names, "paths": paths, "repeats": repeats, "replicated": replicated,
            "secrets": None if secrets is None else set(secrets),
            "auth_mode": None if auth is None else auth.get("mode", "none"),
            "exposed_by": gateway["serviceType"] if exposed else None}
