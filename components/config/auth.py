"""The `auth` key: caller authentication at the gateway.

Semantics (agentgateway v1.4.1, crates/agentgateway/src/http/jwt.rs): `mode` Strict (a missing or invalid token is
401), Optional (no token passes without claims, an invalid one is 401), Permissive (never 401), or `none` (no JWT
policy at all). A provider's tokens must carry `kid` and `exp`; `iss` must equal `issuer` and `aud` must be one of
`audiences` (required and non-empty here: without it agentgateway would accept tokens minted for any audience).
"""
from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, ValidationInfo, WithJsonSchema, field_validator, model_validator

from components.crds._base import DNS_SUBDOMAIN
from components.crds.agentgateway_auth import DURATION, JwtMode, McpProvider, duration_ms
from components.token_location import MAX_NAME, NAME_RULE, PREFIX, PREFIX_RULE, TOKEN, is_name, is_prefix, \
    is_reserved_header

from .fields import Bool, Distinct, Model, OneOf, Str, list_of, problem, problems, text
from .servers import TOKEN_SCHEMA, token_text

AuthMode = Literal[JwtMode, "none"]  # none: no JWT policy at all
# A claim name usable as `jwt.<claim>` in CEL: an identifier that is not a CEL reserved word (CEL spec, "Syntax").
CLAIM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
CEL_RESERVED = frozenset("true false null in as break const continue else for function if import let loop package "
                         "namespace return var void while".split())
# JWK members that only a private or symmetric key has (RFC 7518 section 6): never publish them in a stack file.
PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
HTTPS_PORT = 443
URL_HELP = "an https:// URL with a DNS host name and a path, without user, query or fragment"


def _not_reserved(claim: str) -> str:
    if claim in CEL_RESERVED:
        raise problem(f"{claim!r} is a CEL reserved word")
    return claim


def _public_jwks(value: str) -> str:
    """A public JWKS: an object with a non-empty `keys` list, each key with `kty` and a `kid` (agentgateway drops a
    provider whose key has no kid: crates/agentgateway/src/http/jwt.rs), and no private-key member."""
    if len(value) > 65536:
        raise problem(f"is {len(value)} characters long (at most 65536)")
    try:
        document = json.loads(value)
    except ValueError as exc:
        raise problem(f"is not valid JSON ({exc})") from None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not keys:
        raise problem("is not a JWKS: a JSON object with a non-empty 'keys' list")
    found: list[tuple[tuple, str, Any]] = []
    for index, jwk in enumerate(keys):
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kty"), str):
            found.append((("keys", index), "is not a JWK (an object with 'kty')", None))
            continue
        if not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
            found.append((("keys", index, "kid"), "is required (agentgateway ignores a key set with a key without "
                                                  "kid)", None))
        private = [member for member in PRIVATE_JWK_MEMBERS if member in jwk]
        if private:
            found.append((("keys", index), f"has private or symmetric key member(s) {', '.join(private)}: publish "
                                           "only public keys", None))
    problems("inline", found)
    return value


def _https_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port
    except ValueError:
        raise problem(f"{url!r} is not {URL_HELP}") from None
    host = parts.hostname or ""
    bad = (parts.scheme != "https" or not host or parts.username is not None or parts.password is not None
           or parts.query or parts.fragment or parts.path in ("", "/") or any(c.isspace() for c in url))
    if bad or _is_ip(host) or not DNS_SUBDOMAIN.fullmatch(host) or len(host) > 253:
        raise problem(f"{url!r} is not {URL_HELP}")
    return url


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _at_least_five_minutes(duration: str) -> str:
    if duration_ms(duration) < 5 * 60_000:
        raise problem(f"{duration!r} is shorter than 5m (agentgateway's minimum)")
    return duration


@dataclass(frozen=True)
class RemoteJwksConfig:
    """A JWKS served over HTTPS: the controller fetches `https://host:port/path`."""

    url: str
    host: str
    port: int
    path: str                        # without the leading '/' (agentgateway's jwksPath is relative to the root)
    cache_duration: Optional[str] = None


class RemoteJwksSource(Model):
    """`{url: https://host[:port]/path, cacheDuration?}`: a DNS host name (it is the TLS server name)."""

    url: Annotated[str, text(max_length=2048), AfterValidator(_https_url)]
    cache_duration: Optional[Annotated[str, text(DURATION, "a duration such as 5m or 1h30m", 32),
                                       AfterValidator(_at_least_five_minutes)]] = None


class JwksConfig(OneOf):
    """Exactly one of `inline` (public JWKS JSON text) | `remote`."""

    inline: Optional[Annotated[str, text(), AfterValidator(_public_jwks)]] = None
    remote: Optional[RemoteJwksSource] = None


class ProviderConfig(Model):
    """One token issuer: `iss`, accepted `aud` values and its keys."""

    issuer: Annotated[Str, token_text("an issuer"), TOKEN_SCHEMA]
    audiences: Annotated[tuple[Annotated[Str, token_text("an audience"), TOKEN_SCHEMA], ...], Distinct,
                         list_of("audiences", "[] is empty: list at least one audience", 64)]
    jwks: JwksConfig

    @property
    def inline_jwks(self) -> Optional[str]:
        """The inline JWKS JSON text, if any."""
        return self.jwks.inline

    @property
    def remote_jwks(self) -> Optional[RemoteJwksConfig]:
        """The remote JWKS, split into what the CRD takes, if any."""
        remote = self.jwks.remote
        if remote is None:
            return None
        parts = urlsplit(remote.url)
        return RemoteJwksConfig(url=remote.url, host=parts.hostname or "", port=parts.port or HTTPS_PORT,
                                path=parts.path.lstrip("/"), cache_duration=remote.cache_duration)


