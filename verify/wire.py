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
    """Yield the `data` payload of each SSE event (multi-line data joined with newlines)."""
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r")
        if line == "":
            if data:
                yield "\n".join(data)
            data = []
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
        # event:, id:, retry: and comment lines carry nothing we need
    if data:
        yield "\n".join(data)


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
