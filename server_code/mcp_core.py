"""Shared core of the mock MCP servers: MCP Streamable HTTP, legacy era, standard library only.

Speaks protocol revisions 2025-11-25, 2025-06-18, 2025-03-26 and 2024-11-05 (initialize handshake,
JSON replies, no SSE). A server file defines its `TOOLS` (a list of `Tool`) and calls `run(...)`;
importing this module has no side effects (no env reads, no sockets, no threads).

Sections: configuration (env), tool model and argument validation, signed session tokens,
the JSON-RPC/MCP dispatcher (transport independent), HTTP (log, request parsing, routes, a single-threaded
event loop on `selectors`), and `run`. One thread serves every connection without blocking on any of them;
the price is that tool handlers must be quick (they are: deterministic, in-memory).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import selectors
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from http import HTTPStatus
from json.encoder import encode_basestring, encode_basestring_ascii
from types import MappingProxyType
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
_SESSION_KEY = SESSION_HEADER.lower()  # header names arrive lower-cased (see parse_head)
_VERSION_KEY = VERSION_HEADER.lower()
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
    busy_poll_microseconds: int = 100          # 0: sleep in select right after every turn (see McpHttpServer._ready)

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
            busy_poll_microseconds=_int_env(env, "MCP_BUSY_POLL_MICROSECONDS", cls.busy_poll_microseconds, 0, 10_000),
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
    types = schema.get("type")
    if types is not None:
        types = (types,) if isinstance(types, str) else types
        for json_type in types:  # a loop, not any(<generator>): this runs for every argument of every call
            if _has_json_type(value, json_type):
                break
        else:
            return [f"{_label(where)} must be of type {' or '.join(types)}, got {_json_type_name(value)}"]
    errors: list[str] = []
    if "enum" in schema and not any(_json_type_name(value) == _json_type_name(e) and value == e
                                    for e in schema["enum"]):
        errors.append(f"{_label(where)} must be one of {json.dumps(schema['enum'])}, got {json.dumps(value)}")
    if isinstance(value, str):  # the kinds below exclude each other, so each value takes one branch
        _string_errors(value, schema, where, errors)
    elif isinstance(value, dict):
        _object_errors(value, schema, where, errors)
    elif isinstance(value, list):
        _array_errors(value, schema, where, errors)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _number_errors(value, schema, where, errors)
    return errors


def _label(where: str) -> str:
    return f"argument '{where}'" if where else "arguments"


_pattern = lru_cache(maxsize=256)(re.compile)  # re.search's own cache lookup costs more than this one


def _string_errors(value: str, schema: dict, where: str, errors: list[str]) -> None:
    if len(value) < schema.get("minLength", 0):
        errors.append(f"{_label(where)} must be at least {schema['minLength']} characters long")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(f"{_label(where)} must be at most {schema['maxLength']} characters long")
    if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
        errors.append(f"{_label(where)} must match the pattern {schema['pattern']}")


def _number_errors(value: int | float, schema: dict, where: str, errors: list[str]) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{_label(where)} must be >= {schema['minimum']}, got {value}")
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(f"{_label(where)} must be <= {schema['maximum']}, got {value}")


def _array_errors(value: list, schema: dict, where: str, errors: list[str]) -> None:
    if len(value) < schema.get("minItems", 0):
        errors.append(f"{_label(where)} must have at least {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(f"{_label(where)} must have at most {schema['maxItems']} items")
    if "items" in schema:
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{where}[{i}]")


def _object_errors(value: dict, schema: dict, where: str, errors: list[str]) -> None:
    props = schema.get("properties", {})
    prefix = f"{where}." if where else ""
    for key in schema.get("required", ()):
        if key not in value:
            errors.append(f"missing required argument '{prefix}{key}'")
    for key, item in value.items():
        if key in props:
            errors += schema_errors(item, props[key], prefix + key)
        elif schema.get("additionalProperties", True) is False:
            errors.append(f"unexpected argument '{prefix}{key}'")


def json_encoder(**options: Any) -> Callable[[Any], str]:
    """`json.JSONEncoder(**options).encode`, minus its per-call set-up: the C encoder is built once here
    (`encode` builds a new one on every call). Same output; no circular-reference check (our values are trees)."""
    encoder = json.JSONEncoder(check_circular=False, **options)
    make = json.encoder.c_make_encoder
    if make is None or encoder.indent is not None:  # no C accelerator: the pure-Python encoder
        return encoder.encode
    encode_one = make(None, encoder.default, encode_basestring_ascii if encoder.ensure_ascii else encode_basestring,
                      None, encoder.key_separator, encoder.item_separator, encoder.sort_keys, encoder.skipkeys,
                      encoder.allow_nan)
    return lambda value: "".join(encode_one(value, 0))


_stable_json = json_encoder(sort_keys=True, default=str)


def stable_int(*parts: Any, upper: int) -> int:
    """A deterministic pseudo-random integer in [0, upper) derived from `parts` (mock data generator)."""
    try:  # all strings, the common case: exactly what the encoder writes, without its set-up
        text = "[" + ", ".join(map(encode_basestring_ascii, parts)) + "]"
    except TypeError:  # a part that is not a string
        text = _stable_json(parts)
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") % upper


# --------------------------------------------------------------------------- sessions

class SessionTokens:
    """Stateless session ids: `v1.<issued hex>.<nonce>.<HMAC-SHA256>` signed with a shared key.

    Any process holding the same key (and serving the same `audience`, i.e. server name) accepts a
    token until it expires. Revocation (DELETE) is recorded only in this process: other replicas keep
    accepting a deleted token until its TTL runs out. Tokens whose signature checked out are remembered
    (bounded), so a session's later requests skip the HMAC; expiry is still checked on every request.
    """

    MAX_CLOCK_SKEW = 300  # seconds a token's issue time may lie in the future (replica clocks differ)
    MAX_REVOKED = 100_000
    MAX_REMEMBERED = 10_000

    def __init__(self, key: bytes, audience: str, ttl_seconds: int, clock: Callable[[], float] = time.time):
        self._key = key
        self._audience = audience
        self._ttl = ttl_seconds
        self._clock = clock
        self._revoked: dict[str, float] = {}   # token -> time after which it expires anyway
        self._signed: dict[str, int] = {}      # token with a valid signature -> its issue time
        self._lock = threading.Lock()

    def _mac(self, issued: str, nonce: str) -> str:
        message = f"mcp-session/v1/{self._audience}/{issued}/{nonce}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def issue(self, issued_at: float | None = None) -> str:
        """A new session id (visible ASCII only)."""
        issued = format(int(self._clock() if issued_at is None else issued_at), "x")
        nonce = secrets.token_hex(16)
        return f"v1.{issued}.{nonce}.{self._mac(issued, nonce)}"

    def _issued_at(self, token: str) -> int | None:
        """The token's issue time if it is well-formed and signed with our key, else None."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != "v1" or len(token) > 200:
            return None
        _, issued, nonce, mac = parts
        if not hmac.compare_digest(mac, self._mac(issued, nonce)):
            return None
        return int(issued, 16)  # the MAC proves we wrote it, so it is valid hex

    def _expiry(self, token: str) -> float | None:
        """The token's expiry time if it is well-formed, correctly signed and not expired, else None."""
        issued_at = self._signed.get(token)
        if issued_at is None:
            issued_at = self._issued_at(token)
            if issued_at is None:
                return None
            if len(self._signed) >= self.MAX_REMEMBERED:
                self._signed.clear()
            self._signed[token] = issued_at
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


