"""Shared core of the mock MCP servers: MCP Streamable HTTP, legacy era, standard library only.

Speaks protocol revisions 2025-11-25, 2025-06-18, 2025-03-26 and 2024-11-05 (initialize handshake,
JSON replies, no SSE). A server file defines its `TOOLS` (a list of `Tool`) and calls `run(...)`;
importing this module has no side effects (no env reads, no sockets, no threads).

Sections: configuration (env), tool model and argument validation, signed session tokens,
the JSON-RPC/MCP dispatcher (transport independent), the HTTP handler, and `run`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping, Sequence

SUPPORTED_PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
LATEST_PROTOCOL_VERSION = SUPPORTED_PROTOCOL_VERSIONS[0]

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
SESSION_HEADER = "Mcp-Session-Id"
VERSION_HEADER = "MCP-Protocol-Version"
DISCOVER_METHOD = "server/discover"


# --------------------------------------------------------------------------- configuration

class ConfigError(ValueError):
    """A bad environment value; the message names the variable."""


@dataclass(frozen=True)
class Config:
    """Run-time settings, read from the environment by `Config.from_env`."""

    port: int = 8080
    session_key: bytes | None = None          # None: a random key per process
    allowed_origins: frozenset = frozenset()   # browser Origins allowed to call /mcp
    max_body_bytes: int = 1024 * 1024
    page_size: int = 100
    session_ttl_seconds: int = 24 * 3600
    read_timeout_seconds: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Config":
        """Parse PORT and the MCP_* variables; raise ConfigError naming the first bad one."""
        key = env.get("MCP_SESSION_KEY")
        if key is not None and len(key) < 16:
            raise ConfigError("MCP_SESSION_KEY must be at least 16 characters long "
                              f"(got {len(key)}); leave it unset for a random per-process key")
        origins = env.get("MCP_ALLOWED_ORIGINS", "")
        return cls(
            port=_int_env(env, "PORT", cls.port, 1, 65535),
            session_key=key.encode() if key is not None else None,
            allowed_origins=frozenset(o.strip().rstrip("/") for o in origins.split(",") if o.strip()),
            max_body_bytes=_int_env(env, "MCP_MAX_BODY_BYTES", cls.max_body_bytes, 64, 1 << 30),
            page_size=_int_env(env, "MCP_PAGE_SIZE", cls.page_size, 1, 10_000),
            session_ttl_seconds=_int_env(env, "MCP_SESSION_TTL_SECONDS", cls.session_ttl_seconds,
                                         1, 365 * 24 * 3600),
            read_timeout_seconds=_float_env(env, "MCP_READ_TIMEOUT_SECONDS", cls.read_timeout_seconds,
                                            0.1, 3600.0),
        )


def _int_env(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be an integer between {low} and {high}, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _float_env(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds between {low} and {high}, got {raw!r}") from None
    if not low <= value <= high:  # also rejects nan
        raise ConfigError(f"{name} must be between {low} and {high} seconds, got {raw.strip()}")
    return value


# --------------------------------------------------------------------------- tools

class ToolError(Exception):
    """Raised by a tool handler for a business-logic failure; becomes a result with isError: true."""


@dataclass(frozen=True)
class Tool:
    """One MCP tool: its catalog entry plus the handler that turns arguments into structured content."""

    name: str
    description: str
    input_schema: dict
    handler: Callable[[dict], dict] = field(repr=False, compare=False)
    dangerous: bool = False
    read_only: bool = False

    def listing(self) -> dict:
        """The tool as it appears in a tools/list result."""
        return {
            "name": self.name,
            "description": self.description,
            "inputSchema": self.input_schema,
            "annotations": {"readOnlyHint": self.read_only, "destructiveHint": self.dangerous},
        }


_PY_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _has_json_type(value: Any, json_type: str) -> bool:
    if isinstance(value, bool):
        return json_type == "boolean"
    if json_type == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if json_type == "number":
        return isinstance(value, (int, float))
    return isinstance(value, _PY_TYPES[json_type])


def _json_type_name(value: Any) -> str:
    for name in ("boolean", "integer", "number", "string", "array", "object", "null"):
        if _has_json_type(value, name):
            return name
    return type(value).__name__


def schema_errors(value: Any, schema: dict, where: str = "") -> list[str]:
    """Check `value` against the JSON Schema subset the catalogs use; return messages naming each bad argument.

    Supported keywords: type, enum, properties, required, additionalProperties (bool), items,
    minLength, maxLength, pattern, minimum, maximum, minItems, maxItems.
    """
    label = f"argument '{where}'" if where else "arguments"
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(_has_json_type(value, t) for t in types):
            return [f"{label} must be of type {' or '.join(types)}, got {_json_type_name(value)}"]
    errors: list[str] = []
    if "enum" in schema and not any(_json_type_name(value) == _json_type_name(e) and value == e
                                    for e in schema["enum"]):
        errors.append(f"{label} must be one of {json.dumps(schema['enum'])}, got {json.dumps(value)}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{label} must be at least {schema['minLength']} characters long")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{label} must be at most {schema['maxLength']} characters long")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{label} must match the pattern {schema['pattern']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{label} must be >= {schema['minimum']}, got {value}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{label} must be <= {schema['maximum']}, got {value}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{label} must have at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{label} must have at most {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                errors += schema_errors(item, schema["items"], f"{where}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        prefix = f"{where}." if where else ""
        errors += [f"missing required argument '{prefix}{k}'" for k in schema.get("required", ()) if k not in value]
        for key, item in value.items():
            if key in props:
                errors += schema_errors(item, props[key], prefix + key)
            elif schema.get("additionalProperties", True) is False:
                errors.append(f"unexpected argument '{prefix}{key}'")
    return errors


def stable_int(*parts: Any, upper: int) -> int:
    """A deterministic pseudo-random integer in [0, upper) derived from `parts` (mock data generator)."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "big") % upper


