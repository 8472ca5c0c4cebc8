"""A small MCP Streamable HTTP client on `requests` that does what a real agent does.

Flow: `initialize` -> keep `Mcp-Session-Id` -> send `MCP-Protocol-Version` -> `notifications/initialized`
-> `tools/list` (following `nextCursor`) -> `tools/call` -> `DELETE` the session. Replies may be plain JSON
or SSE (agentgateway always answers with SSE). Every HTTP request has its own timeout.
"""
from __future__ import annotations

import itertools
import json
from typing import Any

import requests

from verify.wire import JSON_TYPE, SSE_TYPE, ReplyFormatError, media_type, response_from_json, response_from_sse

PROTOCOL_VERSION = "2025-06-18"  # handshake-era version every legacy peer (agentgateway 1.4, SDK, mocks) speaks
CLIENT_INFO = {"name": "mcp-federation-verify", "version": "1.0.0"}
MAX_PAGES = 100  # a server that keeps returning cursors is broken; stop instead of looping forever
BODY_SNIPPET = 200


class McpError(Exception):
    """Base class of everything that can go wrong talking to an MCP endpoint."""


class ConnectFailed(McpError):
    """No HTTP answer at all: connection refused, DNS failure, timeout."""


class HttpStatusError(McpError):
    """The endpoint answered with a non-2xx status and no JSON-RPC error body."""

    def __init__(self, method: str, status: int, body: str):
        self.method, self.status, self.body = method, status, body
        super().__init__(f"{method} got HTTP {status}" + (f": {body}" if body else ""))


class NotMcpReply(McpError):
    """A 2xx answer that is not a JSON-RPC response (e.g. an HTML page or the wrong content type)."""


class JsonRpcError(McpError):
    """The endpoint answered with a JSON-RPC error object (possibly with a 4xx status, like agentgateway)."""

    def __init__(self, method: str, code: Any, message: str, http_status: int):
        self.method, self.code, self.message, self.http_status = method, code, message, http_status
        super().__init__(f"{method} error {code}: {message} (HTTP {http_status})")


def _snippet(text: str) -> str:
    return " ".join(text.split())[:BODY_SNIPPET]


