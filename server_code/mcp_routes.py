"""HTTP routes of a mock server: /mcp (POST, DELETE), /healthz (GET, HEAD), and the Origin check."""
from __future__ import annotations

import ipaddress
from typing import Mapping
from urllib.parse import urlsplit

from mcp_http import RequestHead
from mcp_protocol import INTERNAL_ERROR, INVALID_REQUEST, McpApp, Reply, error_reply

MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1), with or without brackets."""
    host = host.lower().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def same_origin_loopback(origin: str, host_header: str | None) -> bool:
    """True if `origin` names a loopback host and is the origin the request was sent to (its Host header):
    a page served by this server on localhost calling it back. A DNS-rebinding page has a foreign origin."""
    try:
        parts = urlsplit(origin)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not hostname or not host_header:
        return False
    return is_loopback_host(hostname) and parts.netloc.lower() == host_header.strip().lower()


class McpRoutes:
    """Maps a complete HTTP request to a `Reply`: /mcp (POST, DELETE), /healthz (GET, HEAD), else 404/405."""

    def __init__(self, app: McpApp):
        self.app = app

    def reply(self, head: RequestHead, body: bytes) -> Reply:
        """The reply to one request; a bug in a handler becomes a 500 reply, never a crash."""
        try:
            path = head.path
            if head.method in ("GET", "HEAD"):
                return self._get(head.method, path)
            if path != MCP_PATH:
                return no_such_path(path)
            if head.method not in ("POST", "DELETE"):
                return not_allowed(head.method)
            rejected = self._origin_rejected(head.headers)
            if rejected:
                return rejected
            if head.method == "POST":
                return self.app.handle_post(head.headers, body)
            return self.app.handle_delete(head.headers)
        except Exception as exc:  # noqa: BLE001 - answer, log, keep serving
            reply = error_reply(500, None, INTERNAL_ERROR, "Internal error")
            reply.log["exception"] = f"{type(exc).__name__}: {exc}"
            return reply

    @staticmethod
    def _get(method: str, path: str) -> Reply:
        if path == HEALTH_PATH:
            return Reply(200, {"status": "ok"})
        if path == MCP_PATH:
            return not_allowed(method)
        return no_such_path(path)

    def _origin_rejected(self, headers: Mapping[str, str]) -> Reply | None:
        """A browser's cross-origin call is refused (MCP transport security: DNS rebinding), unless the Origin
        is in MCP_ALLOWED_ORIGINS or is this server itself on a loopback address."""
        origin = headers.get("origin")
        if origin is None or origin.rstrip("/") in self.app.config.allowed_origins:
            return None
        if same_origin_loopback(origin, headers.get("host")):
            return None
        return error_reply(403, None, INVALID_REQUEST,
                           f"Forbidden: Origin {origin[:200]!r} is not allowed (see MCP_ALLOWED_ORIGINS)")


def no_such_path(path: str) -> Reply:
    """404 for a path other than /mcp and /healthz, as a JSON-RPC error like every other refusal."""
    return error_reply(404, None, INVALID_REQUEST, f"Not Found: no such path {path[:200]!r}; MCP is served at "
                                                   f"{MCP_PATH}")


def not_allowed(method: str) -> Reply:
    """405 for /mcp with a method other than POST and DELETE."""
    reply = error_reply(405, None, INVALID_REQUEST,
                        f"Method Not Allowed: {method} {MCP_PATH}; use POST (and DELETE to end a session)")
    reply.headers["Allow"] = "POST, DELETE"
    return reply
