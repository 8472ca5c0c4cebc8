"""`servers[]`: one MCP server each, of type code (runs server_code/<code> in `image`) or image (the container image
itself serves MCP over Streamable HTTP), with its resources, tool authorization, env and group rules."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, Mapping, Optional

from pydantic import AfterValidator, Field, ValidationInfo, WithJsonSchema, field_validator, \
    model_validator

from components.crds._base import DNS_LABEL
from components.tool_names import TOOL_NAME, tool_name_problem

from .errors import set_secret_command
from .fields import Distinct, Int, Model, Range, Str, list_of, problem, problems, text

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CODE_DIR = REPO_ROOT / "server_code"
CORE_FILE = "mcp_core.py"
ServerType = Literal["code", "image"]
PORT_ENV = "PORT"  # every server listens on it (set by the components)
CODE_SERVER_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}  # fixed env of code servers
SESSION_KEY_ENV = "MCP_SESSION_KEY"  # read by server_code/mcp_core.py: replicas sign session ids with it
RESERVED_ENV = (PORT_ENV, *CODE_SERVER_ENV, SESSION_KEY_ENV)  # set by the components, never by `env`

DnsLabel = Annotated[str, text(DNS_LABEL, "a DNS label (lowercase letters, digits and '-', starting and ending "
                                           "alphanumeric)", 63)]
# [registry[:port]/]repository with a tag and/or a digest: an image must be pinned, never implicitly `latest`. Checked
# in Python: pydantic's Rust regex engine has no lookarounds.
IMAGE = re.compile(r"(?:[a-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._/-][a-z0-9]+)*"
                   r"(?=[:@])(?::(?!latest$)[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?")


def _pinned(image: str) -> str:
    if not IMAGE.fullmatch(image):
        raise problem(f"{image!r} is not a pinned image reference with a tag other than 'latest' or a digest "
                      "(e.g. python:3.11-slim)")
    return image


Image = Annotated[Str, AfterValidator(_pinned), WithJsonSchema({"type": "string", "pattern": f"^(?:{IMAGE.pattern})$"})]
# One or more path segments of the characters Gateway API allows in a PathPrefix; no trailing '/'.
ROUTE_PATH = r"(/(?:[-A-Za-z0-9._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+)+"
# Where an image serves MCP or health: an absolute path of path characters (a trailing '/' is allowed).
UPSTREAM_PATH = r"/(?:[-A-Za-z0-9._~!$&'()*+,;=:@/]|%[0-9a-fA-F]{2})*"
Quantity = Annotated[str, text(r"[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?",
                               "a Kubernetes quantity (e.g. 100m, 128Mi)")]
SECRET_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
SecretName = Annotated[str, text(SECRET_NAME, "a name under the secrets key (a letter, then letters, digits or '_')")]


def has_dot_segment(path: str) -> bool:
    """Whether `path` has a '.' or '..' segment, also percent-encoded ('%2e', '.%2E', ...): a proxy or server that
    decodes before normalizing would resolve it (RFC 3986 section 6.2.2.2: %2E is '.')."""
    return any(re.fullmatch(r"(?:\.|%2[eE]){1,2}", segment) for segment in path.split("/"))


def _no_dot_segment(path: str) -> str:
    if has_dot_segment(path):
        raise problem(f"{path!r} must not contain '.' or '..' segments (also percent-encoded)")
    return path


RoutePath = Annotated[str, text(ROUTE_PATH, "a URL path starting with '/' (segments of letters, digits, "
                                            "-._~!$&'()*+,;=:@ or %XX; no '//', no trailing '/')", 1024),
                      AfterValidator(_no_dot_segment)]
UpstreamPath = Annotated[str, text(UPSTREAM_PATH, "an absolute URL path (e.g. /mcp)", 1024),
                         AfterValidator(_no_dot_segment)]


Replicas = Annotated[Int, Range(1, 100)]


def default_path(name: str) -> str:
    """A server's route path unless it sets `path`."""
    return f"/mcp/{name}"


