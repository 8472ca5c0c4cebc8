"""The `auth` config key (caller authentication at the gateway) and the per-server group keys
(`servers[].allowedGroups`, `servers[].toolGroups`), parsed into frozen dataclasses.

Called from components/config.py with its error collector, so every problem is reported at once in the same
`key.path[index].field: 'value' <reason>` style, before any resource is declared.

Semantics (agentgateway v1.4.1, research agentgateway-auth.md §1): `mode` Strict (a missing or invalid token is
401), Optional (no token passes without claims, an invalid one is 401), Permissive (never 401), or `none` (no JWT
policy at all). A provider's tokens must carry `kid` and `exp`; `iss` must equal `issuer` and `aud` must be one of
`audiences` (required and non-empty here: without it agentgateway would accept tokens minted for any audience).
"""
from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping, Optional
from urllib.parse import urlsplit

from components.crds._base import DNS_SUBDOMAIN
from components.crds.agentgateway_auth import DURATION, HEADER_NAME, JWT_MODES, MCP_PROVIDERS, duration_ms

if TYPE_CHECKING:  # the collector lives in config.py, which imports this module
    from components.config import _Checker

AUTH_MODES = JWT_MODES + ("none",)
AUTH_KEYS = ("mode", "providers", "allowAnonymous", "groupsClaim", "location", "mcp")
PROVIDER_KEYS = ("issuer", "audiences", "jwks")
DEFAULT_AUTH = {"mode": "none", "allowAnonymous": False, "groupsClaim": "groups"}
GROUP_KEYS = ("allowedGroups", "toolGroups")  # server keys parsed here
EXPOSED_SERVICE_TYPES = ("LoadBalancer", "NodePort")
# A claim name usable as `jwt.<claim>` in CEL: an identifier that is not a CEL reserved word (CEL spec, "Syntax").
CLAIM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
CEL_RESERVED = frozenset("true false null in as break const continue else for function if import let loop package "
                         "namespace return var void while".split())
# Issuers, audiences and group names: printable ASCII without spaces (what IdPs put in iss/aud/groups).
TOKEN_TEXT = re.compile(r"[!-~]{1,256}")
# JWK members that only a private or symmetric key has (RFC 7518 section 6): never publish them in a stack file.
PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
HTTPS_PORT = 443


@dataclass(frozen=True)
class RemoteJwksConfig:
    """A JWKS served over HTTPS: the controller fetches `https://host:port/path` (research §6)."""

    url: str
    host: str
    port: int
    path: str                        # without the leading '/' (agentgateway's jwksPath is relative to the root)
    cache_duration: Optional[str] = None


@dataclass(frozen=True)
class ProviderConfig:
    """One token issuer: `iss`, accepted `aud` values and its keys (exactly one of inline | remote)."""

    issuer: str
    audiences: tuple[str, ...]
    inline_jwks: Optional[str] = None
    remote_jwks: Optional[RemoteJwksConfig] = None


@dataclass(frozen=True)
class AuthConfig:
    """The validated `auth` key. `mode` none means no JWT policy (anonymous callers)."""

    mode: str = "none"
    providers: tuple[ProviderConfig, ...] = ()
    allow_anonymous: bool = False
    groups_claim: str = "groups"
    location: Optional[tuple[str, str, Optional[str]]] = None  # ("header", name, prefix) | ("cookie", name, None)
    mcp: Optional[Mapping[str, Any]] = None                    # {provider?, clientId?, resourceMetadata?}

    @property
    def enabled(self) -> bool:
        """Whether the gateway validates tokens (any mode but none)."""
        return self.mode != "none"

    @property
    def required(self) -> bool:
        """Whether an anonymous request is refused with 401 (mode Strict)."""
        return self.mode == "Strict"


@dataclass(frozen=True)
class ServerGroups:
    """A server's group rules: callers need one of `allowed` (if any) and, for a tool of `tools`, one of its
    groups (AND)."""

    allowed: tuple[str, ...] = ()
    tools: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def restricted(self) -> bool:
        """Whether any group rule applies to the server."""
        return bool(self.allowed or self.tools)


def _text(check: "_Checker", key: str, value: Any, what: str) -> Optional[str]:
    return check.string(key, value, TOKEN_TEXT, f"{what} (1 to 256 printable ASCII characters, no spaces)")