@lru_cache(maxsize=4096)
def session_fingerprint(token: str | None) -> str | None:
    """A short, non-secret tag for a session id, for logs (the id itself is a bearer credential)."""
    return hashlib.sha256(token.encode()).hexdigest()[:12] if token else None


# --------------------------------------------------------------------------- JSON-RPC / MCP dispatcher

@dataclass
class Reply:
    """What to send back: HTTP status, JSON body (None = empty; bytes = already encoded), extra headers, and
    fields for the log."""

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

        version = headers.get(_VERSION_KEY)
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

        session = headers.get(_SESSION_KEY)
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
        session = headers.get(_SESSION_KEY)
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
                reply = Reply(200, _tool_result_json(request_id, structured))
        reply.log.update(log)
        return reply


_text_json = json_encoder(sort_keys=True, ensure_ascii=False)
_log_json = json_encoder(ensure_ascii=False, default=str)
_body_json = json_encoder(ensure_ascii=False, separators=(",", ":"))


def _tool_result_json(request_id: Any, structured: dict) -> bytes:
    """The encoded reply of a successful call: the text block is the structured content as JSON, so that JSON
    is encoded once and spliced in twice (as the text string and as `structuredContent`)."""
    text = _text_json(structured)
    json_id = encode_basestring(request_id) if isinstance(request_id, str) else str(request_id)  # an int
    return (f'{{"jsonrpc":"2.0","id":{json_id},"result":{{"content":[{{"type":"text",'
            f'"text":{encode_basestring(text)}}}],"structuredContent":{text},"isError":false}}}}').encode()


