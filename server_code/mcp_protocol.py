"""JSON-RPC 2.0 / MCP dispatch, independent of HTTP: a POSTed body in, a `Reply` out.

Speaks protocol revisions 2025-11-25, 2025-06-18, 2025-03-26 and 2024-11-05 (initialize handshake,
JSON replies, no SSE). Every bad input becomes a JSON-RPC error object, never an exception.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from mcp_config import Config
from mcp_schema import Tool, ToolError, compile_schema, json_type_name
from mcp_sessions import FULL, REVOKED, SessionTokens, session_fingerprint

SUPPORTED_PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
LATEST_PROTOCOL_VERSION = SUPPORTED_PROTOCOL_VERSIONS[0]

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

SESSION_HEADER = "Mcp-Session-Id"
VERSION_HEADER = "MCP-Protocol-Version"
SESSION_KEY = SESSION_HEADER.lower()  # header names arrive lower-cased (see mcp_http)
VERSION_KEY = VERSION_HEADER.lower()
DISCOVER_METHOD = "server/discover"

# A `\ud800`-`\udfff` escape in the body: only then can json.loads produce a lone surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


@dataclass
class Reply:
    """What to send back: HTTP status, JSON body (None = empty), extra headers, and fields for the log."""

    status: int
    body: Any = None
    headers: dict = field(default_factory=dict)
    log: dict = field(default_factory=dict)


def rpc_error(request_id: Any, code: int, message: str, data: Any = None) -> dict:
    """A JSON-RPC error response object."""
    error = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def error_reply(status: int, request_id: Any, code: int, message: str, data: Any = None,
                log: dict | None = None) -> Reply:
    """A Reply carrying a JSON-RPC error (the code is also logged)."""
    return Reply(status, rpc_error(request_id, code, message, data), log={**(log or {}), "rpc_error": code})


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _has_lone_surrogate(value: Any) -> bool:
    """True if any string (key or value) in the parsed JSON holds a lone surrogate (not encodable as UTF-8)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_message(body: bytes) -> Any:
    """The JSON value of a body, or an error Reply (-32700) saying why it is not JSON we can answer."""
    try:
        message = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return error_reply(400, None, PARSE_ERROR, f"Parse error: body is not valid UTF-8 ({exc.reason} "
                                                   f"at byte {exc.start})")
    except RecursionError:
        return error_reply(400, None, PARSE_ERROR, "Parse error: JSON nested too deeply")
    except ValueError as exc:
        detail = "empty body" if not body.strip() else str(exc)
        return error_reply(400, None, PARSE_ERROR, f"Parse error: {detail}")
    if _SURROGATE_ESCAPE.search(body) and _has_lone_surrogate(message):
        return error_reply(400, None, PARSE_ERROR, "Parse error: a string holds a lone UTF-16 surrogate escape "
                                                   "(\\ud800-\\udfff without its pair), which is not valid Unicode")
    return message


