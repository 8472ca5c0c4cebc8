"""JWT authentication and claim-based MCP authorization of tests/gateway_front.py, as agentgateway v1.4.1 does it.

The configuration has the AgentgatewayPolicy spec's shape, so tests can feed the program's rendered policies:
`traffic.jwtAuthentication` {mode, providers[{issuer, audiences, jwks.inline}], mcp} and a list of
`backend.mcp.authorization` {action, policy.matchExpressions} (one per policy; they combine).

Upstream behaviour copied here, from agentgateway tag v1.4.1 and the jsonwebtoken crate 10.4.0 it pins:
- token location (`location`, crates/agentgateway/src/http/auth/mod.rs `AuthorizationLocation::extract`/`remove`,
  `strip_prefix_ascii_case_insensitive`, `set_request_cookie`; the controller passes the CRD's header/cookie
  through unchanged, controller/pkg/agentgateway/plugins/backend_policies.go): by default the `Authorization`
  header with prefix `Bearer `. `header {name, prefix}`: the FIRST header of that name (names are
  case-insensitive); a value that is not visible ASCII counts as no token; with a prefix, the value must start
  with it compared ASCII case-insensitively, else there is no token (nothing is trimmed after the prefix);
  without a prefix the whole value is the token. `cookie {name}`: every `Cookie` header in order (one that is not
  visible ASCII is skipped), split on `;` by the cookie crate 0.18.1 `Cookie::split_parse` (no percent-decoding;
  blank pieces skipped; each piece trimmed and split at its first `=`, name and value trimmed; no `=` or an empty
  name: the piece is dropped; src/lib.rs `SplitCookies`, src/parse.rs `parse_inner`); the FIRST cookie whose name
  equals `name` exactly (case-sensitive) wins and its value is the token as is (quotes kept; an empty value is an
  empty, hence invalid, token). A token anywhere else is not seen. After validation the credential is removed:
  every header of that name, or every cookie of that name (the other parseable cookies re-joined with `; ` into
  one `Cookie` header, none if nothing is left);
- modes (crates/agentgateway/src/http/jwt.rs `Jwt::apply`): no token -> 401 in Strict, else passes without
  claims; invalid token -> passes without claims (token kept) in Permissive, else 401; valid -> claims kept,
  the `Authorization` header removed before the request goes on;
- validation (jwt.rs `validate_claims`, `Provider::from_jwks`): the header must parse and name a supported `alg`
  (no `none`), carry a `kid`, found in the first provider that has it; the key's `alg` (or, without one, its
  family: RSA -> RS/PS 256/384/512, EC -> ES256/ES384, OKP -> EdDSA) must allow the token's alg;
- claims (jsonwebtoken src/validation.rs `validate`, `Validation::new_impl`): `exp` required (a non-negative
  number), expired when exp < now - 60 s (leeway 60); `nbf` is NOT checked (validate_nbf defaults to false),
  so a not-yet-valid token is accepted; `iss` and `aud` are checked only when present and well-typed (a string,
  or a list that must share one value); `aud` is not checked when the provider has no `audiences`;
- 401 body: `text/plain` "authentication failure: <reason>" without WWW-Authenticate; with the `mcp` block,
  `application/json` {"error":"unauthorized","error_description":"JWT token required"} and
  `WWW-Authenticate: Bearer resource_metadata="<base>/.well-known/oauth-protected-resource<path>"`, and
  `/.well-known/oauth-protected-resource[/...]` served without a token (crates/agentgateway/src/proxy/mod.rs,
  mcp/auth.rs `create_auth_required_response`, `protected_resource_metadata`, types/agent.rs `to_rfc_json`);
- authorization (crates/agentgateway/src/http/authorization.rs `RuleSets::validate`): rule sets of every policy
  combine: any matching Deny denies; any Require that is false denies; any matching Allow allows; otherwise deny
  when some Allow rule exists, allow when there are only Deny rules. Each matchExpressions entry is its own rule
  (OR). A CEL error counts as no match. `"x" in <string>` is a substring test
  (crates/cel-fork/cel/src/objects.rs operators::IN), which cel-python is taught below.
"""
from __future__ import annotations

