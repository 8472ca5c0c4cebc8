"""CEL string literals that agentgateway v1.4.1's CEL parser accepts for any string, and their exact inverse.

Why not `json.dumps`: it writes a character outside the Basic Multilingual Plane as a UTF-16 surrogate pair
(`"\\ud83d\\uddd1"`). agentgateway's parser decodes each `\\u` escape on its own with `char::from_u32`, which fails
for a surrogate (crates/cel-fork/cel/src/parser/parse.rs `parse_unicode_hex`, lines 361-372), so the expression
does not compile. A rule that does not compile is not rejected but replaced by one that always errors
(crates/agentgateway/src/cel/mod.rs `Expression::new_permissive`, lines 312-327; types/agent_xds.rs line 504: "We
do NOT want to NACK invalid CEL expressions"), and an erroring rule counts as no match: a Deny would never apply.

The literal written here is printable ASCII only, so the lexer's Unicode handling never matters: `"` and `\\` are
escaped with a backslash, other printable ASCII is written as is, and every other code point as `\\uXXXX` (BMP) or
`\\UXXXXXXXX` (beyond). Those are the escapes of the grammar (crates/cel-fork/cel/src/parser/gen/CEL.g4
ESC_CHAR_SEQ, ESC_UNI_SEQ; STRING excludes a raw newline and carriage return) that `parse_quoted_string` decodes.
"""
from __future__ import annotations

import re
from typing import Optional

_PRINTABLE_ASCII = range(0x20, 0x7F)
_SURROGATES = range(0xD800, 0xE000)
# A double-quoted literal as `cel_string` writes it (and nothing else: `parse_cel_string` re-encodes to check).
CEL_STRING = r'"(?:[ !#-\[\]-~]|\\["\\]|\\u[0-9a-f]{4}|\\U[0-9a-f]{8})*"'
_ESCAPE = re.compile(r'\\(["\\])|\\u([0-9a-f]{4})|\\U([0-9a-f]{8})')


def _escape(char: str) -> str:
    code = ord(char)
    if char in '"\\':
        return "\\" + char
    if code in _PRINTABLE_ASCII:
        return char
    if code in _SURROGATES:
        raise ValueError(f"{code:#06x} is a lone surrogate, not a character: no CEL string can hold it")
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def cel_string(value: str) -> str:
    """`value` as a double-quoted CEL string literal (printable ASCII; ValueError for a lone surrogate)."""
    return '"' + "".join(_escape(char) for char in value) + '"'


def parse_cel_string(literal: str) -> Optional[str]:
    """The string a literal written by `cel_string` holds; None for anything `cel_string` would not write."""
    if not re.fullmatch(CEL_STRING, literal):
        return None
    try:
        value = _ESCAPE.sub(lambda m: m.group(1) or chr(int(m.group(2) or m.group(3), 16)), literal[1:-1])
        return value if cel_string(value) == literal else None
    except ValueError:  # a surrogate or a code point beyond U+10FFFF
        return None
