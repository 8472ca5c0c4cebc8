"""Typed specs for caller authentication (agentgateway v1.4.1): ``AgentgatewayPolicy spec.traffic.jwtAuthentication``
and the static, TLS-enabled ``AgentgatewayBackend`` a remote JWKS is fetched from.

Field names and limits are the CRD's (``agentgateway.dev_agentgatewaypolicies.yaml``
``traffic.jwtAuthentication``; ``agentgateway.dev_agentgatewaybackends.yaml`` ``spec.static``/``spec.policies.tls``).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Optional, Sequence, get_args

from ._base import DNS_LABEL, DNS_SUBDOMAIN, GROUP, KIND, LABEL_RULE, SUBDOMAIN_RULE, CrdObject, CrdValueError, \
    as_items, check_enum, check_int, check_str, check_type, is_output

JwtMode = Literal["Strict", "Optional", "Permissive"]
JWT_MODES = get_args(JwtMode)
McpProvider = Literal["Auth0", "Authentik", "Descope", "Entra", "Keycloak", "Okta"]
MCP_PROVIDERS = get_args(McpProvider)
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")
# cacheDuration: the CRD's pattern; its second rule (>= 5m) is checked in RemoteJwks.
DURATION = re.compile(r"^([0-9]{1,5}(h|m|s|ms)){1,4}$")
_DURATION_UNITS = {"h": 3600_000, "m": 60_000, "s": 1000, "ms": 1}

_JWT = "AgentgatewayPolicy spec.traffic.jwtAuthentication"
_STATIC = "AgentgatewayBackend spec.static"
_TLS = "AgentgatewayBackend spec.policies.tls"


def duration_ms(value: str) -> int:
    """Milliseconds of a Go-style duration as the CRD accepts it (e.g. ``1h30m``, ``500ms``)."""
    return sum(int(number) * _DURATION_UNITS[unit] for number, unit in re.findall(r"([0-9]+)(ms|h|m|s)", value))


@dataclass(frozen=True)
class JwksBackendRef(CrdObject):
    """``jwks.remote.backendRef``: the JWKS server, a Service (``port`` required) or a static AgentgatewayBackend
    (its ``static.host:port`` is dialled and ``port`` here is ignored; controller remotehttp/connection_resolver.go)."""

    name: str
    group: Optional[str] = None
    kind: Optional[str] = None
    namespace: Optional[str] = None
    port: Optional[int] = None

    def __post_init__(self) -> None:
        at = f"{_JWT}.providers[].jwks.remote.backendRef"
        check_str(f"{at}.name", self.name, max_len=253)
        if self.group is not None:
            check_str(f"{at}.group", self.group, min_len=0, max_len=253, pattern=GROUP, rule=SUBDOMAIN_RULE)
        if self.kind is not None:
            check_str(f"{at}.kind", self.kind, max_len=63, pattern=KIND, rule="a valid kind")
        if self.namespace is not None:
            check_str(f"{at}.namespace", self.namespace, max_len=63, pattern=DNS_LABEL, rule=LABEL_RULE)
        if self.port is not None:
            check_int(f"{at}.port", self.port, 1, 65535)
        if (self.group or "") == "" and (self.kind or "Service") == "Service" and self.port is None:
            raise CrdValueError(f"{at}.port", None, "is required for a Service reference")


@dataclass(frozen=True)
class RemoteJwks(CrdObject):
    """``jwks.remote``: where the controller fetches the key set (``jwksPath`` relative to the backend's root)."""

    backendRef: JwksBackendRef
    jwksPath: str
    cacheDuration: Optional[str] = None

    def __post_init__(self) -> None:
        at = f"{_JWT}.providers[].jwks.remote"
        check_type(f"{at}.backendRef", self.backendRef, JwksBackendRef)
        check_str(f"{at}.jwksPath", self.jwksPath, max_len=2000)
        if self.cacheDuration is not None:
            check_str(f"{at}.cacheDuration", self.cacheDuration, max_len=32, pattern=DURATION,
                      rule="a duration such as 5m or 1h30m")
            if not is_output(self.cacheDuration) and duration_ms(self.cacheDuration) < 5 * 60_000:
                raise CrdValueError(f"{at}.cacheDuration", self.cacheDuration, "is shorter than 5m")


@dataclass(frozen=True)
class Jwks(CrdObject):
    """``providers[].jwks``: exactly one of ``inline`` (a JWKS JSON document) | ``remote``."""

    inline: Optional[str] = None
    remote: Optional[RemoteJwks] = None

    def __post_init__(self) -> None:
        at = f"{_JWT}.providers[].jwks"
        if (self.inline is None) == (self.remote is None):
            raise CrdValueError(at, {"inline": self.inline, "remote": self.remote},
                                "must set exactly one of inline | remote")
        if self.inline is not None:
            check_str(f"{at}.inline", self.inline, min_len=2, max_len=65536)
            if not is_output(self.inline):
                try:
                    document = json.loads(self.inline)
                except ValueError:
                    document = None
                if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
                    raise CrdValueError(f"{at}.inline", self.inline, "is not a JWKS JSON object with a 'keys' list")
        if self.remote is not None:
            check_type(f"{at}.remote", self.remote, RemoteJwks)


@dataclass(frozen=True)
class JwtProvider(CrdObject):
    """One ``providers[]`` entry: the ``issuer`` compared with ``iss``, optional ``audiences`` (1..64) and the keys."""

    issuer: str
    jwks: Jwks
    audiences: Optional[Sequence[str]] = None

    def __post_init__(self) -> None:
        at = f"{_JWT}.providers[]"
        check_str(f"{at}.issuer", self.issuer, max_len=256)
        check_type(f"{at}.jwks", self.jwks, Jwks)
        if self.audiences is not None:
            self._set("audiences", as_items(f"{at}.audiences", self.audiences, str, min_items=1, max_items=64))


@dataclass(frozen=True)
class JwtHeaderLocation(CrdObject):
    """``location.header``: an HTTP header and an optional value prefix (e.g. ``Bearer ``)."""

    name: str
    prefix: Optional[str] = None

    def __post_init__(self) -> None:
        at = f"{_JWT}.location.header"
        check_str(f"{at}.name", self.name, max_len=256, pattern=HEADER_NAME, rule="an HTTP header name")
        if self.prefix is not None:
            check_str(f"{at}.prefix", self.prefix, max_len=256)


@dataclass(frozen=True)
class JwtCookieLocation(CrdObject):
    """``location.cookie``: the name of the cookie holding the token."""

    name: str

    def __post_init__(self) -> None:
        check_str(f"{_JWT}.location.cookie.name", self.name, max_len=256)


@dataclass(frozen=True)
class JwtLocation(CrdObject):
    """``location``: exactly one of ``header`` | ``cookie`` (``queryParameter`` and ``expression`` not modelled)."""

    header: Optional[JwtHeaderLocation] = None
    cookie: Optional[JwtCookieLocation] = None

    def __post_init__(self) -> None:
        at = f"{_JWT}.location"
        if (self.header is None) == (self.cookie is None):
            raise CrdValueError(at, {"header": self.header, "cookie": self.cookie},
                                "must set exactly one of header | cookie")
        if self.header is not None:
            check_type(f"{at}.header", self.header, JwtHeaderLocation)
        if self.cookie is not None:
            check_type(f"{at}.cookie", self.cookie, JwtCookieLocation)


@dataclass(frozen=True)
class JwtMcp(CrdObject):
    """``mcp``: OAuth protected-resource metadata (served at ``/.well-known/oauth-protected-resource/...``)."""

    provider: Optional[McpProvider] = None
    clientId: Optional[str] = None
    resourceMetadata: Optional[Mapping[str, Any]] = None

    def __post_init__(self) -> None:
        at = f"{_JWT}.mcp"
        if self.provider is not None:
            check_enum(f"{at}.provider", self.provider, MCP_PROVIDERS)
        if self.clientId is not None:
            check_str(f"{at}.clientId", self.clientId, min_len=0)
        if self.resourceMetadata is not None:
            if not isinstance(self.resourceMetadata, Mapping) or \
                    not all(isinstance(key, str) for key in self.resourceMetadata):
                raise CrdValueError(f"{at}.resourceMetadata", self.resourceMetadata, "is not an object")
            self._set("resourceMetadata", dict(self.resourceMetadata))


@dataclass(frozen=True)
class JwtAuthentication(CrdObject):
    """``traffic.jwtAuthentication``: 1..64 providers, the mode, where the token is and the optional ``mcp`` block
    (which needs exactly one provider and mode Strict: the CRD's CEL rules)."""

    providers: Sequence[JwtProvider]
    mode: Optional[JwtMode] = None
    location: Optional[JwtLocation] = None
    mcp: Optional[JwtMcp] = None

    def __post_init__(self) -> None:
        self._set("providers", as_items(f"{_JWT}.providers", self.providers, JwtProvider, min_items=1, max_items=64))
        if self.mode is not None:
            check_enum(f"{_JWT}.mode", self.mode, JWT_MODES)
        if self.location is not None:
            check_type(f"{_JWT}.location", self.location, JwtLocation)
        if self.mcp is not None:
            check_type(f"{_JWT}.mcp", self.mcp, JwtMcp)
            if len(self.providers) != 1:
                raise CrdValueError(f"{_JWT}.mcp", self.mcp, "requires exactly one provider")
            if self.mode not in (None, "Strict"):
                raise CrdValueError(f"{_JWT}.mcp", self.mcp, "requires mode Strict")


@dataclass(frozen=True)
class TrafficPolicy(CrdObject):
    """``spec.traffic`` of an AgentgatewayPolicy (only ``jwtAuthentication`` is modelled)."""

    jwtAuthentication: JwtAuthentication

    def __post_init__(self) -> None:
        check_type(_JWT, self.jwtAuthentication, JwtAuthentication)


# --- static AgentgatewayBackend with TLS (the remote JWKS server) ----------------------------------------


@dataclass(frozen=True)
class StaticBackend(CrdObject):
    """``spec.static``: a host and port to connect to (``unixPath`` not modelled)."""

    host: str
    port: int

    def __post_init__(self) -> None:
        check_str(f"{_STATIC}.host", self.host, max_len=256)
        check_int(f"{_STATIC}.port", self.port, 1, 65535)


@dataclass(frozen=True)
class BackendTLS(CrdObject):
    """``spec.policies.tls``: originate TLS, verifying the server with the system's trusted CAs. ``sni`` (a DNS
    name) is sent in the handshake and used to verify the certificate's host name."""

    sni: Optional[str] = None

    def __post_init__(self) -> None:
        if self.sni is not None:
            check_str(f"{_TLS}.sni", self.sni, max_len=253, pattern=DNS_SUBDOMAIN, rule=SUBDOMAIN_RULE)


@dataclass(frozen=True)
class BackendPolicies(CrdObject):
    """``spec.policies`` of an AgentgatewayBackend (only ``tls`` is modelled)."""

    tls: BackendTLS

    def __post_init__(self) -> None:
        check_type(_TLS, self.tls, BackendTLS)
