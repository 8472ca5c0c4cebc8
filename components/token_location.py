"""The rules a token location's names and prefix follow (`auth.location`), stated once for the stack config
(components/config/auth.py) and the verifier (verify/token_location.py): a location the config accepts is one the
verifier can send a token to. Standard library only, like components/tool_names.py, so the verifier imports it
without the program's dependencies.

A header name is an RFC 9110 section 5.6.2 `token`; a cookie name is an RFC 6265 section 4.1.1 `cookie-name`, which
is the same `token`. A prefix is written into a header line before the token: visible ASCII and spaces only, since
CR, LF or another control character would inject headers, and not starting with a space (HTTP strips a field
value's leading whitespace, so such a prefix could never match). HTAB is left out too: nothing gains from it.
"""
from __future__ import annotations

import re

TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # use fullmatch
PREFIX = re.compile(r"[\x21-\x7e][\x20-\x7e]*")     # use fullmatch
MAX_NAME = 256  # the CRD's maxLength for names and prefixes
NAME_RULE = f"1-{MAX_NAME} of letters, digits and !#$%&'*+-.^_`|~"
PREFIX_RULE = (f"1-{MAX_NAME} visible ASCII characters or spaces, not starting with a space (no control characters "
               "such as CR or LF)")
# Headers an MCP client (the verifier among them) sets itself for MCP and HTTP framing: a token there would replace
# or garble one of them.
RESERVED_HEADERS = frozenset(name.lower() for name in (
    "Accept", "Accept-Encoding", "Content-Type", "Content-Length", "Transfer-Encoding", "Connection", "Host",
    "User-Agent", "Mcp-Session-Id", "MCP-Protocol-Version"))


def is_name(value: object) -> bool:
    """Whether `value` can name the token's header or cookie (an RFC 9110 token of at most MAX_NAME characters)."""
    return isinstance(value, str) and len(value) <= MAX_NAME and TOKEN.fullmatch(value) is not None


def is_reserved_header(name: str) -> bool:
    """Whether `name` is one of RESERVED_HEADERS (header names ignore case)."""
    return name.lower() in RESERVED_HEADERS


def is_prefix(value: object) -> bool:
    """Whether `value` can stand before the token in its header (PREFIX_RULE)."""
    return isinstance(value, str) and len(value) <= MAX_NAME and PREFIX.fullmatch(value) is not None