def _text_list(check: "_Checker", key: str, value: Any, what: str, max_items: int = 64) -> Optional[tuple[str, ...]]:
    """A non-empty list of distinct TOKEN_TEXT strings."""
    if not isinstance(value, list):
        check.fail(key, f"{value!r} is not a list of {what}s")
        return None
    if not value:
        check.fail(key, f"[] is empty: list at least one {what}")
        return None
    if len(value) > max_items:
        check.fail(key, f"has {len(value)} items (at most {max_items})")
        return None
    items = [_text(check, f"{key}[{index}]", item, f"a {what}") for index, item in enumerate(value)]
    if any(item is None for item in items):
        return None
    duplicates = sorted({item for item in items if items.count(item) > 1})
    if duplicates:
        check.fail(key, f"{', '.join(duplicates)} listed more than once")
        return None
    return tuple(items)  # type: ignore[arg-type]


def _inline_jwks(check: "_Checker", key: str, value: Any) -> Optional[str]:
    """A public JWKS as JSON text: an object with a non-empty `keys` list, each key with `kty` and a `kid`
    (agentgateway drops a provider whose key has no kid: http/jwt.rs), and no private-key member."""
    if not isinstance(value, str):
        check.fail(key, f"{value!r} is not a string (the JWKS JSON document)")
        return None
    if len(value) > 65536:
        check.fail(key, f"is {len(value)} characters long (at most 65536)")
        return None
    try:
        document = json.loads(value)
    except ValueError as exc:
        check.fail(key, f"is not valid JSON ({exc})")
        return None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not keys:
        check.fail(key, "is not a JWKS: a JSON object with a non-empty 'keys' list")
        return None
    errors = len(check.errors)
    for index, jwk in enumerate(keys):
        at = f"{key}.keys[{index}]"
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kty"), str):
            check.fail(at, "is not a JWK (an object with 'kty')")
            continue
        if not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
            check.fail(f"{at}.kid", "is required (agentgateway ignores a key set with a key without kid)")
        private = [member for member in PRIVATE_JWK_MEMBERS if member in jwk]
        if private:
            check.fail(at, f"has private or symmetric key member(s) {', '.join(private)}: publish only public keys")
    return value if len(check.errors) == errors else None


def _remote_jwks(check: "_Checker", key: str, value: Any) -> Optional[RemoteJwksConfig]:
    """`{url: https://host[:port]/path, cacheDuration?}`: a DNS host name (it is the TLS server name)."""
    entry = check.mapping(key, value, ("url", "cacheDuration"))
    if entry is None:
        return None
    if "url" not in entry:
        check.fail(f"{key}.url", "is required (e.g. https://idp.example.com/.well-known/jwks.json)")
        return None
    url = check.string(f"{key}.url", entry["url"], max_len=2048)
    if url is None:
        return None
    help_text = "an https:// URL with a DNS host name and a path, without user, query or fragment"
    try:
        parts = urlsplit(url)
        port = parts.port or HTTPS_PORT
    except ValueError:
        check.fail(f"{key}.url", f"{url!r} is not {help_text}")
        return None
    host = parts.hostname or ""
    bad = (parts.scheme != "https" or not host or parts.username is not None or parts.password is not None
           or parts.query or parts.fragment or parts.path in ("", "/") or any(c.isspace() for c in url))
    if bad or _is_ip(host) or not DNS_SUBDOMAIN.fullmatch(host) or len(host) > 253:
        check.fail(f"{key}.url", f"{url!r} is not {help_text}")
        return None
    cache = None
    if "cacheDuration" in entry:
        cache = check.string(f"{key}.cacheDuration", entry["cacheDuration"], DURATION,
                             "a duration such as 5m or 1h30m", 32)
        if cache is not None and duration_ms(cache) < 5 * 60_000:
            check.fail(f"{key}.cacheDuration", f"{cache!r} is shorter than 5m (agentgateway's minimum)")
            cache = None
        if cache is None:
            return None
    return RemoteJwksConfig(url=url, host=host, port=port, path=parts.path.lstrip("/"), cache_duration=cache)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _provider(check: "_Checker", index: int, raw: Any) -> Optional[ProviderConfig]:
    key = f"auth.providers[{index}]"
    entry = check.mapping(key, raw, PROVIDER_KEYS)
    if entry is None:
        return None
    errors = len(check.errors)
    issuer = _text(check, f"{key}.issuer", entry["issuer"], "an issuer") if "issuer" in entry else \
        check.fail(f"{key}.issuer", "is required (the exact 'iss' of the tokens)")
    audiences = _text_list(check, f"{key}.audiences", entry["audiences"], "audience") if "audiences" in entry \
        else check.fail(f"{key}.audiences", "is required: list the 'aud' values the gateway accepts (without it, "
                                            "tokens minted for any other application would be accepted)")
    inline = remote = None
    jwks = entry.get("jwks")
    if jwks is None:
        check.fail(f"{key}.jwks", "is required: {inline: '<JWKS JSON>'} or {remote: {url: https://...}}")
    else:
        sources = check.mapping(f"{key}.jwks", jwks, ("inline", "remote"))
        if sources is not None and len(sources) != 1:
            check.fail(f"{key}.jwks", "must set exactly one of inline | remote")
        elif sources is not None:
            if "inline" in sources:
                inline = _inline_jwks(check, f"{key}.jwks.inline", sources["inline"])
            else:
                remote = _remote_jwks(check, f"{key}.jwks.remote", sources["remote"])
    if len(check.errors) > errors:
        return None
    return ProviderConfig(issuer=issuer, audiences=audiences, inline_jwks=inline, remote_jwks=remote)  # type: ignore


