"""Bounded reading of a streamed `requests` reply: every read is capped in bytes and ends by a wall-clock time.

`requests`' own timeout is per socket operation, so a peer that drips one byte per second, or streams SSE
keep-alives forever, never trips it. Here each read takes at most one `recv` (urllib3 `read1`), the socket
timeout is shrunk to the time left before each read, and the byte count is checked as data arrives, so a
1 GB reply costs at most the cap in memory.
"""
from __future__ import annotations

import re
import socket
import time
from typing import Iterator

import requests
import urllib3

CHUNK = 64 * 1024
MAX_BODY_BYTES = 8 * 1024 * 1024  # a tools/list of an aggregated route with hundreds of tools fits easily
MAX_LINE_BYTES = MAX_BODY_BYTES   # one SSE `data:` line carries a whole JSON-RPC message
MAX_STREAM_BYTES = 16 * 1024 * 1024  # everything read from one SSE stream before its response
LINE_END = re.compile(rb"[\r\n]")


class ReadFailed(Exception):
    """The reply could not be read within its byte or time bounds (the message says which)."""


class ReplyTooLarge(ReadFailed):
    """The reply (or one SSE line) is larger than its cap."""


class ReadDeadline(ReadFailed):
    """The time for this request ran out while the reply was still arriving."""


def check_encoding(reply: requests.Response) -> None:
    """We ask for `Accept-Encoding: identity`; a compressed body could expand past any cap, so refuse it."""
    coding = (reply.headers.get("Content-Encoding") or "identity").strip().lower()
    if coding != "identity":
        raise ReadFailed(f"unexpected Content-Encoding {coding[:40]!r} (asked for identity)")


def _set_socket_timeout(reply: requests.Response, seconds: float) -> None:
    """Shrink the socket timeout to the time left (best effort: urllib3 exposes the connection's socket)."""
    sock = getattr(getattr(reply.raw, "connection", None), "sock", None)
    if isinstance(sock, socket.socket):
        try:
            sock.settimeout(max(0.01, seconds))
        except OSError:
            pass


def chunks(reply: requests.Response, stop_at: float, what: str) -> Iterator[bytes]:
    """The body as it arrives (one `recv` per chunk) until EOF; ReadDeadline at `stop_at` (time.monotonic)."""
    check_encoding(reply)
    while True:
        left = stop_at - time.monotonic()
        if left <= 0:
            raise ReadDeadline(f"{what}: the reply was still arriving when the time ran out")
        _set_socket_timeout(reply, left)
        try:
            data = reply.raw.read1(CHUNK, decode_content=False)
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            if time.monotonic() >= stop_at or isinstance(exc, (socket.timeout, urllib3.exceptions.TimeoutError)):
                raise ReadDeadline(f"{what}: the reply was still arriving when the time ran out") from None
            raise ReadFailed(f"{what}: reading the reply failed: {type(exc).__name__}") from None
        if not data:
            return
        yield data


def read_body(reply: requests.Response, stop_at: float, what: str, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, or ReplyTooLarge past `limit` bytes."""
    parts, size = [], 0
    for data in chunks(reply, stop_at, what):
        size += len(data)
        if size > limit:
            raise ReplyTooLarge(f"{what}: reply larger than {limit} bytes")
        parts.append(data)
    return b"".join(parts)


def read_text(reply: requests.Response, stop_at: float, what: str, limit: int = MAX_BODY_BYTES) -> str:
    """The body decoded as UTF-8 (undecodable bytes replaced: the text is parsed or quoted, never trusted)."""
    return read_body(reply, stop_at, what, limit).decode("utf-8", errors="replace")


def read_prefix(reply: requests.Response, stop_at: float, what: str, limit: int) -> str:
    """At most the first `limit` bytes of the body, decoded (for quoting an error reply; the rest is dropped)."""
    parts, size = [], 0
    for data in chunks(reply, stop_at, what):
        parts.append(data)
        size += len(data)
        if size >= limit:
            break
    return b"".join(parts)[:limit].decode("utf-8", errors="replace")


def lines(reply: requests.Response, stop_at: float, what: str, line_limit: int = MAX_LINE_BYTES,
          total_limit: int = MAX_STREAM_BYTES) -> Iterator[str]:
    """SSE lines with a cap per line and in total, split at CRLF, LF or a lone CR (the three line endings of the
    WHATWG HTML standard, "Server-sent events", event stream format)."""
    pending = bytearray()
    total = 0
    searched = 0  # bytes of `pending` already known to hold no line ending (each byte is scanned once)
    after_cr = False  # the last line ended with CR: an LF right after it belongs to that line ending
    for data in chunks(reply, stop_at, what):
        total += len(data)
        if total > total_limit:
            raise ReplyTooLarge(f"{what}: SSE stream sent more than {total_limit} bytes without our response")
        pending += data
        while True:
            if after_cr and pending:
                if pending[0] == 0x0A:
                    del pending[:1]
                after_cr = False
            found = LINE_END.search(pending, searched)
            if found is None:
                searched = len(pending)
                break
            end = found.start()
            if end > line_limit:
                raise ReplyTooLarge(f"{what}: SSE line longer than {line_limit} bytes")
            line = bytes(pending[:end])
            after_cr = pending[end] == 0x0D
            del pending[:end + 1]
            searched = 0
            yield line.decode("utf-8", errors="replace")
        if len(pending) > line_limit:
            raise ReplyTooLarge(f"{what}: SSE line longer than {line_limit} bytes")
    if pending:
        yield bytes(pending).decode("utf-8", errors="replace")
