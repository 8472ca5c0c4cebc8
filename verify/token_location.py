"""Where the gateway reads the caller's token (the plan's `auth.location`), and the one header that puts it there.

agentgateway v1.4.1 (crates/agentgateway/src/http/auth/mod.rs `AuthorizationLocation::extract`,
crates/agentgateway/src/http/mod.rs `read_request_cookie`) reads the token from exactly one place:
- default: the `Authorization` header with prefix `Bearer `;
- `header {name, prefix}`: the first header of that name; with a prefix, the value must start with it (ASCII case
  ignored) and the rest is the token, otherwise there is no token; without a prefix the whole value is the token;
- `cookie {name}`: the first cookie of exactly that name across the `Cookie` headers.
A token anywhere else is not seen, so the verifier sends it there and only there. Names are checked against the
HTTP grammar before use (RFC 9110 token for a header name, RFC 6265 cookie-name for a cookie), and a prefix may
hold only visible ASCII and spaces: it is written into a header line, so CR, LF or another control character would
inject headers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# RFC 9110 section 5.6.2 `token` (header field names); RFC 6265 section 4.1.1 `cookie-name` is the same `token`.
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# A prefix: visible ASCII and spaces, not starting with a space (HTTP strips a field value's leading whitespace,
# so such a prefix could never match). HTAB is left out too: nothing gains from it.
PREFIX = re.compile(r"[\x21-\x7e][\x20-\x7e]*")
MAX_NAME = 256  # the CRD's maxLength for names and prefixes
# Headers the verifier sets itself for MCP and HTTP framing: a token there would replace or garble one of them.
RESERVED_HEADERS = frozenset(name.lower() for name in (
    "Accept", "Accept-Encoding", "Content-Type", "Content-Length", "Transfer-Encoding", "Connection", "Host",
    "User-Agent", "Mcp-Session-Id", "MCP-Protocol-Version"))


class LocationError(ValueError):
    """The plan's `auth.location` is malformed (the message names the key below `auth.location`)."""


@dataclass(frozen=True)
class TokenLocation:
    """A header (`header`, with `prefix` before the token) or a cookie (`cookie`): exactly one is set."""

    header: str | None = "Authorization"
    prefix: str = "Bearer "
    cookie: str | None = None

    def header_for(self, token: str) -> tuple[str, str]:
        """(header name, header value) carrying `token` here."""
        if self.cookie is not None:
            return "Cookie", f"{self.cookie}={token}"
        assert self.header is not None
        return self.header, f"{self.prefix}{token}"

    def describe(self) -> str:
        """Where the token goes, for messages (never the token)."""
        if self.cookie is not None:
            return f"cookie {self.cookie}"
        return f"header {self.header}" + (f" with prefix {self.prefix!r}" if self.prefix else "")


BEARER = TokenLocation()


def _keys(value: object, where: str, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        raise LocationError(f"'{where}' must be an object, got {value!r}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise LocationError(f"unknown key(s) {', '.join(map(repr, unknown))} in '{where}' (allowed: "
                            f"{', '.join(allowed)})")
    missing = [key for key in required if key not in value]
    if missing:
        raise LocationError(f"'{where}' must have {', '.join(map(repr, missing))}")
    return value


def _name(value: object, where: str, what: str) -> str:
    if not isinstance(value, str) or not TOKEN.fullmatch(value) or len(value) > MAX_NAME:
        raise LocationError(f"'{where}' must be {what} (1-{MAX_NAME} of letters, digits and !#$%&'*+-.^_`|~), "
                            f"got {value!r}")
    return value


def parse_location(value: object, where: str = "auth.location") -> TokenLocation:
    """The TokenLocation of a plan's `auth.location` object; LocationError names the bad key."""
    location = _keys(value, where, ("header", "cookie"), ())
    if len(location) != 1:
        raise LocationError(f"'{where}' must set exactly one of header | cookie, got {value!r}")
    if "cookie" in location:
        cookie = _keys(location["cookie"], f"{where}.cookie", ("name",), ("name",))
        return TokenLocation(header=None, prefix="", cookie=_name(cookie["name"], f"{where}.cookie.name",
                                                                   "an RFC 6265 cookie name"))
    header = _keys(location["header"], f"{where}.header", ("name", "prefix"), ("name",))
    name = _name(header["name"], f"{where}.header.name", "an RFC 9110 header name")
    if name.lower() in RESERVED_HEADERS:
        raise LocationError(f"'{where}.header.name' {name!r} is a header the verifier sets itself for MCP or HTTP "
                            "framing; the token cannot go there")
    if "prefix" not in header:  # no prefix: the whole header value is the token
        return TokenLocation(header=name, prefix="")
    prefix = header["prefix"]
    if not isinstance(prefix, str) or not PREFIX.fullmatch(prefix) or len(prefix) > MAX_NAME:
        raise LocationError(f"'{where}.header.prefix' must be 1-{MAX_NAME} visible ASCII characters or spaces, not "
                            f"starting with a space (no control characters such as CR or LF), got {prefix!r}")
    return TokenLocation(header=name, prefix=prefix)