import base64
import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

import celpy
import celpy.celtypes as celtypes
import celpy.evaluation as celeval
import jwt as pyjwt
from jwt.algorithms import get_default_algorithms

MODES = ("Strict", "Optional", "Permissive")
LEEWAY_SECONDS = 60
WELL_KNOWN = "/.well-known/oauth-protected-resource"
SUPPORTED_ALGS = ("HS256", "HS384", "HS512", "ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                  "EdDSA")
FAMILY_ALGS = {"RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), "EC": ("ES256", "ES384"),
               "OKP": ("EdDSA",)}
MCP_401_BODY = b'{"error":"unauthorized","error_description":"JWT token required"}'
ACTIONS = ("Allow", "Deny", "Require")
VERIFIED_CACHE_SIZE = 1024


class AuthConfigError(ValueError):
    """A policy spec the front cannot use (names the bad key)."""


class TokenError(Exception):
    """Why a token was refused; the text is agentgateway's TokenError message."""


@dataclass(frozen=True)
class VerifyingKey:
    """One JWK: the key object PyJWT verifies with and the algorithms it allows."""

    key: Any
    algorithms: tuple[str, ...]


@dataclass(frozen=True)
class Provider:
    """One `providers[]` entry: issuer, audiences (None: `aud` not checked) and its keys by `kid`."""

    issuer: str
    audiences: tuple[str, ...] | None
    keys: dict


def _parse_jwks(text: str, where: str) -> dict[str, VerifyingKey]:
    """kid -> key for an inline JWKS; like `Provider::from_jwks`, a key without `kid` is an error."""
    try:
        jwks = json.loads(text)
    except ValueError as exc:
        raise AuthConfigError(f"{where}: jwks.inline is not JSON ({exc})") from None
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise AuthConfigError(f"{where}: jwks.inline must be a JWKS object with a 'keys' list")
    keys = {}
    for index, jwk in enumerate(jwks["keys"]):
        if not isinstance(jwk, dict) or not jwk.get("kid"):
            raise AuthConfigError(f"{where}: jwks key {index} has no 'kid' (agentgateway drops such a provider)")
        family = jwk.get("kty")
        if family not in FAMILY_ALGS:
            raise AuthConfigError(f"{where}: jwks key {jwk['kid']!r} has unsupported kty {family!r}")
        algorithms = (jwk["alg"],) if jwk.get("alg") in SUPPORTED_ALGS else FAMILY_ALGS[family]
        try:
            key = pyjwt.PyJWK(jwk, algorithm=algorithms[0]).key
        except pyjwt.PyJWTError as exc:
            raise AuthConfigError(f"{where}: jwks key {jwk['kid']!r}: {exc}") from None
        keys[jwk["kid"]] = VerifyingKey(key, algorithms)
    return keys


def _string_list(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise AuthConfigError(f"{where} must be a non-empty list of strings, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class JwtAuthentication:
    """A parsed `traffic.jwtAuthentication` (keys parsed once: the JWKS cache)."""

    mode: str
    providers: tuple[Provider, ...]
    mcp: dict | None = None
    location: "TokenLocation" = field(default_factory=lambda: BEARER)
    # token -> (claims, provider) once its header, key and signature passed; the time-dependent claim checks
    # still run on every request, so a cached token is accepted exactly when upstream would accept it.
    _verified: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_spec(cls, spec: dict) -> "JwtAuthentication":
        """From the AgentgatewayPolicy `spec.traffic.jwtAuthentication` object (CRD default mode: Strict)."""
        where = "traffic.jwtAuthentication"
        if not isinstance(spec, dict):
            raise AuthConfigError(f"{where} must be an object")
        unknown = sorted(set(spec) - {"mode", "providers", "mcp", "location"})
        if unknown:
            raise AuthConfigError(f"{where}: unsupported key(s) {unknown} (the front knows mode, providers, location, "
                                  "mcp)")
        mode = spec.get("mode", "Strict")
        if mode not in MODES:
            raise AuthConfigError(f"{where}.mode must be one of {MODES}, got {mode!r}")
        raw_providers = spec.get("providers")
        if not isinstance(raw_providers, list) or not raw_providers:
            raise AuthConfigError(f"{where}.providers must be a non-empty list")
        providers = []
        for index, raw in enumerate(raw_providers):
            at = f"{where}.providers[{index}]"
            if not isinstance(raw, dict) or not isinstance(raw.get("issuer"), str) or not raw["issuer"]:
                raise AuthConfigError(f"{at}.issuer must be a non-empty string")
            jwks = raw.get("jwks")
            if not isinstance(jwks, dict) or not isinstance(jwks.get("inline"), str):
                raise AuthConfigError(f"{at}.jwks must be {{inline: '<JWKS JSON>'}} (the controller inlines a remote "
                                      "JWKS before the proxy sees it; the front has no network)")
            audiences = _string_list(raw["audiences"], f"{at}.audiences") if "audiences" in raw else None
            providers.append(Provider(raw["issuer"], audiences, _parse_jwks(jwks["inline"], at)))
        mcp = spec.get("mcp")
        if mcp is not None and (not isinstance(mcp, dict) or len(providers) != 1 or mode != "Strict"):
            raise AuthConfigError(f"{where}.mcp must be an object and needs exactly one provider and mode Strict")
        location = TokenLocation.from_spec(spec["location"]) if "location" in spec else BEARER
        return cls(mode, tuple(providers), mcp, location)

    def _find_key(self, kid: str) -> tuple[Provider, VerifyingKey]:
        for provider in self.providers:  # the first provider that has the kid wins
            if kid in provider.keys:
                return provider, provider.keys[kid]
        raise TokenError(f"token uses the unknown key {kid!r}")

    def validate(self, token: str, now: float | None = None) -> dict:
        """The token's claims, or TokenError with agentgateway's reason.

        The compact form is split and base64url-decoded here and the signature checked with PyJWT's algorithm
        objects (PyJWT's own decode re-checks every character in Python and costs ~0.5 ms per token, which would
        make this test peer, not the verifier, the bottleneck of bench/verifier_auth.py)."""
        cached = self._verified.get(token)
        if cached is not None:
            _check_claims(cached[0], cached[1], time.time() if now is None else now)
            return dict(cached[0])
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("the token header is malformed: not three dot-separated parts")
        header = _json_segment(parts[0], "the token header is malformed")
        if header.get("alg") not in SUPPORTED_ALGS:  # jsonwebtoken's Header cannot even parse `none`
            raise TokenError(f"the token header is malformed: unsupported alg {header.get('alg')!r}")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise TokenError("the token header does not specify a `kid`")
        provider, key = self._find_key(kid)
        if header["alg"] not in key.algorithms:
            raise TokenError("the token is invalid or malformed: InvalidAlgorithm")
        signature = _segment(parts[2], "the token is invalid or malformed")
        if not _ALGORITHMS[header["alg"]].verify(f"{parts[0]}.{parts[1]}".encode(), key.key, signature):
            raise TokenError("the token is invalid or malformed: InvalidSignature")
        claims = _json_segment(parts[1], "the token is invalid or malformed")
        _check_claims(claims, provider, time.time() if now is None else now)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (claims, provider)
        return dict(claims)


_ALGORITHMS = get_default_algorithms()
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def _segment(text: str, failure: str) -> bytes:
    """One base64url (unpadded) segment, decoded; TokenError(`failure`: ...) when it is not one."""
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise TokenError(f"{failure}: InvalidBase64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json_segment(text: str, failure: str) -> dict:
    try:
        value = json.loads(_segment(text, failure))
    except (ValueError, RecursionError):
        raise TokenError(f"{failure}: Json") from None
    if not isinstance(value, dict):
        raise TokenError(f"{failure}: Json (not an object)")
    return value


def _numeric(value: object) -> int | None:
    """jsonwebtoken `numeric_type`: a non-negative JSON number (floats rounded); anything else fails to parse."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and (not math.isfinite(value) or value < 0):
        return None
    return None if value < 0 else math.floor(value + 0.5)  # Rust f64::round: half away from zero


def _matches(value: object, accepted: Iterable[str]) -> bool | None:
    """jsonwebtoken's iss/aud test: None when the claim is absent or of another type (then not checked)."""
    accepted = set(accepted)
    if isinstance(value, str):
        return value in accepted
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return bool(accepted & set(value))
    return None


def _check_claims(claims: dict, provider: Provider, now: float) -> None:
    if "exp" not in claims or claims["exp"] is None:
        raise TokenError("the token is invalid or malformed: MissingRequiredClaim(\"exp\")")
    exp = _numeric(claims["exp"])
    if exp is None:
        raise TokenError("the token is invalid or malformed: InvalidClaimFormat(\"exp\")")
    if exp < int(now) - LEEWAY_SECONDS:
        raise TokenError("the token is invalid or malformed: ExpiredSignature")
    if _matches(claims.get("iss"), [provider.issuer]) is False:
        raise TokenError("the token is invalid or malformed: InvalidIssuer")
    if provider.audiences is not None and _matches(claims.get("aud"), provider.audiences) is False:
        raise TokenError("the token is invalid or malformed: InvalidAudience")


_VISIBLE = re.compile(rb"[\t\x20-\x7e]*")  # http::HeaderValue::to_str succeeds exactly on these bytes
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # what http::HeaderName parses (the CRD's pattern)
Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class TokenLocation:
    """`location`: a header (lower-case `header`, optional `prefix`) or a cookie (`cookie`); exactly one is set."""

    header: bytes | None = b"authorization"
    prefix: bytes | None = b"Bearer "
    cookie: str | None = None

    @classmethod
    def from_spec(cls, spec: object) -> "TokenLocation":
        """From `jwtAuthentication.location` {header: {name, prefix?}} | {cookie: {name}} (queryParameter and
        expression exist upstream; the project never renders them, so the front refuses them)."""
        where = "traffic.jwtAuthentication.location"
        if not isinstance(spec, dict) or len(spec) != 1 or not set(spec) <= {"header", "cookie"}:
            raise AuthConfigError(f"{where} must be exactly one of {{header: {{name, prefix}}}} | {{cookie: {{name}}}}, "
                                  f"got {spec!r}")
        kind, body = next(iter(spec.items()))
        allowed = {"name", "prefix"} if kind == "header" else {"name"}
        if not isinstance(body, dict) or not set(body) <= allowed or not isinstance(body.get("name"), str) \
                or not body["name"]:
            raise AuthConfigError(f"{where}.{kind} must be an object with a non-empty name (keys: {sorted(allowed)}), "
                                  f"got {body!r}")
        if kind == "cookie":
            return cls(header=None, prefix=None, cookie=body["name"])
        if not _HEADER_NAME.fullmatch(body["name"]):
            raise AuthConfigError(f"{where}.header.name {body['name']!r} is not an HTTP header name")
        prefix = body.get("prefix")
        if prefix is not None and (not isinstance(prefix, str) or not prefix):
            raise AuthConfigError(f"{where}.header.prefix must be a non-empty string, got {prefix!r}")
        return cls(header=body["name"].lower().encode(), prefix=prefix.encode() if prefix is not None else None)


BEARER = TokenLocation()


def _strip_prefix(value: bytes, prefix: bytes) -> bytes | None:
    """`strip_prefix_ascii_case_insensitive`: the rest after `prefix` (ASCII case ignored), else None."""
    if len(value) < len(prefix) or value[:len(prefix)].lower() != prefix.lower():  # bytes.lower: ASCII only
        return None
    return value[len(prefix):]


def request_cookies(headers: Headers) -> list[tuple[str, str]]:
    """(name, value) of every cookie, as agentgateway's `iter_request_cookies` yields them (cookie 0.18.1
    `Cookie::split_parse`): Cookie headers in order, the non-visible-ASCII ones skipped."""
    cookies = []
    for name, value in headers:
        if name.lower() != b"cookie" or not _VISIBLE.fullmatch(value):
            continue
        for piece in value.decode("ascii").split(";"):
            piece = piece.strip(" \t")  # Rust str::trim; only SP and HTAB can occur in a visible-ASCII value
            if not piece or "=" not in piece:
                continue  # blank: skipped; no '=': ParseError::MissingPair, dropped by filter_map(Result::ok)
            cookie_name, cookie_value = piece.split("=", 1)
            if cookie_name.strip(" \t"):
                cookies.append((cookie_name.strip(" \t"), cookie_value.strip(" \t")))
    return cookies


def extract_token(location: TokenLocation, headers: Headers) -> str | None:
    """`AuthorizationLocation::extract`: the credential at `location`, else None (no token)."""
    if location.cookie is not None:
        return next((value for name, value in request_cookies(headers) if name == location.cookie), None)
    for name, value in headers:
        if name.lower() == location.header:  # HeaderMap::get: the first value of that name
            if not _VISIBLE.fullmatch(value):
                return None
            token = value if location.prefix is None else _strip_prefix(value, location.prefix)
            return token.decode("ascii") if token is not None else None
    return None


def remove_token(location: TokenLocation, headers: Headers) -> Headers:
    """`AuthorizationLocation::remove`: the request headers without the credential."""
    if location.cookie is None:
        return [(name, value) for name, value in headers if name.lower() != location.header]
    kept = [f"{name}={value}" for name, value in request_cookies(headers) if name != location.cookie]
    rest = [(name, value) for name, value in headers if name.lower() != b"cookie"]
    return rest + ([(b"cookie", "; ".join(kept).encode())] if kept else [])



@dataclass(frozen=True)
class AuthOutcome:
    """What JWT authentication decided: refuse with `error`, or pass with `claims` (None: no claims)."""

    claims: dict | None = None
    error: str | None = None
    strip: bool = False


def authenticate(config: JwtAuthentication, headers: list[tuple[bytes, bytes]]) -> AuthOutcome:
    """agentgateway's `Jwt::apply` for one request."""
    token = extract_token(config.location, headers)
    if token is None:
        return AuthOutcome(error="no bearer token found") if config.mode == "Strict" else AuthOutcome()
    try:
        claims = config.validate(token)
    except TokenError as exc:
        return AuthOutcome() if config.mode == "Permissive" else AuthOutcome(error=str(exc))
    return AuthOutcome(claims=claims, strip=True)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def request_base(scheme: str, host: str, headers: list[tuple[bytes, bytes]]) -> str:
    """scheme://authority of the request, honouring X-Forwarded-Proto (mcp/auth.rs request_uri_for_oauth_metadata)."""
    for name, value in headers:
        if name.lower() == b"x-forwarded-proto":
            scheme = value.decode("latin-1").strip() or scheme
    return f"{scheme}://{host}"


def www_authenticate(config: JwtAuthentication, base: str, path: str) -> str:
    """The WWW-Authenticate value of a 401 when the `mcp` block is set."""
    resource = (config.mcp or {}).get("resourceMetadata", {}).get("resource")
    if isinstance(resource, str) and "://" in resource:
        scheme, rest = resource.split("://", 1)
        base = f"{scheme}://{rest.split('/', 1)[0]}"
    return f'Bearer resource_metadata="{base}{WELL_KNOWN}{path}"'


def protected_resource_metadata(config: JwtAuthentication, base: str, path: str) -> dict:
    """The JSON served at /.well-known/oauth-protected-resource<rest> (types/agent.rs `to_rfc_json`)."""
    rest = path[len(WELL_KNOWN):]
    resource = f"{base}{rest}" if rest else base
    mcp = config.mcp or {}
    issuer = resource if mcp.get("provider") else config.providers[0].issuer
    body = {"resource": resource, "authorization_servers": [issuer], "mcp_protocol_version": "2025-06-18",
            "resource_type": "mcp-server"}
    for key, value in (mcp.get("resourceMetadata") or {}).items():
        body[_snake(key)] = value
    return body


# ------------------------------------------------------------------------------------------- authorization

def _upstream_in(item: Any, container: Any) -> Any:
    """agentgateway's CEL `in`: on two strings a substring test; otherwise standard CEL."""
    if isinstance(item, celtypes.StringType) and isinstance(container, celtypes.StringType):
        return celtypes.BoolType(str(item) in str(container))
    return celeval.operator_in(item, container)


_ENVIRONMENT = celpy.Environment()


@dataclass
class RuleSet:
    """One policy's `backend.mcp.authorization`: compiled rules per action."""

    rules: dict = field(default_factory=lambda: {action: [] for action in ACTIONS})

    @classmethod
    def from_spec(cls, spec: dict) -> "RuleSet":
        """From `{action, policy: {matchExpressions: [...]}}` (CRD default action: Allow)."""
        where = "backend.mcp.authorization"
        if not isinstance(spec, dict):
            raise AuthConfigError(f"{where} must be an object")
        action = spec.get("action", "Allow")
        if action not in ACTIONS:
            raise AuthConfigError(f"{where}.action must be one of {ACTIONS}, got {action!r}")
        expressions = (spec.get("policy") or {}).get("matchExpressions")
        if not isinstance(expressions, list) or not all(isinstance(e, str) and e for e in expressions):
            raise AuthConfigError(f"{where}.policy.matchExpressions must be a list of CEL strings")
        rule_set = cls()
        for expression in expressions:
            try:
                program = _ENVIRONMENT.program(_ENVIRONMENT.compile(expression), functions={"_in_": _upstream_in})
            except celpy.CELParseError as exc:
                raise AuthConfigError(f"{where}: cannot compile {expression!r}: {exc}") from None
            rule_set.rules[action].append(program)
        return rule_set


def _matches_rule(program: Any, activation: dict) -> bool:
    """`eval_bool`: true only for a boolean true; an evaluation error is no match."""
    try:
        value = program.evaluate(activation)
    except Exception:  # noqa: BLE001 - celpy raises CELEvalError and Python errors alike: both are "no match"
        return False
    return isinstance(value, celtypes.BoolType) and bool(value)


def authorized(rule_sets: Iterable[RuleSet], tool: str, target: str, claims: dict | None) -> bool:
    """`RuleSets::validate` for one tool of one target with the caller's claims (None: no validated token)."""
    rule_sets = list(rule_sets)
    if not any(any(rs.rules[action] for action in ACTIONS) for rs in rule_sets):
        return True
    activation = {"mcp": celpy.json_to_cel({"tool": {"name": tool, "target": target}}),
                  "jwt": celpy.json_to_cel(claims)}
    if any(_matches_rule(p, activation) for rs in rule_sets for p in rs.rules["Deny"]):
        return False
    if not all(_matches_rule(p, activation) for rs in rule_sets for p in rs.rules["Require"]):
        return False
    if any(_matches_rule(p, activation) for rs in rule_sets for p in rs.rules["Allow"]):
        return True
    return not any(rs.rules["Allow"] for rs in rule_sets)
