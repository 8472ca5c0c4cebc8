"""A small MCP Streamable HTTP client on `requests` that does what a real agent does.

Flow: `initialize` -> keep `Mcp-Session-Id` -> send `MCP-Protocol-Version` -> `notifications/initialized`
-> `tools/list` (following `nextCursor`) -> `tools/call` -> `DELETE` the session. Replies may be plain JSON
or SSE (agentgateway always answers with SSE).

Hostile or broken peers: every request must finish by min(now + timeout, `stop_at`) whatever the peer does
(verify/http_read.py bounds each read in time and bytes); redirects are never followed (a 3xx is a failure
naming its Location); a reply of the wrong shape raises NotMcpReply naming what is wrong. The token (if any)
goes only where the plan's `auth.location` says (verify/token_location.py; default `Authorization: Bearer`) and
never into an error message.
"""
from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any

import requests

from verify.token_location import BEARER, TokenLocation
from verify.http_read import ReadDeadline, ReadFailed, lines, read_prefix, read_text
from verify.http_read import ReplyTooLarge as ReadTooLarge
from verify.wire import JSON_TYPE, SSE_TYPE, ReplyFormatError, media_type, response_from_json, response_from_sse

PROTOCOL_VERSION = "2025-06-18"  # handshake-era version every legacy peer (agentgateway 1.4, SDK, mocks) speaks
CLIENT_INFO = {"name": "mcp-federation-verify", "version": "1.0.0"}
MAX_PAGES = 100  # a server that keeps returning cursors is broken; stop instead of looping forever
BODY_SNIPPET = 200
ERROR_BODY_BYTES = 64 * 1024  # of a non-2xx reply we only quote a snippet
# What we echo back in headers must be visible ASCII (MCP spec: session ids are 0x21-0x7E); anything else
# would make the HTTP library raise, or smuggle header bytes.
HEADER_TOKEN = re.compile(r"[\x21-\x7e]{1,512}")


class McpError(Exception):
    """Base class of everything that can go wrong talking to an MCP endpoint."""


class ConnectFailed(McpError):
    """No HTTP answer at all: connection refused, DNS failure, timeout."""


class DeadlineReached(McpError):
    """The request (or the whole run's deadline) ran out of time while waiting for or reading the reply."""


class Redirected(McpError):
    """The endpoint answered with a 3xx; redirects are never followed (they could lead to another host)."""

    def __init__(self, method: str, status: int, location: str):
        self.method, self.status, self.location = method, status, location
        super().__init__(f"{method} got HTTP {status} redirect to {location} (redirects are not followed)")


class HttpStatusError(McpError):
    """The endpoint answered with a non-2xx status and no JSON-RPC error body."""

    def __init__(self, method: str, status: int, body: str, www_authenticate: str | None = None):
        self.method, self.status, self.body = method, status, body
        self.www_authenticate = www_authenticate
        super().__init__(f"{method} got HTTP {status}" + (f": {body}" if body else ""))


class NotMcpReply(McpError):
    """A 2xx answer that is not a JSON-RPC response (e.g. an HTML page or the wrong content type)."""


class ReplyTooLarge(NotMcpReply):
    """The reply (or one SSE line) is larger than the verifier reads."""


class JsonRpcError(McpError):
    """The endpoint answered with a JSON-RPC error object (possibly with a 4xx status, like agentgateway)."""

    def __init__(self, method: str, code: Any, message: str, http_status: int):
        self.method, self.code, self.message, self.http_status = method, code, message, http_status
        super().__init__(f"{method} error {code}: {message} (HTTP {http_status})")


def _snippet(text: str) -> str:
    return " ".join(text.split())[:BODY_SNIPPET]


def _shown(value: object) -> str:
    """A peer-supplied value quoted safely (ASCII repr, capped): never the raw bytes."""
    return ascii(value)[:BODY_SNIPPET]