class McpApp:
    """The MCP endpoint's behaviour, independent of HTTP plumbing: POST and DELETE bodies in, `Reply` out."""

    def __init__(self, name: str, version: str, tools: Sequence[Tool], config: Config, tokens: SessionTokens):
        self.name = name
        self.version = version
        self.tools = list(tools)
        self.tools_by_name = {t.name: t for t in self.tools}
        self.validators = {t.name: compile_schema(t.input_schema) for t in self.tools}
        self.config = config
        self.tokens = tokens

    # --- transport-level entry points

    def handle_post(self, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one POSTed JSON-RPC message."""
        message = parse_message(body)
        if isinstance(message, Reply):
            return message
        problem = self._message_problem(message)
        if problem:
            request_id = message.get("id") if isinstance(message, dict) and _valid_id(message.get("id")) else None
            return error_reply(400, request_id, INVALID_REQUEST, f"Invalid Request: {problem}")
        method = message.get("method")
        request_id = message.get("id")
        log = {"rpc_method": method}

        if method == DISCOVER_METHOD and "id" in message:
            # The 2026-07-28 era's session-less probe: answer before the header and session checks, so a
            # dual-era client (sending MCP-Protocol-Version: 2026-07-28) sees "unknown method" and falls back.
            return error_reply(200, request_id, METHOD_NOT_FOUND, f"Method not found: {method}", log=log)

        version = headers.get(VERSION_KEY)
        if version is not None and version not in SUPPORTED_PROTOCOL_VERSIONS:
            return error_reply(400, request_id, INVALID_REQUEST,
                               f"Bad Request: unsupported {VERSION_HEADER} header {version!r}",
                               {"supported": list(SUPPORTED_PROTOCOL_VERSIONS)}, log=log)

        if method == "initialize" and "id" in message:
            reply = self._initialize(request_id, message.get("params"))
            reply.log.update(log)
            return reply

        session = headers.get(SESSION_KEY)
        if not session:
            reply = error_reply(400, request_id, INVALID_REQUEST,
                                f"Bad Request: missing {SESSION_HEADER} header; send initialize first")
        elif not self.tokens.is_valid(session):
            reply = error_reply(404, request_id, INVALID_REQUEST,
                                "Session not found (unknown, expired or deleted); send initialize again")
        elif method is None or "id" not in message:
            reply = Reply(202)  # a notification or a client's response: accepted, nothing to answer
        else:
            reply = self._dispatch(request_id, method, message.get("params"))
        reply.log = {**log, **reply.log}
        return reply

    def handle_delete(self, headers: Mapping[str, str]) -> Reply:
        """End the session named in the header (in this process; see SessionTokens)."""
        session = headers.get(SESSION_KEY)
        if not session:
            return error_reply(400, None, INVALID_REQUEST, f"Bad Request: missing {SESSION_HEADER} header")
        outcome = self.tokens.revoke(session)
        if outcome == FULL:
            reply = error_reply(503, None, INTERNAL_ERROR,
                                f"Service Unavailable: {self.tokens.MAX_REVOKED} revoked sessions are remembered "
                                "until they expire; the session stays valid, retry the DELETE later")
            reply.headers["Retry-After"] = str(self.tokens.retry_after_seconds())
            return reply
        if outcome != REVOKED:
            return error_reply(404, None, INVALID_REQUEST, "Session not found (unknown, expired or deleted)")
        return Reply(204)

    @staticmethod
    def _message_problem(message: Any) -> str | None:
        """Why `message` is not a single JSON-RPC 2.0 request, notification or response (None if it is)."""
        if isinstance(message, list):
            return "JSON arrays (batches) are not supported; send one JSON-RPC object per request"
        if not isinstance(message, dict):
            return f"body must be a JSON object, got {json_type_name(message)}"
        if message.get("jsonrpc") != "2.0":
            return 'member "jsonrpc" must be exactly "2.0"'
        if "method" in message:
            if not isinstance(message["method"], str) or not message["method"]:
                return 'member "method" must be a non-empty string'
            if "id" in message and not _valid_id(message["id"]):
                return 'member "id" must be a string or an integer (not null)'
            return None
        if "id" in message and ("result" in message or "error" in message):
            return None
        return 'a message needs "method" (request/notification) or "id" with "result"/"error" (response)'

    # --- methods

    def _dispatch(self, request_id: Any, method: str, params: Any) -> Reply:
        if params is None:
            params = {}
        if not isinstance(params, dict):
            return error_reply(200, request_id, INVALID_PARAMS, f"Invalid params: params of {method} must be "
                                                                f"an object, got {json_type_name(params)}")
        if method == "ping":
            return self._result(request_id, {})
        if method == "tools/list":
            return self._list_tools(request_id, params)
        if method == "tools/call":
            return self._call_tool(request_id, params)
        return error_reply(200, request_id, METHOD_NOT_FOUND, f"Method not found: {method[:200]}")

    @staticmethod
    def _result(request_id: Any, result: dict, **log: Any) -> Reply:
        return Reply(200, {"jsonrpc": "2.0", "id": request_id, "result": result}, log=log)

    def _initialize(self, request_id: Any, params: Any) -> Reply:
        if not isinstance(params, dict) or not isinstance(params.get("protocolVersion"), str):
            return error_reply(200, request_id, INVALID_PARAMS,
                               "Invalid params: initialize needs params.protocolVersion (a string)")
        requested = params["protocolVersion"]
        version = requested if requested in SUPPORTED_PROTOCOL_VERSIONS else LATEST_PROTOCOL_VERSION
        session = self.tokens.issue()
        reply = self._result(request_id, {
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": self.name, "version": self.version},
            "instructions": f"Mock {self.name} MCP server for tests: all data is synthetic and deterministic.",
        }, session=session_fingerprint(session), protocol_version=version)
        reply.headers[SESSION_HEADER] = session
        return reply

    def _list_tools(self, request_id: Any, params: dict) -> Reply:
        start = 0
        cursor = params.get("cursor")
        if cursor is not None:
            decoded = self._decode_cursor(cursor)
            if decoded is None:
                return error_reply(200, request_id, INVALID_PARAMS,
                                   f"Invalid params: unknown cursor {str(cursor)[:100]!r}")
            start = decoded
        end = start + self.config.page_size
        result: dict = {"tools": [t.listing() for t in self.tools[start:end]]}
        if end < len(self.tools):
            result["nextCursor"] = base64.urlsafe_b64encode(f"offset:{end}".encode()).decode()
        return self._result(request_id, result)

    def _decode_cursor(self, cursor: Any) -> int | None:
        if not isinstance(cursor, str):
            return None
        try:
            kind, _, offset = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
            start = int(offset)
        except ValueError:  # bad base64, bad UTF-8 or not a number
            return None
        return start if kind == "offset" and 0 < start < len(self.tools) else None

    def _call_tool(self, request_id: Any, params: dict) -> Reply:
        name = params.get("name")
        if not isinstance(name, str):
            return error_reply(200, request_id, INVALID_PARAMS, "Invalid params: params.name must be a string")
        log = {"tool": name[:100]}
        tool = self.tools_by_name.get(name)
        arguments = params.get("arguments", {})
        if tool is None:
            reply = error_reply(200, request_id, INVALID_PARAMS, f"Unknown tool: {name[:200]}")
        elif not isinstance(arguments, dict):
            reply = error_reply(200, request_id, INVALID_PARAMS,
                                f"Invalid params: arguments must be an object, got {json_type_name(arguments)}")
        elif errors := self.validators[name](arguments, ""):
            reply = self._result(request_id, _tool_error(f"Invalid arguments for tool {name}: " + "; ".join(errors)),
                                 tool_error="invalid_arguments")
        else:
            try:
                structured = tool.handler(arguments)
            except ToolError as exc:
                reply = self._result(request_id, _tool_error(str(exc)), tool_error="tool_error")
            else:
                text = _TEXT_JSON(structured)
                reply = self._result(request_id, {"content": [{"type": "text", "text": text}],
                                                  "structuredContent": structured, "isError": False})
        reply.log.update(log)
        return reply


_TEXT_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode  # the text block of a tool result


def _tool_error(message: str) -> dict:
    return {"content": [{"type": "text", "text": message}], "isError": True}