def _tool_error(message: str) -> dict:
    return {"content": [{"type": "text", "text": message}], "isError": True}


# --------------------------------------------------------------------------- HTTP: log, request parsing

class JsonLog:
    """One JSON object per line to a stream (stdout). Lines are buffered until `flush`, which the event loop
    calls every LOG_FLUSH_SECONDS while lines are waiting, so many requests cost one write."""

    def __init__(self, server: str, stream=None):
        self.server = server
        self.stream = stream or sys.stdout
        self._lines: list[str] = []
        self._second = -1
        self._stamp = ""
        self._start = ""  # '{"ts": ..., "server": ...' of the current second

    def _record_start(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second, self._stamp = now, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
            self._start = _log_json({"ts": self._stamp, "server": self.server})[:-1]
        return self._start

    def write(self, **fields: Any) -> None:
        """Log one event; None values are dropped."""
        self._lines.append(self._record_start() + _log_members(fields) + "}\n")

    def write_request(self, http_method: str, path: str, status: int, duration_ms: float, **fields: Any) -> None:
        """Log one HTTP request: what `write` writes with these fields first, formatted without the encoder's
        per-member work (this runs for every request)."""
        self._lines.append(f'{self._record_start()}, "http_method": {_log_value(http_method)}, '
                           f'"path": {_log_value(path)}, "status": {status:d}, "duration_ms": {duration_ms!r}'
                           f'{_log_members(fields)}}}\n')

    @property
    def pending(self) -> bool:
        """True while lines wait for `flush`."""
        return bool(self._lines)

    def flush(self) -> None:
        """Write the buffered lines."""
        if self._lines:
            lines = self._lines
            self._lines = []  # a line added now by a signal handler goes into the next flush
            try:
                self.stream.write("".join(lines))
                self.stream.flush()
            except (OSError, ValueError):  # stdout closed or broken: nowhere to log, but keep serving
                pass


def _log_value(value: Any) -> str:
    return encode_basestring(value) if type(value) is str else _log_json(value)


def _log_members(fields: Mapping[str, Any]) -> str:
    """`, "name": value` for each field that is not None, as the log's encoder writes them."""
    return "".join([f", {encode_basestring(name)}: {_log_value(value)}" for name, value in fields.items()
                    if value is not None])


MAX_HEADER_BYTES = 64 * 1024
_HTTP_VERSIONS = {"HTTP/1.1": True, "HTTP/1.0": False}  # version -> keep-alive by default


class HttpError(Exception):
    """A request that cannot be framed or read: answered with `status`, then the connection is closed."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RequestHead:
    """The request line and headers (lower-case names, read-only) of one HTTP request."""

    method: str
    target: str
    headers: Mapping[str, str]
    keep_alive: bool
    http11: bool

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


MAX_CACHED_HEAD_BYTES = 2048


def parse_head(buf: bytearray) -> tuple[RequestHead, int] | None:
    """Parse the head at the start of `buf`: (head, offset of the body), or None while it is incomplete."""
    end, gap = buf.find(b"\r\n\r\n", 0, MAX_HEADER_BYTES + 4), 4
    if end < 0:  # tolerate bare LF line ends (hand-typed requests)
        end, gap = buf.find(b"\n\n", 0, MAX_HEADER_BYTES + 2), 2
    if end < 0:
        if len(buf) > MAX_HEADER_BYTES:
            raise HttpError(431, f"Request Header Fields Too Large: more than {MAX_HEADER_BYTES} bytes")
        return None
    raw = bytes(buf[:end])
    head = _parse_repeated_head(raw, gap) if end <= MAX_CACHED_HEAD_BYTES else _parse_head_text(raw, gap)
    return head, end + gap


def _parse_head_text(raw: bytes, gap: int) -> RequestHead:
    """The request line and header lines of `raw` (without the blank line); HttpError if malformed."""
    text = raw.decode("latin-1")
    request_line, *lines = text.split("\r\n") if gap == 4 else text.replace("\r\n", "\n").split("\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1]:
        raise HttpError(400, f"Bad Request: malformed request line {request_line[:100]!r}")
    keep_alive = _HTTP_VERSIONS.get(parts[2])
    if keep_alive is None:
        raise HttpError(505, f"HTTP Version Not Supported: {parts[2][:20]!r}; use HTTP/1.1")
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name or name[-1] in " \t" or name[0] in " \t":
            raise HttpError(400, f"Bad Request: malformed header line {line[:100]!r}")
        key = name.lower()
        value = value.strip()
        if key in headers:  # the first one counts, but two different lengths make the framing ambiguous
            if key == "content-length" and headers[key] != value:
                raise HttpError(400, "Bad Request: conflicting Content-Length headers")
            continue
        headers[key] = value
    connection = headers.get("connection")
    if connection:
        connection = connection.lower()
        if "close" in connection:
            keep_alive = False
        elif "keep-alive" in connection:
            keep_alive = True
    return RequestHead(parts[0].upper(), parts[1], MappingProxyType(headers), keep_alive, parts[2] == "HTTP/1.1")


# A keep-alive client sends the same head again and again (same session, same headers; only Content-Length
# varies a little), so parsed heads are remembered: a hit costs a hash of the bytes instead of the parse.
# Heads are immutable (frozen, read-only headers), so requests can share one.
_parse_repeated_head = lru_cache(maxsize=512)(_parse_head_text)


def body_length(head: RequestHead, limit: int) -> int | None:
    """The Content-Length to read (0 without a body), or None for a chunked body; HttpError if unacceptable."""
    if "chunked" in head.headers.get("transfer-encoding", "").lower():
        return None
    length = head.headers.get("content-length")
    if length is None:
        if head.method == "POST":
            raise HttpError(411, "Length Required: send Content-Length (or Transfer-Encoding: chunked)")
        return 0
    if not length.isdigit():
        raise HttpError(400, f"Bad Request: invalid Content-Length {length!r}")
    if int(length) > limit:
        raise HttpError(413, f"Payload Too Large: body of {int(length)} bytes exceeds the limit of {limit} bytes "
                             "(MCP_MAX_BODY_BYTES)")
    return int(length)


def parse_chunked(buf: bytearray, start: int, limit: int) -> tuple[bytes, int] | None:
    """Decode a chunked body that begins at `start`: (body, offset after it), or None while it is incomplete."""
    chunks, total, pos = [], 0, start
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            if len(buf) - pos > 1024:
                raise HttpError(400, "Bad Request: malformed chunked body")
            return None
        try:
            size = int(bytes(buf[pos:line_end]).split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise HttpError(400, "Bad Request: malformed chunked body") from None
        if size < 0:
            raise HttpError(400, "Bad Request: malformed chunked body")
        pos = line_end + 2
        if size == 0:
            break
        total += size
        if total > limit:
            raise HttpError(413, f"Payload Too Large: body exceeds the limit of {limit} bytes (MCP_MAX_BODY_BYTES)")
        if len(buf) < pos + size + 2:
            return None
        chunks.append(bytes(buf[pos:pos + size]))
        pos += size + 2  # the chunk and its CRLF
    while True:  # trailers, up to the empty line
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            return None
        if line_end == pos:
            return b"".join(chunks), pos + 2
        pos = line_end + 2


_REASONS = {status.value: status.phrase for status in HTTPStatus}


@lru_cache(maxsize=128)
def _head_start(status: int, content_type: bool) -> bytes:
    """The constant first lines of a response head: status line, Server and, for a JSON body, Content-Type."""
    text = f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\nServer: mcp-mock/2\r\n"
    return (text + "Content-Type: application/json\r\n" if content_type else text).encode("latin-1")


def format_response(status: int, body: bytes, headers: Mapping[str, str], keep_alive: bool, http11: bool,
                    content_type: bool, send_body: bool = True) -> bytes:
    """Status line, headers and body as one buffer (sent with one write)."""
    head = _head_start(status, content_type) + b"Content-Length: %d\r\n" % len(body)
    for name, value in headers.items():
        head += f"{name}: {value}\r\n".encode("latin-1")
    if not keep_alive:
        head += b"Connection: close\r\n"
    elif not http11:
        head += b"Connection: keep-alive\r\n"
    head += b"\r\n"
    return head + body if send_body else head


# --------------------------------------------------------------------------- HTTP: routes

class McpRoutes:
    """Maps a complete HTTP request to a `Reply`: /mcp (POST, DELETE), /healthz (GET, HEAD), else 404/405."""

    def __init__(self, app: McpApp):
        self.app = app

    def reply(self, head: RequestHead, body: bytes) -> Reply:
        """The reply to one request; a bug in a handler becomes a 500 reply, never a crash."""
        try:
            path = head.path
            if head.method in ("GET", "HEAD"):
                return self._get(path)
            if path != MCP_PATH:
                return Reply(404, {"error": f"no such path {path[:200]}; MCP is served at {MCP_PATH}"})
            if head.method not in ("POST", "DELETE"):
                return _not_allowed(head.method)
            rejected = self._origin_rejected(head.headers)
            if rejected:
                return rejected
            if head.method == "POST":
                return self.app.handle_post(head.headers, body)
            return self.app.handle_delete(head.headers)
        except Exception as exc:  # noqa: BLE001 - answer, log, keep serving
            reply = _error_reply(500, None, INTERNAL_ERROR, "Internal error")
            reply.log["exception"] = f"{type(exc).__name__}: {exc}"
            return reply

    @staticmethod
    def _get(path: str) -> Reply:
        if path == HEALTH_PATH:
            return Reply(200, {"status": "ok"})
        if path == MCP_PATH:
            return _not_allowed("GET")
        return Reply(404, {"error": f"no such path {path[:200]}; MCP is served at {MCP_PATH}"})

    def _origin_rejected(self, headers: Mapping[str, str]) -> Reply | None:
        origin = headers.get("origin")
        if origin is not None and origin.rstrip("/") not in self.app.config.allowed_origins:
            return _error_reply(403, None, INVALID_REQUEST,
                                f"Forbidden: Origin {origin[:200]!r} is not allowed (see MCP_ALLOWED_ORIGINS)")
        return None


def _not_allowed(method: str) -> Reply:
    reply = _error_reply(405, None, INVALID_REQUEST,
                         f"Method Not Allowed: {method} {MCP_PATH}; use POST (and DELETE to end a session)")
    reply.headers["Allow"] = "POST, DELETE"
    return reply


# --------------------------------------------------------------------------- HTTP: event loop

RECV_BYTES = 256 * 1024
LINGER_SECONDS = 2.0  # a connection closed after an error reads (and drops) the rest of the request this long
STOP_GRACE_SECONDS = 5.0
LOG_FLUSH_SECONDS = 0.05  # log lines reach stdout this long after their request at the latest (one write per batch)
ACCEPT_PAUSE_SECONDS = 0.5  # after accept() failed (e.g. EMFILE)


class Connection:
    """One client connection: input buffer, the request head being read, output not yet sent, timers."""

    def __init__(self, sock: socket.socket, address: Any, now: float):
        self.sock = sock
        self.client = address[0] if isinstance(address, tuple) else str(address)
        self.inbuf = bytearray()
        self.out = bytearray()
        self.head: RequestHead | None = None
        self.body_start = 0
        self.continue_sent = False
        self.close_after_send = False
        self.lingering = False
        self.closed = False
        self.last_active = now
        self.events = selectors.EVENT_READ


class McpHttpServer:
    """A single-threaded HTTP/1.1 server on `selectors`: non-blocking sockets, per-connection buffers.

    No client can delay another: reads and writes never block, an incomplete request just waits in its
    buffer, and connections with no progress for `read_timeout_seconds` are closed.
    """

    def __init__(self, address: tuple[str, int], app: McpApp, log: JsonLog):
        self.routes = McpRoutes(app)
        self.log = log
        self.limit = app.config.max_body_bytes
        self.timeout = app.config.read_timeout_seconds
        self.spin_seconds = app.config.busy_poll_microseconds / 1_000_000
        self.listener = socket.create_server(address, backlog=1024, reuse_port=False)
        self.listener.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, None)
        self.connections: dict[int, Connection] = {}
        self.stopping = False
        self.accept_paused_until: float | None = None
        self.was_busy = False  # the last loop turn had sockets ready (see _ready)

    # --- loop

    def serve_forever(self) -> None:
        """Serve until `stop()`; then finish sending replies already made (up to STOP_GRACE_SECONDS)."""
        tick = min(0.5, self.timeout / 4)
        now = time.monotonic()
        next_sweep, next_flush = now + tick, now + LOG_FLUSH_SECONDS
        while not self.stopping:
            self._turn(max(0.0, min(next_sweep, next_flush if self.log.pending else next_sweep) - now))
            now = time.monotonic()
            if now >= next_flush:
                self.log.flush()
                next_flush = now + LOG_FLUSH_SECONDS
            if now >= next_sweep:
                self._close_timed_out(now)
                self._resume_accepting(now)
                self.log.flush()  # now: a client that saw its connection closed may look for the reason
                next_sweep = now + tick
        if self.accept_paused_until is None:
            self.selector.unregister(self.listener)
        self.listener.close()
        give_up = time.monotonic() + STOP_GRACE_SECONDS
        while any(c.out for c in self.connections.values()) and time.monotonic() < give_up:
            self._turn(0.05)
        for conn in list(self.connections.values()):
            self._close(conn)
        self.selector.close()
        self.log.flush()

    def stop(self) -> None:
        """Ask `serve_forever` to return (safe from a signal handler)."""
        self.stopping = True

    def _turn(self, timeout: float) -> None:
        ready = self._ready(timeout)
        self.was_busy = bool(ready)
        for key, events in ready:
            conn = key.data
            if conn is None:
                self._accept()
                continue
            try:
                if events & selectors.EVENT_WRITE:
                    self._flush(conn)
                if events & selectors.EVENT_READ and not conn.closed:
                    self._read(conn)
            except Exception as exc:  # noqa: BLE001 - one broken connection never stops the server
                self.log.write(event="http", client=conn.client, message=f"connection dropped: "
                                                                         f"{type(exc).__name__}: {exc}")
                self._close(conn)

    def _ready(self, timeout: float) -> list:
        """The ready sockets, waiting up to `timeout`. Right after a busy turn, poll without sleeping for up to
        MCP_BUSY_POLL_MICROSECONDS first: a keep-alive client's next request usually follows within tens of microseconds, and
        falling asleep only to be woken again costs more than the request (on a VM, a wake-up interrupt to an
        idle vCPU and cold caches). An idle server sleeps at once, so the spin costs CPU only during traffic."""
        if self.was_busy and self.spin_seconds:
            spin_until = time.perf_counter() + self.spin_seconds
            while time.perf_counter() < spin_until:
                ready = self.selector.select(0)
                if ready:
                    return ready
        return self.selector.select(timeout)

    def _accept(self) -> None:
        for _ in range(64):
            try:
                sock, address = self.listener.accept()
            except BlockingIOError:
                return
            except OSError as exc:  # e.g. out of file descriptors: serve the open connections, retry later
                self.log.write(level="error", event="accept_failed", message=f"{exc}; pausing accept for "
                                                                              f"{ACCEPT_PAUSE_SECONDS}s")
                self.selector.unregister(self.listener)  # else the pending connection wakes us up at once, forever
                self.accept_paused_until = time.monotonic() + ACCEPT_PAUSE_SECONDS
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection(sock, address, time.monotonic())
            self.connections[sock.fileno()] = conn
            self.selector.register(sock, selectors.EVENT_READ, conn)

    def _resume_accepting(self, now: float) -> None:
        if self.accept_paused_until is not None and now >= self.accept_paused_until:
            self.accept_paused_until = None
            self.selector.register(self.listener, selectors.EVENT_READ, None)

    def _close_timed_out(self, now: float) -> None:
        for conn in [c for c in self.connections.values() if now - c.last_active > self._patience(c)]:
            if not conn.lingering:
                state = "while sending a request" if conn.inbuf or conn.head else "while idle"
                if conn.out:
                    state = "while not reading its reply"
                self.log.write(event="http", client=conn.client, message=f"client stalled or disconnected {state}; "
                                                                         f"closed after {self.timeout:g}s")
            self._close(conn)

    def _patience(self, conn: Connection) -> float:
        return LINGER_SECONDS if conn.lingering else self.timeout

    # --- per connection

    def _read(self, conn: Connection) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            if conn.inbuf.strip() or conn.head:
                self.log.write(event="http", client=conn.client,
                               message="client stalled or disconnected while sending a request")
            self._close(conn)
            return
        if conn.lingering:
            return  # the rest of a rejected request: dropped (and the linger time keeps running)
        conn.last_active = time.monotonic()
        conn.inbuf += data
        self._serve_buffered(conn)

    def _serve_buffered(self, conn: Connection) -> None:
        """Answer every complete request in the buffer, one at a time (a pending reply is sent first)."""
        while conn.inbuf and not (conn.out or conn.close_after_send or conn.closed):
            try:
                request = self._next_request(conn)
            except HttpError as exc:
                reply = _error_reply(exc.status, None, INVALID_REQUEST, str(exc))
                self._respond(conn, conn.head, reply, keep_alive=False, started=time.perf_counter())
                return
            if request is None:
                return
            head, body = request
            started = time.perf_counter()
            reply = self.routes.reply(head, body)
            self._respond(conn, head, reply, head.keep_alive and not self.stopping, started)

    def _next_request(self, conn: Connection) -> tuple[RequestHead, bytes] | None:
        """The next complete request (removed from the buffer), or None while it is still arriving."""
        if conn.head is None:
            parsed = parse_head(conn.inbuf)
            if parsed is None:
                return None
            conn.head, conn.body_start = parsed
            conn.continue_sent = False
        head = conn.head
        length = body_length(head, self.limit)
        if length is None:
            framed = parse_chunked(conn.inbuf, conn.body_start, self.limit)
        elif len(conn.inbuf) >= conn.body_start + length:
            framed = bytes(conn.inbuf[conn.body_start:conn.body_start + length]), conn.body_start + length
        else:
            framed = None
        if framed is None:
            if head.http11 and not conn.continue_sent and "100-continue" in head.headers.get("expect", "").lower():
                conn.continue_sent = True
                self._send(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
            return None
        body, end = framed
        del conn.inbuf[:end]
        conn.head = None
        return head, body

    def _respond(self, conn: Connection, head: RequestHead | None, reply: Reply, keep_alive: bool,
                 started: float) -> None:
        body = reply.body
        if not isinstance(body, bytes):
            body = b"" if body is None else _body_json(body).encode()
        method = head.method if head else None
        data = format_response(reply.status, body, reply.headers, keep_alive, head.http11 if head else True,
                               reply.body is not None, send_body=method != "HEAD")
        conn.close_after_send = not keep_alive
        self._send(conn, data)
        self._log_request(head, reply, started)

    def _log_request(self, head: RequestHead | None, reply: Reply, started: float) -> None:
        """The request's log line; its session is the one the reply names (initialize) or the request's."""
        fields = reply.log
        if "session" in fields:
            session = fields.pop("session")
        else:
            session = session_fingerprint(head.headers.get(_SESSION_KEY)) if head else None
        duration_ms = int((time.perf_counter() - started) * 1e6 + 0.5) / 1000  # to the microsecond
        method = fields.pop("rpc_method", None)
        if head is None:  # the request could not be read
            self.log.write(status=reply.status, duration_ms=duration_ms, method=method, session=session, **fields)
        else:
            self.log.write_request(head.method, head.path[:200], reply.status, duration_ms, method=method,
                                   session=session, **fields)

    def _send(self, conn: Connection, data: bytes) -> None:
        if not conn.out:
            sent = self._send_some(conn, data)
            if conn.closed:
                return
            data = data[sent:]
        conn.out += data
        self._after_send(conn)

    def _flush(self, conn: Connection) -> None:
        sent = self._send_some(conn, conn.out)
        if conn.closed or not sent:
            return
        del conn.out[:sent]
        conn.last_active = time.monotonic()
        self._after_send(conn)
        if not conn.out and not conn.lingering:
            self._serve_buffered(conn)  # requests that arrived while the reply was being sent

    def _send_some(self, conn: Connection, data: bytes | bytearray) -> int:
        """Bytes the socket took now (0 if its buffer is full); a client that has gone is closed."""
        try:
            return conn.sock.send(data)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError:  # reset or broken pipe: nobody left to answer
            self._close(conn)
            return 0

    def _after_send(self, conn: Connection) -> None:
        """While output is pending, wait for writability and read nothing more (so a client that does not
        read its replies cannot make us buffer without bound); once all is sent, start a due close."""
        if not conn.out and conn.close_after_send and not conn.lingering:
            self._linger(conn)
            return
        wanted = selectors.EVENT_WRITE if conn.out else selectors.EVENT_READ
        if wanted != conn.events:
            conn.events = wanted
            self.selector.modify(conn.sock, wanted, conn)

    def _linger(self, conn: Connection) -> None:
        """Half-close after the last reply and read what the client still sends, so it gets the reply
        instead of a reset; the connection is closed at EOF or after LINGER_SECONDS."""
        conn.lingering = True
        conn.inbuf.clear()
        conn.last_active = time.monotonic()
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)

    def _close(self, conn: Connection) -> None:
        if conn.closed:
            return
        conn.closed = True
        self.connections.pop(conn.sock.fileno(), None)
        try:
            self.selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()


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
        log.flush()
        print(f"{name}: cannot listen on 0.0.0.0:{config.port} (PORT): {exc}", file=sys.stderr, flush=True)
        return 1

    def stop(signum: int, _frame: Any) -> None:
        log.write(event="stopping", signal=signal.Signals(signum).name)
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.write(event="listening", host="0.0.0.0", port=config.port, mcp_path=MCP_PATH, tools=len(app.tools),
              page_size=config.page_size, max_body_bytes=config.max_body_bytes,
              read_timeout_seconds=config.read_timeout_seconds, session_ttl_seconds=config.session_ttl_seconds,
              allowed_origins=sorted(config.allowed_origins))
    log.flush()
    server.serve_forever()
    log.write(event="stopped")
    log.flush()
    return 0
