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
inject headers. The rules are components/token_location.py's, which the stack config applies too.
"""
from __future__ import annotations

from dataclasses import dataclass

from components.token_location import MAX_NAME, NAME_RULE, PREFIX_RULE, is_name, is_prefix, is_reserved_header

__all__ = ["BEARER", "MAX_NAME", "LocationError", "TokenLocation"]


class LocationError(ValueError):
    """A location that cannot be used; `key` is the bad key below `auth.location` (e.g. `header.prefix`; "" for
    the location itself)."""

    def __init__(self, key: str, detail: str):
        self.key, self.detail = key, detail
        super().__init__(f"'{'.'.join(filter(None, ('auth.location', key)))}' {detail}")


@dataclass(frozen=True)
class TokenLocation:
    """A header (`header`, with `prefix` before the token; None: no prefix, the whole value is the token) or a
    cookie (`cookie`): exactly one is set. Checked on construction, so no bad name or prefix ever reaches a
    request."""

    header: str | None = "Authorization"
    prefix: str | None = "Bearer "
    cookie: str | None = None

    def __post_init__(self) -> None:
        if (self.header is None) == (self.cookie is None):
            raise LocationError("", "must set exactly one of header | cookie")
        if self.cookie is not None:
            _check_name(self.cookie, "cookie.name", "an RFC 6265 cookie name")
            if self.prefix is not None:
                raise LocationError("cookie", "takes no prefix")
            return
        assert self.header is not None
        _check_name(self.header, "header.name", "an RFC 9110 header name")
        if is_reserved_header(self.header):
            raise LocationError("header.name", f"{self.header!r} is a header the verifier sets itself for MCP or "
                                               "HTTP framing; the token cannot go there")
        if self.prefix is not None and not is_prefix(self.prefix):
            raise LocationError("header.prefix", f"must be {PREFIX_RULE}, got {self.prefix!r}")

    def header_for(self, token: str) -> tuple[str, str]:
        """(header name, header value) carrying `token` here."""
        if self.cookie is not None:
            return "Cookie", f"{self.cookie}={token}"
        assert self.header is not None
        return self.header, f"{self.prefix or ''}{token}"

    def describe(self) -> str:
        """Where the token goes, for messages (never the token)."""
        if self.cookie is not None:
            return f"cookie {self.cookie}"
        return f"header {self.header}" + (f" with prefix {self.prefix!r}" if self.prefix else "")


def _check_name(value: object, key: str, what: str) -> None:
    if not is_name(value):
        raise LocationError(key, f"must be {what} ({NAME_RULE}), got {value!r}")


BEARER = TokenLocation()