def needs_session_key(server_type: str, replicas: int) -> bool:
    """Whether a server gets MCP_SESSION_KEY from secrets.sessionKey: a code server (image servers do not read it)
    with more than one replica, whose replicas must accept each other's MCP session ids."""
    return replicas > 1 and server_type == "code"


def _tool_name(name: str) -> str:
    why = tool_name_problem(name)
    if why:
        raise problem(why)
    return name


# A tool name as the server offers it (unprefixed), under the MCP rule of components/tool_names.py: the policy's CEL
# rules, the dangerous-tools annotation and the catalog of server files rely on it.
ToolName = Annotated[Str, AfterValidator(_tool_name),
                     WithJsonSchema({"type": "string", "pattern": f"^(?:{TOOL_NAME.pattern})$"})]
ToolList = Annotated[tuple[ToolName, ...], list_of("tool names"), Distinct]


def _not_reserved(name: str) -> str:
    if name in RESERVED_ENV:
        raise problem(f"{name!r} is set by the component ({', '.join(RESERVED_ENV)} are reserved)")
    return name


EnvName = Annotated[str, text(r"[A-Za-z_][A-Za-z0-9_]*", "an environment variable name (letters, digits, '_')"),
                    AfterValidator(_not_reserved)]


TOKEN_TEXT = re.compile(r"[!-~]{1,256}")
TOKEN_SCHEMA = WithJsonSchema({"type": "string", "pattern": f"^(?:{TOKEN_TEXT.pattern})$"})


def token_text(what: str) -> AfterValidator:
    """Printable ASCII without spaces: what IdPs put in iss, aud and groups claims (checked in Python, as one
    pattern named three ways; add TOKEN_SCHEMA)."""
    def check(value: str) -> str:
        if not TOKEN_TEXT.fullmatch(value):
            raise problem(f"{value!r} is not {what} (1 to 256 printable ASCII characters, no spaces)")
        return value
    return AfterValidator(check)


# Non-empty lists (at most 64) of distinct printable-ASCII names: groups (and, in auth.py, audiences).
GroupList = Annotated[tuple[Annotated[Str, token_text("a group"), TOKEN_SCHEMA], ...],
                      list_of("groups", "[] is empty: list at least one group", 64), Distinct]


def frozen_empty() -> Mapping[str, Any]:
    """The default of a mapping key: empty, read-only."""
    return MappingProxyType({})


class Requests(Model):
    """The CPU and memory a server container requests (Kubernetes quantities)."""

    cpu: Quantity = "50m"
    memory: Quantity = "64Mi"


class Limits(Model):
    """The CPU and memory a server container may use at most (Kubernetes quantities)."""

    cpu: Quantity = "500m"
    memory: Quantity = "128Mi"


class ResourcesConfig(Model):
    """CPU/memory requests and limits of one server container; a key left out keeps its default."""

    requests: Requests = Requests()
    limits: Limits = Limits()

    def to_k8s(self) -> dict:
        """The container `resources` object."""
        return self.model_dump()


class ProbeConfig(Model):
    """`probe`: a harmless tool of expectedTools the verifier calls after a deploy."""

    tool: ToolName
    arguments: dict[str, Any] = {}


@dataclass(frozen=True)
class ImageServerConfig:
    """What only a `type: image` server has (a view of its ServerConfig)."""

    command: Optional[tuple[str, ...]]  # None: the image's entrypoint
    args: Optional[tuple[str, ...]]     # None: the image's cmd
    mcp_path: str
    health_path: Optional[str]          # None: TCP socket probes on the port
    expected_tools: tuple[str, ...]
    dangerous_tools: tuple[str, ...]
    probe_tool: Optional[str]           # None: the verifier lists tools but calls none
    probe_arguments: dict
    run_as_user: Optional[int]          # None: the component's default non-root UID


@dataclass(frozen=True)
class ServerGroups:
    """A server's group rules: callers need one of `allowed` (if any) and, for a tool of `tools`, one of its groups."""

    allowed: tuple[str, ...] = ()
    tools: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def restricted(self) -> bool:
        """Whether any group rule applies to the server."""
        return bool(self.allowed or self.tools)


