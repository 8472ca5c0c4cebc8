"""The verifier's bearer tokens: read from an environment variable or a file, never from the command line.

A token is only ever put where the plan's `auth.location` says (default `Authorization: Bearer`; the
characters checked here are valid in a header value and in a cookie value alike). Messages name the variable or file, never the
value, and `redact` removes any token a peer might echo back from everything the verifier prints.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# RFC 6750 b64token: what a bearer token may contain (JWTs are base64url parts joined by dots).
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
MAX_TOKEN_BYTES = 16 * 1024
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
REDACTED = "[redacted]"


class CredentialError(ValueError):
    """A token source is missing, unreadable or holds something that is not a bearer token (exit code 2)."""


def _checked(token: str, source: str) -> str:
    token = token.strip()
    if not token:
        raise CredentialError(f"{source} is empty")
    if len(token) > MAX_TOKEN_BYTES:
        raise CredentialError(f"{source} holds more than {MAX_TOKEN_BYTES} bytes; not a bearer token")
    if not B64TOKEN.fullmatch(token):
        raise CredentialError(f"{source} is not a bearer token (RFC 6750 characters only: letters, digits, "
                              "'-._~+/', trailing '='); the value is not shown")
    return token


def token_from_env(name: str, option: str) -> str:
    """The token in environment variable `name` (named by `option` in messages)."""
    if not ENV_NAME.fullmatch(name):
        raise CredentialError(f"{option} {name!r}: not an environment variable name")
    if name not in os.environ:
        raise CredentialError(f"{option} {name}: the environment variable is not set")
    return _checked(os.environ[name], f"{option} {name}")


def token_from_file(path: str, option: str) -> str:
    """The token in file `path` (surrounding whitespace ignored)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_TOKEN_BYTES + 2)
    except OSError as exc:
        raise CredentialError(f"{option} {path!r}: cannot read ({exc.strerror or type(exc).__name__})") from None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise CredentialError(f"{option} {path!r} is not a bearer token (not ASCII); the value is not shown") from None
    return _checked(text, f"{option} {Path(path).name!r}")


@dataclass(frozen=True)
class Credentials:
    """The verifier's token (full access) and the optional restricted token (in none of the plan's groups)."""

    token: str | None = None
    restricted_token: str | None = None

    def __repr__(self) -> str:  # never show a token, even in a debugger or a traceback
        return (f"Credentials(token={'set' if self.token else None}, "
                f"restricted_token={'set' if self.restricted_token else None})")

    def redact(self, text: str) -> str:
        """`text` with every token, and every dot-separated part of one, replaced by [redacted]."""
        for secret in (self.token, self.restricted_token):
            if secret:
                for part in [secret] + [part for part in secret.split(".") if len(part) >= 8]:
                    text = text.replace(part, REDACTED)
        return text


NO_CREDENTIALS = Credentials()
