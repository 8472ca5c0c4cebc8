"""The test front reads the token where `jwtAuthentication.location` says, as agentgateway v1.4.1 does
(crates/agentgateway/src/http/auth/mod.rs `AuthorizationLocation::extract`/`remove`, http/mod.rs
`read_request_cookie`, cookie 0.18.1 `Cookie::split_parse`; cited in tests/gateway_front_auth.py)."""
from __future__ import annotations

import pytest
import requests

from tests.gateway_front import FrontRoute, GatewayFront
from tests.gateway_front_auth import AuthConfigError, JwtAuthentication, authenticate, remove_token
from tests.jwt_tokens import AUDIENCE, ISSUER, SigningKey, claims, jwt_spec, provider
from tests.server_process import free_port

KEY = SigningKey.rsa("loc-1")
TOKEN = KEY.mint(claims(3600))
HEADER = {"header": {"name": "X-Mcp-Token", "prefix": "Token "}}
RAW_HEADER = {"header": {"name": "X-Mcp-Token"}}
COOKIE = {"cookie": {"name": "mcp_token"}}


def located(location: dict | None, mode: str = "Strict") -> JwtAuthentication:
    spec = jwt_spec(mode, [provider(ISSUER, [AUDIENCE], KEY)])
    return JwtAuthentication.from_spec({**spec, **({"location": location} if location is not None else {})})


def outcome(location: dict | None, *headers: tuple[str, str]) -> str:
    """'claims' (accepted), 'none' (no token found: Strict says so), or 'invalid' (a token that did not validate)."""
    result = authenticate(located(location), [(b"host", b"gw")] + [(n.lower().encode(), v.encode("latin-1"))
                                                                   for n, v in headers])
    if result.claims is not None:
        return "claims"
    assert result.error is not None
    return "none" if result.error == "no bearer token found" else "invalid"


@pytest.mark.parametrize("location, headers, expected", [
    # header with a prefix: compared ASCII case-insensitively; no match means no token; nothing trimmed after it
    (HEADER, [("X-Mcp-Token", f"Token {TOKEN}")], "claims"),
    (HEADER, [("x-mcp-token", f"tOKEN {TOKEN}")], "claims"),
    (HEADER, [("X-Mcp-Token", f"Bearer {TOKEN}")], "none"),
    (HEADER, [("X-Mcp-Token", TOKEN)], "none"),
    (HEADER, [("X-Mcp-Token", f"Token  {TOKEN}")], "invalid"),
    (HEADER, [("X-Mcp-Token", "Token ")], "invalid"),
    (HEADER, [("X-Mcp-Token", "Tok")], "none"),
    # the first header of that name is the one read
    (HEADER, [("X-Mcp-Token", "Token nope"), ("X-Mcp-Token", f"Token {TOKEN}")], "invalid"),
    (HEADER, [("X-Mcp-Token", f"Token {TOKEN}"), ("X-Mcp-Token", "Token nope")], "claims"),
    # a header value that is not visible ASCII is no token
    (HEADER, [("X-Mcp-Token", f"Token {TOKEN}\u00e9")], "none"),
    # the default Authorization header is not read once another location is configured
    (HEADER, [("Authorization", f"Bearer {TOKEN}")], "none"),
    (COOKIE, [("Authorization", f"Bearer {TOKEN}")], "none"),
    # no prefix: the whole value is the token
    (RAW_HEADER, [("X-Mcp-Token", TOKEN)], "claims"),
    (RAW_HEADER, [("X-Mcp-Token", f"Bearer {TOKEN}")], "invalid"),
    # cookies: split on ';', trimmed, first cookie of exactly that name wins, across Cookie headers in order
    (COOKIE, [("Cookie", f"mcp_token={TOKEN}")], "claims"),
    (COOKIE, [("Cookie", f"a=1;;  mcp_token = {TOKEN} ; b=2")], "claims"),
    (COOKIE, [("Cookie", f"junk; =x; mcp_token={TOKEN}")], "claims"),
    (COOKIE, [("Cookie", f"mcp_token=nope; mcp_token={TOKEN}")], "invalid"),
    (COOKIE, [("Cookie", f"mcp_token={TOKEN}; mcp_token=nope")], "claims"),
    (COOKIE, [("Cookie", "a=1"), ("Cookie", f"mcp_token={TOKEN}")], "claims"),
    (COOKIE, [("Cookie", "mcp_token=nope"), ("Cookie", f"mcp_token={TOKEN}")], "invalid"),
    (COOKIE, [("Cookie", "mcp_token=nope\u00e9"), ("Cookie", f"mcp_token={TOKEN}")], "claims"),  # skipped header
    (COOKIE, [("Cookie", f"MCP_TOKEN={TOKEN}")], "none"),  # names are case-sensitive
    (COOKIE, [("Cookie", f'mcp_token="{TOKEN}"')], "invalid"),  # quotes are kept (value(), not value_trimmed())
    (COOKIE, [("Cookie", "mcp_token=")], "invalid"),  # an empty value is an (invalid) token, not a missing one
    (COOKIE, [("Cookie", f"other_mcp_token={TOKEN}")], "none"),
    (COOKIE, [("X-Mcp-Token", f"Token {TOKEN}")], "none"),
])
def test_the_token_is_read_where_the_location_says(location, headers, expected):
    assert outcome(location, *headers) == expected


