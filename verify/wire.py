"""Read one JSON-RPC response out of a Streamable HTTP reply body (plain JSON or an SSE stream)."""
from __future__ import annotations

import json
from typing import Iterable, Iterator

JSON_TYPE = "application/json"
SSE_TYPE = "text/event-stream"


class ReplyFormatError(ValueError):
    """The body is not a JSON-RPC response to our request (wrong content type, bad JSON, no matching id)."""


def media_type(content_type: str | None) -> str:
    """`'text/event-stream; charset=utf-8'` -> `'text/event-stream'` (lower case, no parameters)."""
    return (content_type or "").split(";")[0].strip().lower()


def sse_data(lines: Iterable[str]) -> Iterator[str]:
    """Yield the `data` of each SSE `message` event that carries data (multi-line data joined with newlines).

    Parsed as the WHATWG HTML standard, "Server-sent events", section "Interpreting an event stream" says: one
    leading U+FEFF BOM is ignored; a line is `field: value` (one space after the colon dropped), `field` alone
    (empty value) or a `:` comment; a blank line ends the event; `data` lines append to the data buffer. Not
    passed on, as the MCP TypeScript SDK client does (modelcontextprotocol/typescript-sdk
    src/client/streamableHttp.ts `_handleSseStream`: "Skip events with no data (priming events, keep-alives)",
    then only `!event.event || event.event === 'message'`): an event whose data is empty, such as the priming
    event (`id: 0` + `data:`) a 2025-11-25 server sends first (SEP-1699), and an event with an explicit type
    other than `message` (e.g. `event: ping`). Lenient where the standard is strict: a last event without its
    blank line is still read (the standard discards it).
    """
    data: list[str] = []
    event_type = ""
    first = True
    for raw in lines:
        line = raw.rstrip("\r")  # verify/http_read.py `lines` splits at CR too; other callers may not
        if first:
            line, first = line.removeprefix("\ufeff"), False
        if line == "":
            if _is_message(data, event_type):
                yield "\n".join(data)
            data, event_type = [], ""
            continue
        if line.startswith(":"):
            continue  # a comment (keep-alive)
        field, colon, value = line.partition(":")
        value = value[1:] if colon and value.startswith(" ") else value
        if field == "data":
            data.append(value)
        elif field == "event":
            event_type = value
        # id and retry steer reconnection, which a one-request client does not do; other fields are ignored
    if _is_message(data, event_type):
        yield "\n".join(data)


def _is_message(data: list[str], event_type: str) -> bool:
    """An event to pass on: of type `message` (the default) and with some data."""
    return event_type in ("", "message") and any(data)


def is_response_to(message: object, request_id: object) -> bool:
    """True if `message` is a JSON-RPC response (result or error) whose id matches `request_id`.

    Ids are compared as strings because gateways may re-encode them.
    """
    if not isinstance(message, dict) or not ("result" in message or "error" in message):
        return False
    message_id = message.get("id")
    return isinstance(message_id, (int, str)) and not isinstance(message_id, bool) and \
        str(message_id) == str(request_id)


def response_from_sse(lines: Iterable[str], request_id: object) -> dict:
    """Scan SSE events until the response to `request_id` (notifications and other events are skipped)."""
    for payload in sse_data(lines):
        try:
            message = json.loads(payload)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser's stack
            raise ReplyFormatError(f"SSE event data is not JSON: {payload[:120]!r}") from None
        if is_response_to(message, request_id):
            return message
    raise ReplyFormatError(f"SSE stream ended without a response to request id {request_id}")


def response_from_json(text: str, request_id: object) -> dict:
    """Parse a plain JSON body; it must be the single JSON-RPC response to `request_id`."""
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        raise ReplyFormatError(f"body is not JSON: {text[:120]!r}") from None
    if not is_response_to(message, request_id):
        raise ReplyFormatError(f"body is not a JSON-RPC response to request id {request_id}: {text[:120]!r}")
    return message
