"""HTTP/1.1 request framing (RFC 9112) as a pure parser: bytes in, complete requests out, no sockets.

Modelled on h11 (python-hyper/h11), our own code: the grammar is stated once below as ABNF-like patterns
(h11/_abnf.py), the reader keeps one explicit state (h11/_connection.py, h11/_state.py), and heads and
chunked bodies are read incrementally (h11/_readers.py, h11/_receivebuffer.py): the search for a head's end or a
chunk line resumes where the previous read stopped, however the bytes are split across reads. Strict where a lenient reading lets two parsers disagree about where a
request ends (request smuggling): a request with both Content-Length and Transfer-Encoding, duplicate framing
headers, a final coding other than chunked, sloppy chunk sizes or a bare LF inside a CRLF head is refused and
the connection closed (HttpError).
"""
from __future__ import annotations

import enum
import re
from functools import lru_cache
from http import HTTPStatus
from types import MappingProxyType
from typing import Mapping, NamedTuple

# --- grammar (RFC 9110 §5.6, RFC 9112 §3, §5, §7.1): each rule once, composed below

# Possessive quantifiers (*+, ++): nothing here needs backtracking, and the matcher is faster without it.
OWS = rb"[ \t]*+"
TOKEN = rb"[-!#$%&'*+.^_`|~0-9A-Za-z]++"
FIELD_VCHAR = rb"[\x21-\x7e\x80-\xff]"                       # VCHAR / obs-text
FIELD_CONTENT = FIELD_VCHAR + rb"++(?:[ \t]++" + FIELD_VCHAR + rb"++)*+"
FIELD_LINE = rb"(?P<name>" + TOKEN + rb"):" + OWS + rb"(?P<value>" + FIELD_CONTENT + rb")?+" + OWS
METHOD = TOKEN
REQUEST_TARGET = rb"[\x21-\x7e]+"                             # any form; routing looks at the path only
HTTP_VERSION = rb"HTTP/(?P<version>[0-9]\.[0-9])"
REQUEST_LINE = rb"(?P<method>" + METHOD + rb") (?P<target>" + REQUEST_TARGET + rb") " + HTTP_VERSION
QUOTED_STRING = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
CHUNK_EXT = rb"(?:" + OWS + rb";" + OWS + TOKEN + rb"(?:" + OWS + rb"=" + OWS + rb"(?:" + TOKEN + rb"|" \
    + QUOTED_STRING + rb"))?)*"
CHUNK_SIZE = rb"[0-9A-Fa-f]+"                                 # hex digits only: no 0x, sign, _ or space
CHUNK_LINE = rb"(?P<size>" + CHUNK_SIZE + rb")" + CHUNK_EXT
CONTENT_LENGTH = rb"[0-9]+"                                   # ASCII digits only

# A head is decoded as latin-1 (one byte, one character) and matched as text: the same grammar, and header names
# and values come out as str without a decode per field.
_REQUEST_LINE = re.compile(REQUEST_LINE.decode("latin-1"))
_FIELD_LINE = re.compile(FIELD_LINE.decode("latin-1"))
_FIELD_LINE_ENDING = {sep: re.compile(FIELD_LINE.decode("latin-1") + sep) for sep in ("\r\n", "\n")}  # one
_FIELD_LINES = {sep: re.compile("(?:" + FIELD_LINE.decode("latin-1") + sep + ")*+") for sep in ("\r\n", "\n")}
_CHUNK_LINE = re.compile(CHUNK_LINE)
_CONTENT_LENGTH = re.compile(CONTENT_LENGTH.decode())  # matched against the decoded field value
_HEAD_END = re.compile(rb"\n\r?\n")  # the empty line after the last field line (CRLF or, hand-typed, LF)