def test_without_a_location_the_bearer_header_is_read():
    assert outcome(None, ("Authorization", f"bearer {TOKEN}")) == "claims"
    assert outcome(None, ("Cookie", f"mcp_token={TOKEN}")) == "none"


def test_a_validated_token_is_removed_at_its_location_only():
    headers = [(b"x-mcp-token", f"Token {TOKEN}".encode()), (b"x-mcp-token", b"again"), (b"authorization", b"x")]
    assert remove_token(located(HEADER).location, headers) == [(b"authorization", b"x")]
    cookies = [(b"cookie", f"a=1; mcp_token={TOKEN};; junk".encode()), (b"authorization", b"x"),
               (b"cookie", b"mcp_token=second; b = 2")]
    assert remove_token(located(COOKIE).location, cookies) == [(b"authorization", b"x"), (b"cookie", b"a=1; b=2")]
    assert remove_token(located(COOKIE).location, [(b"cookie", f"mcp_token={TOKEN}".encode())]) == []


@pytest.mark.parametrize("location, message", [
    ({"queryParameter": {"name": "token"}}, "must be exactly one of"),
    ({"header": {"name": "X-T"}, "cookie": {"name": "t"}}, "must be exactly one of"),
    ({"header": {"name": "X T"}}, "is not an HTTP header name"),
    ({"header": {"name": "X-T", "prefix": ""}}, "prefix must be a non-empty string"),
    ({"cookie": {"name": ""}}, "location.cookie must be an object with a non-empty name"),
])
def test_unusable_locations_are_refused(location, message):
    with pytest.raises(AuthConfigError, match=message):
        located(location)


def test_on_the_wire_the_cookie_location_ignores_the_bearer_header_and_strips_the_cookie():
    dead = f"http://127.0.0.1:{free_port()}/mcp"
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
    base = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    spec = {**jwt_spec("Strict", [provider(ISSUER, [AUDIENCE], KEY)]), "location": COOKIE}
    with GatewayFront([FrontRoute("/mcp/c", dead)], jwt_authentication=spec) as front:
        bearer = requests.post(f"{front.url}/mcp/c", json=init, timeout=10,
                               headers={**base, "Authorization": f"Bearer {TOKEN}"})
        assert (bearer.status_code, bearer.text) == (401, "authentication failure: no bearer token found")
        requests.post(f"{front.url}/mcp/c", json=init, timeout=10,
                      headers={**base, "Cookie": f"keep=1; mcp_token={TOKEN}"})
        assert front.seen_header("/mcp/c", "cookie") == [["keep=1"]]  # reached the MCP layer without the token