def _location(check: "_Checker", value: Any) -> Optional[tuple[str, str, Optional[str]]]:
    entry = check.mapping("auth.location", value, ("header", "cookie"))
    if entry is None:
        return None
    if len(entry) != 1:
        check.fail("auth.location", "must set exactly one of header | cookie")
        return None
    (kind, raw), = entry.items()
    spec = check.mapping(f"auth.location.{kind}", raw, ("name", "prefix") if kind == "header" else ("name",))
    if spec is None:
        return None
    if "name" not in spec:
        check.fail(f"auth.location.{kind}.name", "is required")
        return None
    name = check.string(f"auth.location.{kind}.name", spec["name"], HEADER_NAME if kind == "header" else None,
                        "an HTTP header name", 256)
    prefix = check.string("auth.location.header.prefix", spec["prefix"], max_len=256) if "prefix" in spec else None
    if name is None or ("prefix" in spec and prefix is None):
        return None
    return kind, name, prefix


def _mcp(check: "_Checker", value: Any) -> Optional[Mapping[str, Any]]:
    """The protected-resource metadata block, as the CRD's `jwtAuthentication.mcp` takes it."""
    entry = check.mapping("auth.mcp", value, ("provider", "clientId", "resourceMetadata"))
    if entry is None:
        return None
    errors = len(check.errors)
    if "provider" in entry and entry["provider"] not in MCP_PROVIDERS:
        check.fail("auth.mcp.provider", f"{entry['provider']!r} is not one of {', '.join(MCP_PROVIDERS)}")
    if "clientId" in entry:
        check.string("auth.mcp.clientId", entry["clientId"], max_len=256)
    if "resourceMetadata" in entry and not isinstance(entry["resourceMetadata"], Mapping):
        check.fail("auth.mcp.resourceMetadata", f"{entry['resourceMetadata']!r} is not an object")
    return MappingProxyType(dict(entry)) if len(check.errors) == errors else None