TYPE_KEYS = {"code": "code", **dict.fromkeys(("command", "args", "mcp_path", "health_path", "expected_tools",
                                               "dangerous_tools", "run_as_user", "probe"), "image")}
REQUIRED_FOR_IMAGE = {"image": "a pinned container image that serves MCP",
                      "expected_tools": "the tools the image offers; the verifier checks that tools/list includes them"}
NOT_EMPTY = {"allowed_tools": "is empty: it would hide every tool (remove the key to allow all)",
             "expected_tools": "[] is empty: list the tools the image offers"}


class ServerConfig(Model):
    """One MCP server: where the gateway exposes it, what runs it, and who may use which tool."""

    name: DnsLabel
    type: ServerType = "code"
    path: RoutePath = ""                       # default /mcp/<name>
    code: Optional[Annotated[str, text(r"[A-Za-z0-9_][A-Za-z0-9_-]*\.py",
                                       "a Python file name in server_code/ (e.g. github.py)")]] = None
    replicas: Replicas = 1
    port: Annotated[Int, Range(1024, 65535, " (non-root containers cannot bind ports below 1024)")] = 8080
    image: Optional[Image] = Field(None, validate_default=True)  # default: the top-level image (code servers)
    resources: ResourcesConfig = ResourcesConfig()
    # Tool authorization at the gateway: a deny list, or (exclusive) an allow list; None means no allow list.
    denied_tools: ToolList = ()
    allowed_tools: Optional[ToolList] = None
    # Extra container env: plain values, and env names mapped to names under the `secrets` config key.
    env: Annotated[Mapping[EnvName, Str], AfterValidator(MappingProxyType)] = Field(default_factory=frozen_empty)
    secret_env: Annotated[Mapping[EnvName, SecretName], AfterValidator(MappingProxyType)] = \
        Field(default_factory=frozen_empty)
    command: Optional[Annotated[tuple[Str, ...], list_of("strings", "[] is empty")]] = None
    args: Optional[Annotated[tuple[Str, ...], list_of("strings")]] = None
    mcp_path: UpstreamPath = "/mcp"
    health_path: Optional[UpstreamPath] = None
    expected_tools: Optional[ToolList] = Field(None, validate_default=True)
    dangerous_tools: ToolList = ()
    run_as_user: Optional[Annotated[Int, Range(1, 2**31 - 1, " (0 is root; the pods run as non-root)")]] = None
    probe: Optional[ProbeConfig] = None
    allowed_groups: GroupList = ()
    tool_groups: Annotated[Mapping[ToolName, GroupList], AfterValidator(MappingProxyType)] = Field(
        default_factory=frozen_empty, json_schema_extra={"additionalProperties": False})  # a key is a ToolName

    @model_validator(mode="before")
    @classmethod
    def _defaults_from_the_name(cls, data: Any) -> Any:
        """path /mcp/<name> and code <name>.py, only for a valid name (one mistake, one error)."""
        if isinstance(data, dict) and isinstance(data.get("name"), str) and DNS_LABEL.fullmatch(data["name"]):
            data = {"path": default_path(data["name"]), **data}
            if data.get("type", "code") == "code":
                data = {"code": f"{data['name']}.py", **data}
        return data

    @field_validator(*TYPE_KEYS, *REQUIRED_FOR_IMAGE, *NOT_EMPTY, mode="before")
    @classmethod
    def _fits_the_type(cls, value: Any, info: ValidationInfo) -> Any:
        """A key of the other type of server, a missing key a type image server needs, an empty list that must not
        be (a default of None is no setting)."""
        own, key = info.data.get("type"), info.field_name or ""
        owner = TYPE_KEYS.get(key, own)
        if own is not None and own != owner and (value is not None or key not in REQUIRED_FOR_IMAGE):
            raise problem(f"{value!r}: only a type {owner} server takes this key (this one is type {own})")
        if value is None and own == "image" and key in REQUIRED_FOR_IMAGE:
            raise problem(f"is required for type image ({REQUIRED_FOR_IMAGE[key]})")
        if value == [] and key in NOT_EMPTY:
            raise problem(NOT_EMPTY[key])
        return value

    @field_validator("code")
    @classmethod
    def _code_file_exists(cls, code: Optional[str], info: ValidationInfo) -> Optional[str]:
        code_dir = (info.context or {}).get("code_dir", CODE_DIR)
        if code == CORE_FILE:
            raise problem(f"{code!r} is the shared core, not a server")
        if code is not None and not (code_dir / code).is_file():
            raise problem(f"{code!r} does not exist in {code_dir}")
        return code

    @field_validator("secret_env")
    @classmethod
    def _secrets_are_set(cls, secret_env: Mapping[str, str], info: ValidationInfo) -> Mapping[str, str]:
        """Each referenced secret is set (the `secrets` names FederationConfig puts in the context)."""
        secrets = (info.context or {}).get("secrets")
        problems("secretEnv", [((env,), problem(f"secret {secret!r} is not set; run: {set_secret_command(secret)}",
                                                secret=secret), secret)
                               for env, secret in secret_env.items() if secrets is not None and secret not in secrets])
        return secret_env

    @field_validator("dangerous_tools")
    @classmethod
    def _dangerous_tools_expected(cls, dangerous: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        expected = info.data.get("expected_tools")
        unknown = [tool for tool in dangerous if expected is not None and tool not in expected]
        if unknown:
            raise problem(f"{', '.join(unknown)} not in expectedTools ({', '.join(expected or ())})")
        return dangerous

    @field_validator("probe")
    @classmethod
    def _probe_is_a_harmless_expected_tool(cls, probe: Optional[ProbeConfig], info: ValidationInfo) -> Any:
        expected, dangerous = info.data.get("expected_tools"), info.data.get("dangerous_tools")
        if probe is None or expected is None or dangerous is None:
            return probe
        if probe.tool not in expected:
            why = f"is not in expectedTools ({', '.join(expected)})"
        elif probe.tool in dangerous:
            why = ("is in dangerousTools: the verifier calls the probe tool after every deploy, so it must be a "
                   "harmless one")
        else:
            return probe
        problems("probe", [(("tool",), f"{probe.tool!r} {why}", probe.tool)])

    @field_validator("tool_groups", mode="before")
    @classmethod
    def _tool_groups_not_empty(cls, value: Any) -> Any:
        if not isinstance(value, dict) or not value:
            raise problem(f"{value!r} is not a non-empty object {{tool: [groups]}}")
        return value

    @field_validator("allowed_groups", "tool_groups")
    @classmethod
    def _groups_need_tokens(cls, groups: Any, info: ValidationInfo) -> Any:
        """A group rule needs validated tokens (`auth.mode`, which FederationConfig puts in the context)."""
        first = info.field_name == "allowed_groups" or info.data.get("allowed_groups") == ()
        if groups and first and (info.context or {}).get("auth_mode") == "none":
            raise problem("is a group rule, but auth.mode is none: no caller has a groups claim (set auth.mode and "
                          "auth.providers)")
        return groups

    @model_validator(mode="after")
    def _exclusive_keys(self) -> "ServerConfig":
        found: list[tuple[tuple, str, Any]] = []
        if {"denied_tools", "allowed_tools"} <= self.model_fields_set:
            found.append((("allowedTools",), "cannot be combined with deniedTools: use a deny list or an allow list",
                          self.allowed_tools))
        found += [(("secretEnv", name), "is also set in env: set it in one of them", name)
                  for name in sorted(set(self.env) & set(self.secret_env))]
        problems("ServerConfig", found)
        return self

    @property
    def image_server(self) -> Optional[ImageServerConfig]:
        """The image-server settings, or None for a type code server."""
        if self.type != "image":
            return None
        return ImageServerConfig(
            command=self.command, args=self.args, mcp_path=self.mcp_path, health_path=self.health_path,
            expected_tools=self.expected_tools or (), dangerous_tools=self.dangerous_tools,
            probe_tool=self.probe.tool if self.probe else None,
            probe_arguments=dict(self.probe.arguments) if self.probe else {}, run_as_user=self.run_as_user)

    @property
    def groups(self) -> ServerGroups:
        """allowedGroups / toolGroups."""
        return ServerGroups(allowed=self.allowed_groups, tools=self.tool_groups)