class McpHttpClient:
    """One MCP session against one endpoint URL. Use as a context manager so the session is DELETEd."""

    def __init__(self, url: str, timeout: float = 10.0, http: requests.Session | None = None):
        self.url = url
        self.timeout = timeout
        self.http = http or requests.Session()
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self.server_info: dict = {}
        self._ids = itertools.count(1)

    def __enter__(self) -> "McpHttpClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _headers(self) -> dict:
        headers = {"Accept": f"{JSON_TYPE}, {SSE_TYPE}", "Content-Type": JSON_TYPE,
                   "User-Agent": f"{CLIENT_INFO['name']}/{CLIENT_INFO['version']}"}
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        if self.protocol_version:
            headers["MCP-Protocol-Version"] = self.protocol_version
        return headers

    def _send(self, http_method: str, body: dict | None, what: str) -> requests.Response:
        try:
            return self.http.request(http_method, self.url, json=body, headers=self._headers(),
                                     timeout=self.timeout, stream=True)
        except requests.Timeout:
            raise ConnectFailed(f"{what} timed out after {self.timeout:g}s") from None
        except requests.ConnectionError as exc:
            text = str(exc)
            if "refused" in text.lower():
                raise ConnectFailed("connection refused") from None
            raise ConnectFailed(f"cannot connect: {_snippet(text)}") from None
        except requests.RequestException as exc:
            raise ConnectFailed(f"{what} failed: {_snippet(str(exc))}") from None

    def request(self, method: str, params: dict | None = None) -> dict:
        """Send a JSON-RPC request and return its `result`; raise an McpError subclass otherwise."""
        return self._exchange(method, params)[0]

    def _exchange(self, method: str, params: dict | None) -> tuple[dict, Any]:
        """POST one request; return (result, reply headers)."""
        request_id = next(self._ids)
        body = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            body["params"] = params
        reply = self._send("POST", body, method)
        try:
            message = self._read_response(reply, method, request_id)
        except requests.RequestException as exc:  # timeout or reset while reading the body
            raise ConnectFailed(f"{method}: reading the reply failed: {_snippet(str(exc))}") from None
        finally:
            reply.close()
        if "error" in message:
            error = message["error"] if isinstance(message["error"], dict) else {"message": str(message["error"])}
            raise JsonRpcError(method, error.get("code"), str(error.get("message", "")), reply.status_code)
        if not isinstance(message["result"], dict):
            raise NotMcpReply(f"{method}: result is not an object: {_snippet(repr(message['result']))}")
        return message["result"], reply.headers

    def _read_response(self, reply: requests.Response, method: str, request_id: int) -> dict:
        kind = media_type(reply.headers.get("Content-Type"))
        if not reply.ok:
            text = reply.text
            if kind == JSON_TYPE:  # agentgateway: HTTP 400 with a JSON-RPC error body
                try:
                    message = response_from_json(text, request_id)
                except ReplyFormatError:
                    message = _error_without_id(text)
                if message and "error" in message:
                    return message
            raise HttpStatusError(method, reply.status_code, _snippet(text))
        try:
            if kind == SSE_TYPE:
                return response_from_sse(reply.iter_lines(decode_unicode=True), request_id)
            if kind == JSON_TYPE:
                return response_from_json(reply.text, request_id)
        except ReplyFormatError as exc:
            raise NotMcpReply(f"{method}: {exc}") from None
        raise NotMcpReply(f"{method}: content type {kind or 'missing'!r} is neither JSON nor SSE: "
                          f"{_snippet(reply.text)!r}")

    def notify(self, method: str, params: dict | None = None) -> None:
        """Send a JSON-RPC notification; any 2xx (202 per spec) is accepted."""
        body = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            body["params"] = params
        reply = self._send("POST", body, method)
        try:
            if not reply.ok:
                raise HttpStatusError(method, reply.status_code, _snippet(reply.text))
        finally:
            reply.close()

    def initialize(self) -> dict:
        """Handshake: `initialize`, remember session id and protocol version, send `notifications/initialized`."""
        result, reply_headers = self._exchange("initialize", {"protocolVersion": PROTOCOL_VERSION,
                                                              "capabilities": {}, "clientInfo": CLIENT_INFO})
        if "protocolVersion" not in result:
            raise NotMcpReply(f"initialize: result has no protocolVersion: {_snippet(repr(result))}")
        self.session_id = reply_headers.get("Mcp-Session-Id")  # requests' headers are case-insensitive
        self.protocol_version = str(result["protocolVersion"])
        self.server_info = result.get("serverInfo") or {}
        self.notify("notifications/initialized")
        return result

    def list_tools(self) -> list[dict]:
        """All tools, following `nextCursor` until it is absent."""
        tools: list[dict] = []
        cursor = None
        for _ in range(MAX_PAGES):
            result = self.request("tools/list", {"cursor": cursor} if cursor else {})
            page = result.get("tools")
            if not isinstance(page, list):
                raise NotMcpReply(f"tools/list: result has no tools list: {_snippet(repr(result))}")
            tools.extend(page)
            cursor = result.get("nextCursor")
            if not cursor:
                return tools
        raise NotMcpReply(f"tools/list: still returning nextCursor after {MAX_PAGES} pages")

    def call_tool(self, name: str, arguments: dict | None = None) -> dict:
        """`tools/call`; returns the CallToolResult (check its `isError`), raises JsonRpcError if refused."""
        return self.request("tools/call", {"name": name, "arguments": arguments or {}})

    def close(self) -> None:
        """End the session with DELETE (best effort: 405 or a network error is not a failure)."""
        if self.session_id:
            try:
                self.http.delete(self.url, headers=self._headers(), timeout=self.timeout).close()
            except requests.RequestException:
                pass
            self.session_id = None


def _error_without_id(text: str) -> dict | None:
    """A JSON-RPC error body whose id is null (errors raised before the id was read)."""
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message if isinstance(message, dict) and isinstance(message.get("error"), dict) else None