def parse_auth(check: "_Checker", raw: Any, exposed_as: Optional[str]) -> Optional[AuthConfig]:
    """The `auth` key. `exposed_as` is the created Gateway's Service type (None when the Gateway exists already):
    a LoadBalancer/NodePort gateway without authentication needs `allowAnonymous: true`."""
    entry = check.mapping("auth", raw, AUTH_KEYS)
    if entry is None:
        return None
    merged = {**DEFAULT_AUTH, **entry}
    errors = len(check.errors)
    mode = merged["mode"]
    if mode not in AUTH_MODES:
        check.fail("auth.mode", f"{mode!r} is not one of {', '.join(AUTH_MODES)}")
    allow_anonymous = check.boolean("auth.allowAnonymous", merged["allowAnonymous"])
    claim = check.string("auth.groupsClaim", merged["groupsClaim"], CLAIM_NAME,
                         "a claim name usable in CEL (letters, digits, '_'; not starting with a digit)")
    if claim in CEL_RESERVED:
        check.fail("auth.groupsClaim", f"{claim!r} is a CEL reserved word")
    providers: list[Optional[ProviderConfig]] = []
    raw_providers = entry.get("providers", [])
    if not isinstance(raw_providers, list):
        check.fail("auth.providers", f"{raw_providers!r} is not a list of providers")
    else:
        providers = [_provider(check, index, item) for index, item in enumerate(raw_providers)]
        if len(raw_providers) > 64:
            check.fail("auth.providers", f"has {len(raw_providers)} providers (at most 64)")
    location = _location(check, entry["location"]) if "location" in entry else None
    mcp = _mcp(check, entry["mcp"]) if "mcp" in entry else None
    if mode == "none":
        for present in ("providers", "location", "mcp"):
            if present in entry and entry[present] not in ([], None):
                check.fail(f"auth.{present}", "is set but auth.mode is none (set mode Strict, Optional or "
                                              "Permissive, or remove it)")
        if exposed_as in EXPOSED_SERVICE_TYPES and allow_anonymous is False:
            check.fail("auth.mode", f"'none' leaves the gateway open, and gateway.serviceType {exposed_as!r} "
                                    "exposes it outside the cluster: set auth.mode Strict with a provider, or "
                                    "auth.allowAnonymous: true to accept anonymous callers deliberately")
    elif mode in JWT_MODES:
        if isinstance(raw_providers, list) and not raw_providers:
            check.fail("auth.providers", f"is empty but auth.mode is {mode!r}: declare at least one provider "
                                         "{issuer, audiences, jwks} (a missing JWKS would refuse every token)")
        if allow_anonymous:
            check.fail("auth.allowAnonymous", "only applies to auth.mode none")
        if mcp is not None and mode != "Strict":
            check.fail("auth.mcp", f"requires auth.mode Strict (mode is {mode!r}; the CRD's rule)")
        if mcp is not None and isinstance(raw_providers, list) and len(raw_providers) != 1:
            check.fail("auth.mcp", f"requires exactly one provider ({len(raw_providers)} declared; the CRD's rule)")
    if len(check.errors) > errors:
        return None
    return AuthConfig(mode=mode, providers=tuple(providers), allow_anonymous=bool(allow_anonymous),  # type: ignore
                      groups_claim=claim, location=location, mcp=mcp)  # type: ignore[arg-type]


def parse_server_groups(check: "_Checker", key: str, entry: Mapping[str, Any]) -> Optional[ServerGroups]:
    """`allowedGroups` ([group]) and `toolGroups` ({tool: [group]}) of one server entry; whether the tools exist
    is checked against the server's catalog later (components/tool_access.py)."""
    errors = len(check.errors)
    allowed = _text_list(check, f"{key}.allowedGroups", entry["allowedGroups"], "group") \
        if "allowedGroups" in entry else ()
    tools: dict[str, tuple[str, ...]] = {}
    if "toolGroups" in entry:
        raw = entry["toolGroups"]
        if not isinstance(raw, Mapping) or not raw:
            check.fail(f"{key}.toolGroups", f"{raw!r} is not a non-empty object {{tool: [groups]}}")
        else:
            for tool, groups in raw.items():
                if not isinstance(tool, str) or not tool:
                    check.fail(f"{key}.toolGroups", f"{tool!r} is not a tool name")
                    continue
                parsed = _text_list(check, f"{key}.toolGroups.{tool}", groups, "group")
                if parsed is not None:
                    tools[tool] = parsed
    if len(check.errors) > errors:
        return None
    return ServerGroups(allowed=allowed or (), tools=MappingProxyType(tools))


def check_group_rules_have_a_provider(check: "_Checker", raw_auth: Any,
                                      groups: list[tuple[int, Optional[ServerGroups]]]) -> None:
    """A group rule needs validated tokens: with auth.mode none (the raw `auth` value's, so this is reported even
    when another auth key is wrong) no caller has claims, so it is an error."""
    if not isinstance(raw_auth, Mapping) or raw_auth.get("mode", DEFAULT_AUTH["mode"]) != "none":
        return
    for index, rules in groups:
        if rules is None or not rules.restricted:
            continue
        which = "allowedGroups" if rules.allowed else "toolGroups"
        check.fail(f"servers[{index}].{which}", "is a group rule, but auth.mode is none: no caller has a groups "
                                               "claim (set auth.mode and auth.providers)")