# --------------------------------------------------------------------------- sessions

class SessionTokens:
    """Stateless session ids: `v1.<issued hex>.<nonce>.<HMAC-SHA256>` signed with a shared key.

    Any process holding the same key (and serving the same `audience`, i.e. server name) accepts a
    token until it expires. Revocation (DELETE) is recorded only in this process: other replicas keep
    accepting a deleted token until its TTL runs out.
    """

    MAX_CLOCK_SKEW = 300  # seconds a token's issue time may lie in the future (replica clocks differ)
    MAX_REVOKED = 100_000

    def __init__(self, key: bytes, audience: str, ttl_seconds: int, clock: Callable[[], float] = time.time):
        self._key = key
        self._audience = audience
        self._ttl = ttl_seconds
        self._clock = clock
        self._revoked: dict[str, float] = {}   # token -> time after which it expires anyway
        self._lock = threading.Lock()

    def _mac(self, issued: str, nonce: str) -> str:
        message = f"mcp-session/v1/{self._audience}/{issued}/{nonce}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def issue(self, issued_at: float | None = None) -> str:
        """A new session id (visible ASCII only)."""
        issued = format(int(self._clock() if issued_at is None else issued_at), "x")
        nonce = secrets.token_hex(16)
        return f"v1.{issued}.{nonce}.{self._mac(issued, nonce)}"

    def _expiry(self, token: str) -> float | None:
        """The token's expiry time if it is well-formed, correctly signed and not expired, else None."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != "v1" or len(token) > 200:
            return None
        _, issued, nonce, mac = parts
        if not hmac.compare_digest(mac, self._mac(issued, nonce)):
            return None
        issued_at = int(issued, 16)  # the MAC proves we wrote it, so it is valid hex
        now = self._clock()
        if issued_at > now + self.MAX_CLOCK_SKEW or now >= issued_at + self._ttl:
            return None
        return issued_at + self._ttl

    def is_valid(self, token: str) -> bool:
        """True if the token is signed by our key, unexpired and not revoked here."""
        if self._expiry(token) is None:
            return False
        with self._lock:
            return token not in self._revoked

    def revoke(self, token: str) -> bool:
        """End a session in this process; False if the token was not valid (unknown, expired, revoked)."""
        expiry = self._expiry(token)
        if expiry is None:
            return False
        with self._lock:
            if token in self._revoked:
                return False
            if len(self._revoked) >= self.MAX_REVOKED:
                now = self._clock()
                self._revoked = {t: e for t, e in self._revoked.items() if e > now}
                while len(self._revoked) >= self.MAX_REVOKED:  # still full: forget the soonest to expire
                    del self._revoked[min(self._revoked, key=self._revoked.__getitem__)]
            self._revoked[token] = expiry
            return True


def session_fingerprint(token: str | None) -> str | None:
    """A short, non-secret tag for a session id, for logs (the id itself is a bearer credential)."""
    return hashlib.sha256(token.encode()).hexdigest()[:12] if token else None


# --------------------------------------------------------------------------- JSON-RPC / MCP dispatcher

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


def _error_reply(status: int, request_id: Any, code: int, message: str, data: Any = None,
                 log: dict | None = None) -> Reply:
    return Reply(status, rpc_error(request_id, code, message, data), log={**(log or {}), "rpc_error": code})


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


class McpApp:
    """The MCP endpoint's behaviour, independent of HTTP plumbing: POST and DELETE bodies in, `Reply` out."""

    def __init__(self, name: str, version: str, tools: Sequence[Tool], config: Config, tokens: SessionTokens):
        self.name = name
        self.version = version
        self.tools = list(tools)
        self.tools_by_name = {t.name: t for t in self.tools}
        self.config = config
        self.tokens = tokens

    # --- transport-level entry points

    def handle_post(self, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one POSTed JSON-RPC message."""
        try:
            message = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            return _error_reply(400, None, PARSE_ERROR, f"Parse error: body is not valid UTF-8 ({exc.reason} "
                                                        f"at byte {exc.start})")
        except ValueError as exc:
            detail = "empty body" if not body.strip() else str(exc)
            return _error_reply(400, None, PARSE_ERROR, f"Parse error: {detail}")
        problem = self._message_problem(message)
        if problem:
            request_id = message.get("id") if isinstance(message, dict) and _valid_id(message.get("id")) else None
            return _error_reply(400, request_id, INVALID_REQUEST, f"Invalid Request: {problem}")
        method = message.get("method")
        request_id = message.get("id")
        log = {"rpc_method": method}

        if method == DISCOVER_METHOD and "id" in message:
            # The 2026-07-28 era's session-less probe: answer before the header and session checks, so a
            # dual-era client (sending MCP-Protocol-Version: 2026-07-28) sees "unknown method" and falls back.
            return _error_reply(200, request_id, METHOD_NOT_FOUND, f"Method not found: {method}", log=log)

        version = headers.get(VERSION_HEADER)
        if version is not None and version not in SUPPORTED_PROTOCOL_VERSIONS:
            reply = _error_reply(400, request_id, INVALID_REQUEST,
                                 f"Bad Request: unsupported {VERSION_HEADER} header {version!r}",
                                 {"supported": list(SUPPORTED_PROTOCOL_VERSIONS)})
            reply.log.update(log)
            return reply

        if method == "initialize" and "id" in message:
            reply = self._initialize(request_id, message.get("params"))
            reply.log.update(log)
            return reply

        session = headers.get(SESSION_HEADER)
        if not session:
            reply = _error_reply(400, request_id, INVALID_REQUEST,
                                 f"Bad Request: missing {SESSION_HEADER} header; send initialize first")
        elif not self.tokens.is_valid(session):
            reply = _error_reply(404, request_id, INVALID_REQUEST,
                                 "Session not found (unknown, expired or deleted); send initialize again")
        elif method is None or "id" not in message:
            reply = Reply(202)  # a notification or a client's response: accepted, nothing to answer
        else:
            reply = self._dispatch(request_id, method, message.get("params"))
        reply.log = {**log, **reply.log}
        return reply

    def handle_delete(self, headers: Mapping[str, str]) -> Reply:
        """End the session named in the header (in this process; see SessionTokens)."""
        session = headers.get(SESSION_HEADER)
        if not session:
            return _error_reply(400, None, INVALID_REQUEST, f"Bad Request: missing {SESSION_HEADER} header")
        if not self.tokens.revoke(session):
            return _error_reply(404, None, INVALID_REQUEST, "Session not found (unknown, expired or deleted)")
        return Reply(204)

    @staticmethod
    def _message_problem(message: Any) -> str | None:
        """Why `message` is not a single JSON-RPC 2.0 request, notification or response (None if it is)."""
        if isinstance(message, list):
            return "JSON arrays (batches) are not supported; send one JSON-RPC object per request"
        if not isinstance(message, dict):
            return f"body must be a JSON object, got {_json_type_name(message)}"
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
            return _error_reply(200, request_id, INVALID_PARAMS, f"Invalid params: params of {method} must be "
                                                                 f"an object, got {_json_type_name(params)}")
        if method == "ping":
            return self._result(request_id, {})
        if method == "tools/list":
            return self._list_tools(request_id, params)
        if method == "tools/call":
            return self._call_tool(request_id, params)
        return _error_reply(200, request_id, METHOD_NOT_FOUND, f"Method not found: {method}")

    @staticmethod
    def _result(request_id: Any, result: dict, **log: Any) -> Reply:
        return Reply(200, {"jsonrpc": "2.0", "id": request_id, "result": result}, log=log)

    def _initialize(self, request_id: Any, params: Any) -> Reply:
        if not isinstance(params, dict) or not isinstance(params.get("protocolVersion"), str):
            return _error_reply(200, request_id, INVALID_PARAMS,
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
            start = self._decode_cursor(cursor)
            if start is None:
                return _error_reply(200, request_id, INVALID_PARAMS, f"Invalid params: unknown cursor {cursor!r}")
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
            return _error_reply(200, request_id, INVALID_PARAMS, "Invalid params: params.name must be a string")
        log = {"tool": name[:100]}
        tool = self.tools_by_name.get(name)
        arguments = params.get("arguments", {})
        if tool is None:
            reply = _error_reply(200, request_id, INVALID_PARAMS, f"Unknown tool: {name}")
        elif not isinstance(arguments, dict):
            reply = _error_reply(200, request_id, INVALID_PARAMS,
                                 f"Invalid params: arguments must be an object, got {_json_type_name(arguments)}")
        elif errors := schema_errors(arguments, tool.input_schema):
            reply = self._result(request_id, _tool_error(f"Invalid arguments for tool {name}: " + "; ".join(errors)),
                                 tool_error="invalid_arguments")
        else:
            try:
                structured = tool.handler(arguments)
            except ToolError as exc:
                reply = self._result(request_id, _tool_error(str(exc)), tool_error="tool_error")
            else:
                text = json.dumps(structured, sort_keys=True, ensure_ascii=False)
                reply = self._result(request_id, {"content": [{"type": "text", "text": text}],
                                                  "structuredContent": structured, "isError": False})
        reply.log.update(log)
        return reply


def _tool_error(message: str) -> dict:
    return {"content": [{"type": "text", "text": message}], "isError": True}


# --------------------------------------------------------------------------- HTTP

class JsonLog:
    """Writes one JSON object per line to a stream (stdout), thread-safe."""

    def __init__(self, server: str, stream=None):
        self.server = server
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def write(self, **fields: Any) -> None:
        """Log one event; None values are dropped."""
        record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z", "server": self.server}
        record.update((k, v) for k, v in fields.items() if v is not None)
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            self.stream.write(line)
            self.stream.flush()


class BodyError(Exception):
    """The request body could not be read; carries the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class McpHttpServer(ThreadingHTTPServer):
    """One thread per connection, so one slow or idle client never blocks another."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, app: McpApp, log: JsonLog):
        self.app = app
        self.log = log
        self.active_requests = 0
        self.active_lock = threading.Lock()
        super().__init__(address, McpRequestHandler)


class McpRequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler for /mcp and /healthz; idle or stalled connections close after the read timeout."""

    protocol_version = "HTTP/1.1"
    server_version = "mcp-mock/1"
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024  # buffered: headers and body leave in one send when http.server flushes the reply
    server: McpHttpServer

    def setup(self) -> None:
        self.timeout = self.server.app.config.read_timeout_seconds
        super().setup()

    # http.server's own messages (malformed request line, timeouts) become JSON log lines too
    def log_message(self, format: str, *args: Any) -> None:
        self.server.log.write(event="http", client=self.client_address[0], message=format % args)

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass  # every request is logged once, with its MCP fields, by _serve

    def do_GET(self) -> None:
        self._serve(self._get)

    def do_POST(self) -> None:
        self._serve(self._post)

    def do_DELETE(self) -> None:
        self._serve(self._delete)

    def do_PUT(self) -> None:
        self._serve(self._not_allowed)

    do_PATCH = do_OPTIONS = do_PUT
    do_HEAD = do_GET  # same status and headers as GET, no body (see _send)

    def _serve(self, route: Callable[[], Reply]) -> None:
        started = time.perf_counter()
        with self.server.active_lock:
            self.server.active_requests += 1
        try:
            try:
                reply = route()
            except BodyError as exc:
                self.close_connection = True  # the unread body would be taken as the next request
                reply = _error_reply(exc.status, None, INVALID_REQUEST, str(exc))
            except (socket.timeout, ConnectionError):
                self.close_connection = True
                self.server.log.write(event="http", client=self.client_address[0], http_method=self.command,
                                      path=self.path, message="client stalled or disconnected while sending")
                return
            except Exception as exc:  # a bug in a handler: answer, log, keep serving
                reply = _error_reply(500, None, INTERNAL_ERROR, "Internal error")
                reply.log["exception"] = f"{type(exc).__name__}: {exc}"
            self._send(reply)
            fields = {"session": session_fingerprint(self.headers.get(SESSION_HEADER)), **reply.log}
            self.server.log.write(http_method=self.command, path=self.path, status=reply.status,
                                  duration_ms=round((time.perf_counter() - started) * 1000, 3),
                                  method=fields.pop("rpc_method", None), **fields)
        finally:
            with self.server.active_lock:
                self.server.active_requests -= 1

    def _send(self, reply: Reply) -> None:
        body = b"" if reply.body is None else json.dumps(reply.body, ensure_ascii=False).encode()
        self.send_response(reply.status)
        if reply.body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _route_path(self) -> str:
        return self.path.split("?", 1)[0]

    def _get(self) -> Reply:
        path = self._route_path()
        if path == HEALTH_PATH:
            return Reply(200, {"status": "ok"})
        if path == MCP_PATH:
            return self._not_allowed()
        return Reply(404, {"error": f"no such path {path}; MCP is served at {MCP_PATH}"})

    def _not_allowed(self) -> Reply:
        if self._route_path() != MCP_PATH:
            return Reply(404, {"error": f"no such path; MCP is served at {MCP_PATH}"})
        reply = _error_reply(405, None, INVALID_REQUEST,
                             f"Method Not Allowed: {self.command} {MCP_PATH}; use POST (and DELETE to end a session)")
        reply.headers["Allow"] = "POST, DELETE"
        return reply

    def _origin_rejected(self) -> Reply | None:
        origin = self.headers.get("Origin")
        if origin is not None and origin.rstrip("/") not in self.server.app.config.allowed_origins:
            return _error_reply(403, None, INVALID_REQUEST,
                                f"Forbidden: Origin {origin!r} is not allowed (see MCP_ALLOWED_ORIGINS)")
        return None

    def _post(self) -> Reply:
        if self._route_path() != MCP_PATH:
            return Reply(404, {"error": f"no such path; MCP is served at {MCP_PATH}"})
        rejected = self._origin_rejected()
        if rejected:
            self.close_connection = True  # body left unread
            return rejected
        return self.server.app.handle_post(self.headers, self._read_body())

    def _delete(self) -> Reply:
        if self._route_path() != MCP_PATH:
            return Reply(404, {"error": f"no such path; MCP is served at {MCP_PATH}"})
        return self._origin_rejected() or self.server.app.handle_delete(self.headers)

    def _read_body(self) -> bytes:
        limit = self.server.app.config.max_body_bytes
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        length = self.headers.get("Content-Length")
        if length is None:
            raise BodyError(411, "Length Required: send Content-Length (or Transfer-Encoding: chunked)")
        if not length.strip().isdigit():
            raise BodyError(400, f"Bad Request: invalid Content-Length {length!r}")
        if int(length) > limit:
            raise BodyError(413, f"Payload Too Large: body of {int(length)} bytes exceeds the limit of "
                                 f"{limit} bytes (MCP_MAX_BODY_BYTES)")
        body = self.rfile.read(int(length))
        if len(body) < int(length):
            raise ConnectionError("body shorter than Content-Length")
        return body

    def _read_chunked(self, limit: int) -> bytes:
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BodyError(400, "Bad Request: malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(chunks)
            total += size
            if total > limit:
                raise BodyError(413, f"Payload Too Large: body exceeds the limit of {limit} bytes "
                                     "(MCP_MAX_BODY_BYTES)")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # CRLF after the chunk


# --------------------------------------------------------------------------- entry point

def run(name: str, version: str, tools: Sequence[Tool], env: Mapping[str, str] | None = None) -> int:
    """Serve `tools` over MCP on 0.0.0.0:$PORT until SIGTERM/SIGINT; return the process exit code."""
    env = os.environ if env is None else env
    log = JsonLog(name)
    try:
        config = Config.from_env(env)
    except ConfigError as exc:
        print(f"{name}: configuration error: {exc}", file=sys.stderr, flush=True)
        return 2
    key = config.session_key
    if key is None:
        key = secrets.token_bytes(32)
        log.write(level="warning", event="ephemeral_session_key",
                  message="MCP_SESSION_KEY is not set: using a random key, so sessions do not survive a "
                          "restart and are not accepted by other replicas")
    app = McpApp(name, version, tools, config, SessionTokens(key, name, config.session_ttl_seconds))
    try:
        server = McpHttpServer(("0.0.0.0", config.port), app, log)
    except OSError as exc:
        print(f"{name}: cannot listen on 0.0.0.0:{config.port} (PORT): {exc}", file=sys.stderr, flush=True)
        return 1

    def stop(signum: int, _frame: Any) -> None:
        log.write(event="stopping", signal=signal.Signals(signum).name)
        threading.Thread(target=server.shutdown, daemon=True).start()  # shutdown() blocks; not in the handler

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.write(event="listening", host="0.0.0.0", port=config.port, mcp_path=MCP_PATH, tools=len(app.tools),
              page_size=config.page_size, max_body_bytes=config.max_body_bytes,
              read_timeout_seconds=config.read_timeout_seconds, session_ttl_seconds=config.session_ttl_seconds,
              allowed_origins=sorted(config.allowed_origins))
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    deadline = time.monotonic() + 5  # let requests already being answered finish
    while server.active_requests and time.monotonic() < deadline:
        time.sleep(0.02)
    log.write(event="stopped")
    return 0