def _header_name(name: str) -> str:
    if not is_name(name):
        raise problem(f"{name!r} is not an RFC 9110 header name ({NAME_RULE})")
    if is_reserved_header(name):
        raise problem(f"{name!r} is a header MCP clients (the verifier too) set themselves for MCP or HTTP framing: "
                      "the token cannot go there")
    return name


def _cookie_name(name: str) -> str:
    if not is_name(name):
        raise problem(f"{name!r} is not an RFC 6265 cookie name ({NAME_RULE})")
    return name


def _prefix(prefix: str) -> str:
    if not is_prefix(prefix):
        raise problem(f"{prefix!r} must be {PREFIX_RULE}")
    return prefix


# The verifier's rules (components/token_location.py), so that every location the config accepts can be verified.
NAME_SCHEMA = WithJsonSchema({"type": "string", "pattern": f"^(?:{TOKEN.pattern})$", "maxLength": MAX_NAME})
PREFIX_SCHEMA = WithJsonSchema({"type": "string", "pattern": f"^(?:{PREFIX.pattern})$", "maxLength": MAX_NAME})


class HeaderLocation(Model):
    """The header carrying the token, and the prefix before it."""

    name: Annotated[Str, AfterValidator(_header_name), NAME_SCHEMA]
    prefix: Optional[Annotated[Str, AfterValidator(_prefix), PREFIX_SCHEMA]] = None


class CookieLocation(Model):
    """The cookie carrying the token."""

    name: Annotated[Str, AfterValidator(_cookie_name), NAME_SCHEMA]


class LocationConfig(OneOf):
    """Where the token is: exactly one of header | cookie (default: the Authorization header, prefix "Bearer ")."""

    header: Optional[HeaderLocation] = None
    cookie: Optional[CookieLocation] = None


class McpMetadataConfig(Model):
    """OAuth protected-resource metadata for MCP clients (the CRD's `jwtAuthentication.mcp`)."""

    provider: Optional[McpProvider] = None
    client_id: Optional[Annotated[str, text(max_length=256)]] = None
    resource_metadata: Optional[dict[str, Any]] = None


class AuthConfig(Model):
    """The validated `auth` key. `mode` none means no JWT policy (anonymous callers)."""

    mode: AuthMode = Field(default="none", validate_default=True)
    allow_anonymous: Bool = False
    groups_claim: Annotated[str, text(CLAIM_NAME, "a claim name usable in CEL (letters, digits, '_'; not starting "
                                                  "with a digit)"), AfterValidator(_not_reserved)] = "groups"
    providers: Annotated[tuple[ProviderConfig, ...], list_of("providers", max_items=64)] = ()
    location: Optional[LocationConfig] = None
    mcp: Optional[McpMetadataConfig] = None

    @field_validator("mode")
    @classmethod
    def _open_gateway(cls, mode: str, info: ValidationInfo) -> str:
        """A gateway exposed outside the cluster needs auth or allowAnonymous (the context's `exposed_by`: the
        gateway's serviceType that exposes it while auth.allowAnonymous is not true; see federation.py)."""
        exposed_by = (info.context or {}).get("exposed_by")
        if mode == "none" and exposed_by:
            raise problem(f"'none' leaves the gateway open, and gateway.serviceType {exposed_by!r} exposes it outside "
                          "the cluster: set auth.mode Strict with a provider, or auth.allowAnonymous: true to accept "
                          "anonymous callers deliberately")
        return mode

    @model_validator(mode="after")
    def _mode_rules(self) -> "AuthConfig":
        found: list[tuple[tuple, str, Any]] = []
        if self.mode == "none":
            found += [((key,), "is set but auth.mode is none (set mode Strict, Optional or Permissive, or remove it)",
                       None) for key in ("providers", "location", "mcp") if getattr(self, key)]
        else:
            if not self.providers:
                found.append((("providers",), f"is empty but auth.mode is {self.mode!r}: declare at least one "
                              "provider {issuer, audiences, jwks} (a missing JWKS would refuse every token)", None))
            if self.allow_anonymous:
                found.append((("allowAnonymous",), "only applies to auth.mode none", True))
            if self.mcp is not None and self.mode != "Strict":
                found.append((("mcp",), f"requires auth.mode Strict (mode is {self.mode!r}; the CRD's rule)", None))
            if self.mcp is not None and len(self.providers) != 1:
                found.append((("mcp",), f"requires exactly one provider ({len(self.providers)} declared; the CRD's "
                                        "rule)", None))
        problems("AuthConfig", found)
        return self

    @property
    def enabled(self) -> bool:
        """Whether the gateway validates tokens (any mode but none)."""
        return self.mode != "none"

    @property
    def required(self) -> bool:
        """Whether an anonymous request is refused with 401 (mode Strict)."""
        return self.mode == "Strict"