class McpHttpClient:
    """One MCP session against one endpoint URL. Use as a context manager so the session is DELETEd.

    `stop_at` (time.monotonic) is a hard end for every request; `token` is sent at `location` only (default
    `Authorization: Bearer`). With a cookie location the `Cookie` header is exactly that one cookie: the session's
    cookie jar is then not sent (it would add cookies of the same name, and agentgateway reads the first one).
    """

    def __init__(self, url: str, timeout: float = 10.0, http: requests.Session | None = None,
                 stop_at: float | None = None, token: str | None = None, location: TokenLocation = BEARER):
        self.url = url
        self.timeout = timeout
        self.http = http or requests.Session()
        self.http.trust_env = False  # no proxies or .netrc credentials from the environment
        self.stop_at = stop_at
        self._token = token
        self._location = location
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self.server_info: dict = {}
        self._ids = itertools.count(1)

    def __enter__(self) -> "McpHttpClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never show the token
        return f"McpHttpClient({self.url!r})"

    def _scrub(self, text: str) -> str:
        """Reply text with our token (or any of its dot-separated parts) replaced, before it is parsed or quoted:
        a peer that echoes the Authorization header must not get the token into a message."""
        if not self._token or not text:
            return text
        for secret in [self._token] + [part for part in self._token.split(".") if len(part) >= 8]:
            text = text.replace(secret, "[redacted]")
        return text

    def _headers(self) -> dict:
        headers = {"Accept": f"{JSON_TYPE}, {SSE_TYPE}", "Content-Type": JSON_TYPE, "Accept-Encoding": "identity",
                   "User-Agent": f"{CLIENT_INFO['name']}/{CLIENT_INFO['version']}"}
        if self._token:
            name, value = self._location.header_for(self._token)
            headers[name] = value
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        if self.protocol_version:
            headers["MCP-Protocol-Version"] = self.protocol_version
        return headers

    def _request_end(self, what: str) -> float:
        """When the request about to start must be over (time.monotonic); DeadlineReached if already past."""
        end = time.monotonic() + self.timeout
        if self.stop_at is not None:
            end = min(end, self.stop_at)
        if end - time.monotonic() <= 0:
            raise DeadlineReached(f"{what}: no time left before the deadline")
        return end

    def _send(self, http_method: str, body: dict | None, what: str) -> tuple[requests.Response, float]:
        end = self._request_end(what)
        try:
            reply = self.http.request(http_method, self.url, json=body, headers=self._headers(),
                                      timeout=max(0.01, end - time.monotonic()), stream=True, allow_redirects=False)
        except requests.Timeout:
            raise DeadlineReached(f"{what} timed out after {self.timeout:g}s") from None
        except requests.ConnectionError as exc:
            text = str(exc)
            if "refused" in text.lower():
                raise ConnectFailed("connection refused") from None
            raise ConnectFailed(f"cannot connect: {_snippet(text)}") from None
        except requests.RequestException as exc:
            raise ConnectFailed(f"{what} failed: {type(exc).__name__}") from None  # its text may quote headers
        if 300 <= reply.status_code < 400:
            location = reply.headers.get("Location")
            reply.close()
            raise Redirected(what, reply.status_code, _shown(location) if location else "(no Location header)")
        return reply, end

    def request(self, method: str, params: dict | None = None) -> dict:
        """Send a JSON-RPC request and return its `result`; raise an McpError subclass otherwise."""
        return self._exchange(method, params)[0]

    def _exchange(self, method: str, params: dict | None) -> tuple[dict, Any]:
        """POST one request; return (result, reply headers)."""
        request_id = next(self._ids)
        body = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            body["params"] = params
        reply, end = self._send("POST", body, method)
        try:
            message = self._read_response(reply, method, request_id, end)
        except ReadDeadline as exc:
            raise DeadlineReached(str(exc)) from None
        except ReadTooLarge as exc:
            raise ReplyTooLarge(str(exc)) from None
        except ReadFailed as exc:
            raise ConnectFailed(str(exc)) from None
        finally:
            reply.close()
        if "error" in message:
            error = message["error"] if isinstance(message["error"], dict) else {"message": message["error"]}
            message_text = error.get("message", "")
            code = error.get("code")
            raise JsonRpcError(method, code if isinstance(code, int) else _shown(code),
                               message_text if isinstance(message_text, str) else _shown(message_text),
                               reply.status_code)
        if not isinstance(message["result"], dict):
            raise NotMcpReply(f"{method}: result is not an object: {_shown(message['result'])}")
        return message["result"], reply.headers

    def _read_response(self, reply: requests.Response, method: str, request_id: int, end: float) -> dict:
        kind = media_type(reply.headers.get("Content-Type"))
        if not reply.ok:
            text = self._scrub(read_prefix(reply, end, method, ERROR_BODY_BYTES))
            if kind == JSON_TYPE:  # agentgateway: HTTP 400 with a JSON-RPC error body
                message: dict | None
                try:
                    message = response_from_json(text, request_id)
                except ReplyFormatError:
                    message = _error_without_id(text)
                if message and "error" in message:
                    return message
            raise HttpStatusError(method, reply.status_code, _snippet(text), reply.headers.get("WWW-Authenticate"))
        try:
            if kind == SSE_TYPE:
                return response_from_sse((self._scrub(line) for line in lines(reply, end, method)), request_id)
            if kind == JSON_TYPE:
                return response_from_json(self._scrub(read_text(reply, end, method)), request_id)
        except ReplyFormatError as exc:
            raise NotMcpReply(f"{method}: {exc}") from None
        raise NotMcpReply(f"{method}: content type {kind[:60] or 'missing'!r} is neither JSON nor SSE: "
                          f"{_snippet(self._scrub(read_prefix(reply, end, method, ERROR_BODY_BYTES)))!r}")

    def notify(self, method: str, params: dict | None = None) -> None:
        """Send a JSON-RPC notification; any 2xx (202 per spec) is accepted."""
        body: dict[str, object] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            body["params"] = params
        reply, end = self._send("POST", body, method)
        try:
            if not reply.ok:
                raise HttpStatusError(method, reply.status_code,
                                      _snippet(self._scrub(read_prefix(reply, end, method, ERROR_BODY_BYTES))))
        except ReadDeadline as exc:
            raise DeadlineReached(str(exc)) from None
        except ReadFailed as exc:
            raise ConnectFailed(str(exc)) from None
        finally:
            reply.close()

    def initialize(self) -> dict:
        """Handshake: `initialize`, remember session id and protocol version, send `notifications/initialized`."""
        result, reply_headers = self._exchange("initialize", {"protocolVersion": PROTOCOL_VERSION,
                                                              "capabilities": {}, "clientInfo": CLIENT_INFO})
        version = result.get("protocolVersion")
        if "protocolVersion" not in result:
            raise NotMcpReply(f"initialize: result has no protocolVersion: {_shown(result)}")
        if not isinstance(version, str) or not HEADER_TOKEN.fullmatch(version):
            raise NotMcpReply(f"initialize: protocolVersion {_shown(version)} is not a visible-ASCII string")
        session_id = reply_headers.get("Mcp-Session-Id")  # requests' headers are case-insensitive
        if session_id is not None and not HEADER_TOKEN.fullmatch(session_id):
            raise NotMcpReply(f"initialize: Mcp-Session-Id {_shown(session_id)} is not 1-512 visible ASCII "
                              "characters")
        self.session_id = session_id
        self.protocol_version = version
        info = result.get("serverInfo")
        self.server_info = info if isinstance(info, dict) else {}
        self.notify("notifications/initialized")
        return result

    def list_tools(self) -> list[dict]:
        """All tools, following `nextCursor` until it is absent; every tool must be an object with a string name."""
        tools: list[dict] = []
        cursor = None
        for _ in range(MAX_PAGES):
            result = self.request("tools/list", {"cursor": cursor} if cursor else None)
            page = result.get("tools")
            if not isinstance(page, list):
                raise NotMcpReply(f"tools/list: result has no tools list: {_shown(result)}")
            for tool in page:
                if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or not tool["name"]:
                    raise NotMcpReply(f"tools/list: a tool is not an object with a string name: {_shown(tool)}")
            tools.extend(page)
            cursor = result.get("nextCursor")
            if cursor is not None and not isinstance(cursor, str):
                raise NotMcpReply(f"tools/list: nextCursor is not a string: {_shown(cursor)}")
            if not cursor:
                return tools
        raise NotMcpReply(f"tools/list: still returning nextCursor after {MAX_PAGES} pages")

    def call_tool(self, name: str, arguments: dict | None = None) -> dict:
        """`tools/call`; returns the CallToolResult (check its `isError`), raises JsonRpcError if refused.

        NotMcpReply when `content` is not a list of objects or a block's `text` is not a string.
        """
        result = self.request("tools/call", {"name": name, "arguments": arguments or {}})
        content = result.get("content")
        if not isinstance(content, list):
            raise NotMcpReply(f"tools/call {name}: 'content' is not a list: {_shown(content)}")
        for block in content:
            if not isinstance(block, dict) or not isinstance(block.get("text", ""), str):
                raise NotMcpReply(f"tools/call {name}: content block is not an object with string 'text': "
                                  f"{_shown(block)}")
        return result

    def close(self) -> None:
        """End the session with DELETE (best effort: 405, a network error or no time left is not a failure)."""
        if self.session_id:
            try:
                reply, _ = self._send("DELETE", None, "DELETE")
                reply.close()
            except McpError:
                pass
            self.session_id = None


def _error_without_id(text: str) -> dict | None:
    """A JSON-RPC error body whose id is null (errors raised before the id was read)."""
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return message if isinstance(message, dict) and isinstance(message.get("error"), dict) else None