MAX_HEADER_BYTES = 64 * 1024      # request line and fields
MAX_CHUNK_META_BYTES = 4 * 1024   # chunk extensions and trailer fields (with their CRLFs), per body
MAX_CHUNK_SIZE_DIGITS = 64        # hex digits of one chunk size, leading zeros included
CHUNKS_PER_BODY_BYTES = 16        # a body may have max_body_bytes // 16 + EXTRA_CHUNKS chunks: framing work stays
EXTRA_CHUNKS = 64                 # proportional to the body limit however small the chunks are
MAX_LENGTH_DIGITS = 18            # a Content-Length this long is over any limit anyway; int() stays cheap
MAX_LEADING_EMPTY_LINES = 8       # CRLFs tolerated before a request line (RFC 9112 §2.2)
_KEEP_ALIVE_BY_DEFAULT = {"1.1": True, "1.0": False}
_CR_LF = b"\r\n"


class HttpError(Exception):
    """A request that cannot be framed or read: answered with `status`, then the connection is closed."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class RequestHead(NamedTuple):
    """The request line and headers (lower-case names, read-only) of one HTTP request."""

    method: str
    target: str
    headers: Mapping[str, str]
    keep_alive: bool
    http11: bool

    @property
    def path(self) -> str:
        """The target's path: origin-form as sent; absolute-form (`http://host/mcp`), which a server MUST accept
        (RFC 9112 §3.2.2), reduced to its path ('/' when it has none)."""
        target = self.target
        if target[:8].lower().startswith(("http://", "https://")):
            target = "/" + target.split("://", 1)[1].partition("/")[2]
        return target.split("?", 1)[0]

    @property
    def expects_continue(self) -> bool:
        return self.http11 and self.headers.get("expect", "").lower() == "100-continue"


class ReaderState(enum.Enum):
    """Where the reader is in the current request."""

    HEAD = "head"                  # waiting for the request line and fields
    BODY = "body"                  # reading a Content-Length body
    CHUNK_LINE = "chunk line"      # chunked: waiting for a chunk-size line
    CHUNK_DATA = "chunk data"      # chunked: inside a chunk's data
    CHUNK_END = "chunk end"        # chunked: the CRLF after a chunk's data
    TRAILER = "trailer"            # chunked: trailer fields up to the empty line


class RequestReader:
    """Turns the bytes of one connection into complete requests (`feed`, then `next_request` until None).

    Memory: `held_bytes` is what it buffers now, `promised_bytes` what an announced Content-Length body still
    needs; the event loop charges both to the server's memory budget.
    """

    def __init__(self, max_body_bytes: int):
        self.max_body_bytes = max_body_bytes
        self.state = ReaderState.HEAD
        self.head: RequestHead | None = None
        self._buf = bytearray()
        self._scanned = 0            # bytes of _buf already searched for the end of the head or of a line
        self._empty_lines = 0        # CRLFs received before this request's request line
        self._remaining = 0          # BODY / CHUNK_DATA: bytes of the body (or chunk) still to come
        self._body = bytearray()     # chunked: the decoded data so far
        self._meta = 0               # chunked: bytes of chunk extensions and trailers so far
        self._chunks = 0             # chunked: chunk-size lines so far
        self.max_chunks = max_body_bytes // CHUNKS_PER_BODY_BYTES + EXTRA_CHUNKS

    @property
    def held_bytes(self) -> int:
        return len(self._buf) + len(self._body)

    @property
    def promised_bytes(self) -> int:
        return max(0, self._remaining - len(self._buf)) if self.state is ReaderState.BODY else 0

    @property
    def idle(self) -> bool:
        """True between requests (nothing of the next one has arrived)."""
        return self.state is ReaderState.HEAD and not self._buf

    @property
    def waiting_for_body(self) -> bool:
        return self.state is not ReaderState.HEAD

    def feed(self, data: bytes) -> None:
        """Append bytes as they arrive."""
        self._buf += data

    def clear(self) -> None:
        """Drop everything buffered and promised (the connection is being closed)."""
        self._buf.clear()
        self._body.clear()
        self.state, self._remaining = ReaderState.HEAD, 0

    def next_request(self) -> tuple[RequestHead, bytes] | None:
        """The next complete request (head, body) from the buffer, or None while it is still arriving.
        Raises HttpError for a request that cannot be framed; the reader is then unusable."""
        if self.state is ReaderState.HEAD:
            head = self._read_head()
            if head is None:
                return None
            self.head = head
            length = body_length(head, self.max_body_bytes)
            if length is None:
                self.state, self._meta, self._chunks = ReaderState.CHUNK_LINE, 0, 0
            else:
                self.state, self._remaining = ReaderState.BODY, length
        if self.state is ReaderState.BODY:
            if len(self._buf) < self._remaining:
                return None
            body = bytes(self._buf[:self._remaining])
            del self._buf[:self._remaining]  # deleting a bytearray's front is O(1) amortized in CPython
        else:
            if not self._read_chunked():
                return None
            body = bytes(self._body)
            self._body.clear()
        head, self.head = self.head, None
        assert head is not None  # set when the head was read, before any body state
        self.state, self._remaining, self._scanned, self._empty_lines = ReaderState.HEAD, 0, 0, 0
        return head, body

    # --- head

    def _read_head(self) -> RequestHead | None:
        buf = self._buf
        if buf[:1] and buf[0] in _CR_LF and not self._skip_empty_lines():
            return None
        end = _HEAD_END.search(buf, max(0, self._scanned - 2))
        if end is None:
            if len(buf) > MAX_HEADER_BYTES:
                raise HttpError(431, f"Request Header Fields Too Large: more than {MAX_HEADER_BYTES} bytes")
            self._scanned = len(buf)
            return None
        if end.start() > MAX_HEADER_BYTES:
            raise HttpError(431, f"Request Header Fields Too Large: more than {MAX_HEADER_BYTES} bytes")
        raw = bytes(buf[:end.start() + 1])
        del buf[:end.end()]
        self._scanned = 0
        return parse_head(raw)

    def _skip_empty_lines(self) -> bool:
        """Drop the empty lines before a request line (RFC 9112 §2.2); False while one is incomplete."""
        buf = self._buf
        while buf[:1] in (b"\n", b"\r") and (buf[:2] == b"\r\n" or buf[:1] == b"\n"):
            del buf[:2 if buf[:1] == b"\r" else 1]
            self._empty_lines += 1
            if self._empty_lines > MAX_LEADING_EMPTY_LINES:
                raise HttpError(400, "Bad Request: empty lines instead of a request line")
        return buf != b"\r"  # the start of an empty line

    # --- chunked body (RFC 9112 §7.1)

    def _read_chunked(self) -> bool:
        """Advance through the chunked body; True once it is complete (trailers read)."""
        buf = self._buf
        while True:
            if self.state is ReaderState.CHUNK_DATA:
                take = min(self._remaining, len(buf))
                self._body += buf[:take]
                del buf[:take]
                self._remaining -= take
                if self._remaining:
                    return False
                self.state = ReaderState.CHUNK_END
            elif self.state is ReaderState.CHUNK_END:
                if len(buf) < 2:
                    if buf[:1] not in (b"", b"\r"):
                        raise HttpError(400, "Bad Request: chunk data not followed by CRLF")
                    return False
                if buf[:2] != b"\r\n":
                    raise HttpError(400, "Bad Request: chunk data not followed by CRLF")
                del buf[:2]
                self.state = ReaderState.CHUNK_LINE
            elif self.state is ReaderState.TRAILER:
                line = self._chunk_meta_line(MAX_CHUNK_META_BYTES - self._meta)
                if line is None:
                    return False
                self._meta += len(line) + 2
                if not line:
                    return True
                if not _FIELD_LINE.fullmatch(line.decode("latin-1")):
                    raise HttpError(400, f"Bad Request: malformed trailer field {_show(line)}")
            else:  # CHUNK_LINE
                line = self._chunk_meta_line(MAX_CHUNK_SIZE_DIGITS + MAX_CHUNK_META_BYTES - self._meta)
                if line is None:
                    return False
                match = _CHUNK_LINE.fullmatch(line)
                if match is None:
                    raise HttpError(400, f"Bad Request: malformed chunk-size line {_show(line)} "
                                         "(hex digits, optionally ;extensions)")
                digits = match.group("size")
                if len(digits) > MAX_CHUNK_SIZE_DIGITS:
                    raise HttpError(400, f"Bad Request: chunk size of more than {MAX_CHUNK_SIZE_DIGITS} hex digits")
                self._meta += len(line) - len(digits)  # only the extensions count against MAX_CHUNK_META_BYTES
                self._chunks += 1
                if self._meta > MAX_CHUNK_META_BYTES:
                    raise HttpError(400, f"Bad Request: {_META_TOO_LONG}")
                if self._chunks > self.max_chunks:
                    raise HttpError(400, f"Bad Request: more than {self.max_chunks} chunks in one body (at most "
                                         f"one per {CHUNKS_PER_BODY_BYTES} bytes of MCP_MAX_BODY_BYTES, plus "
                                         f"{EXTRA_CHUNKS})")
                size = _hex_size(digits)
                if len(self._body) + size > self.max_body_bytes:
                    raise HttpError(413, f"Payload Too Large: body exceeds the limit of {self.max_body_bytes} "
                                         "bytes (MCP_MAX_BODY_BYTES)")
                self._remaining = size
                self.state = ReaderState.CHUNK_DATA if size else ReaderState.TRAILER

    def _chunk_meta_line(self, longest: int) -> bytes | None:
        """The next CRLF-terminated line (without CRLF) of at most `longest` bytes; None if incomplete."""
        buf = self._buf
        end = buf.find(b"\r\n", max(0, self._scanned - 1), longest + 2)
        if end < 0:
            if len(buf) >= longest + 2:
                raise HttpError(400, f"Bad Request: {_META_TOO_LONG}")
            self._scanned = len(buf)
            return None
        self._scanned = 0
        line = bytes(buf[:end])
        if b"\n" in line or b"\r" in line:
            raise HttpError(400, "Bad Request: bare CR or LF in a chunked body's framing")
        del buf[:end + 2]
        return line


_META_TOO_LONG = (f"chunk extensions and trailers exceed {MAX_CHUNK_META_BYTES} bytes (or a chunk size has more "
                  f"than {MAX_CHUNK_SIZE_DIGITS} hex digits)")


def _hex_size(digits: bytes) -> int:
    digits = digits.lstrip(b"0")
    if len(digits) > 16:
        return 1 << 64  # over any limit
    return int(digits or b"0", 16)


def _show(raw: bytes) -> str:
    return repr(raw[:100].decode("latin-1"))


def parse_head(raw: bytes) -> RequestHead:
    """Parse a request head: the request line and field lines, each ending in CRLF (or, hand-typed, all in LF),
    without the empty line. HttpError if any line breaks the grammar."""
    text = raw.decode("latin-1")
    line_end = text.find("\n")
    sep = "\r\n" if line_end > 0 and text[line_end - 1] == "\r" else "\n"
    request_line = _REQUEST_LINE.fullmatch(text, 0, line_end + 1 - len(sep))
    if request_line is None:
        raise HttpError(400, f"Bad Request: malformed request line {text[:min(line_end, 100)]!r}")
    method, target, version = request_line.group("method", "target", "version")
    keep_alive = _KEEP_ALIVE_BY_DEFAULT.get(version)
    if keep_alive is None:
        raise HttpError(505, f"HTTP Version Not Supported: HTTP/{version}; use HTTP/1.1")
    fields = text[line_end + 1:]
    if not _FIELD_LINES[sep].fullmatch(fields):  # the whole block at once; a bad line is looked for only now
        raise _field_error(fields, sep)
    lines = _FIELD_LINE_ENDING[sep].findall(fields)
    headers = {name.lower(): value for name, value in reversed(lines)}  # reversed: the first of a repeated name wins
    if len(headers) < len(lines):
        _check_repeated(lines)
    connection = headers.get("connection", "").lower()
    if "close" in connection:
        keep_alive = False
    elif "keep-alive" in connection:
        keep_alive = True
    return RequestHead(method.upper(), target, MappingProxyType(headers), keep_alive, version == "1.1")


def _check_repeated(lines: list[tuple[str, str]]) -> None:
    """A repeated framing header is an error (two parsers could pick different ones); others: the first counts."""
    names = [name.lower() for name, _ in lines]
    for key in ("content-length", "transfer-encoding"):
        if names.count(key) > 1:
            raise HttpError(400, f"Bad Request: more than one {key} header")


def _field_error(fields: str, sep: str) -> HttpError:
    """The error naming the first field line of `fields` that breaks the grammar."""
    for line in fields.split(sep):
        if "\n" in line:
            return HttpError(400, f"Bad Request: bare LF in the line {line[:100]!r} (lines end in CRLF)")
        if "\r" in line:
            return HttpError(400, f"Bad Request: bare CR in the line {line[:100]!r}")
        if not _FIELD_LINE.fullmatch(line):
            return HttpError(400, f"Bad Request: malformed header line {line[:100]!r}")
    return HttpError(400, "Bad Request: malformed header section")


def body_length(head: RequestHead, limit: int) -> int | None:
    """The Content-Length to read (0 without a body), or None for a chunked body (RFC 9112 §6.3); HttpError
    if the framing is ambiguous or unacceptable."""
    encoding = head.headers.get("transfer-encoding")
    length = head.headers.get("content-length")
    if encoding is not None:
        if length is not None:
            raise HttpError(400, "Bad Request: both Content-Length and Transfer-Encoding (ambiguous framing)")
        if not head.http11:
            raise HttpError(400, "Bad Request: Transfer-Encoding in an HTTP/1.0 request")
        codings = [coding.strip().lower() for coding in encoding.split(",")]
        if codings[-1] != "chunked" or codings.count("chunked") > 1:
            raise HttpError(400, f"Bad Request: chunked must be the final transfer coding, and only once; got "
                                 f"{encoding[:100]!r}")
        if len(codings) > 1:
            raise HttpError(501, f"Not Implemented: transfer coding {encoding[:100]!r}; only chunked is supported")
        return None
    if length is None:
        if head.method == "POST":
            raise HttpError(411, "Length Required: send Content-Length (or Transfer-Encoding: chunked)")
        return 0
    if not _CONTENT_LENGTH.fullmatch(length):
        raise HttpError(400, f"Bad Request: invalid Content-Length {length[:40]!r} (ASCII digits only)")
    value = int(length) if len(length) <= MAX_LENGTH_DIGITS else limit + 1
    if value > limit:
        raise HttpError(413, f"Payload Too Large: body of {length[:40]} bytes exceeds the limit of {limit} bytes "
                             "(MCP_MAX_BODY_BYTES)")
    return value


_REASONS = {status.value: status.phrase for status in HTTPStatus}


@lru_cache(maxsize=64)  # a few dozen statuses at most; the lines hold nothing from a request
def _head_start(status: int, content_type: bool) -> str:
    """The status line and the fixed headers of a reply, built once per (status, content type)."""
    start = f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\nServer: mcp-mock/2\r\n"
    return start + "Content-Type: application/json\r\n" if content_type else start


def format_response(status: int, body: bytes, headers: Mapping[str, str], keep_alive: bool, http11: bool,
                    content_type: bool, send_body: bool = True) -> bytes:
    """Status line, headers and body as one buffer (sent with one write).

    The fixed part comes from _head_start, the rest is appended: about 3.4 -> 1.4 us per reply on the shared box."""
    head = f"{_head_start(status, content_type)}Content-Length: {len(body)}\r\n"
    for name, value in headers.items():
        head += f"{name}: {value}\r\n"
    if not keep_alive:
        head += "Connection: close\r\n"
    elif not http11:
        head += "Connection: keep-alive\r\n"
    data = (head + "\r\n").encode("latin-1")
    return data + body if send_body else data
