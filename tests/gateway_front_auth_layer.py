"""The ASGI layer of tests/gateway_front.py that authenticates callers before the MCP routes see a request.

Per route path it applies that route's `traffic.jwtAuthentication`, else the gateway's (a route-level policy
replaces the Gateway's entirely: agentgateway store/policy.rs, research note §3), answers 401 as agentgateway
does, serves the OAuth protected-resource metadata when the `mcp` block is set, strips a validated token and
hands the claims to the MCP layer in the ASGI scope's state (`jwt_claims`). Logic: tests/gateway_front_auth.py.
"""
from __future__ import annotations

import json
from typing import Any

from tests.gateway_front_auth import (WELL_KNOWN, JwtAuthentication, authenticate, protected_resource_metadata,
                                      remove_token, request_base, www_authenticate)
from tests.gateway_front_auth import MCP_401_BODY


class JwtFront:
    """ASGI layer in front of the routes: `traffic.jwtAuthentication` per route path (the route's own, else the
    gateway's), the OAuth protected-resource metadata paths, and the claims handed to the MCP layer."""

    def __init__(self, app: Any, gateway_auth: JwtAuthentication | None, route_auth: dict[str, JwtAuthentication]):
        self.app, self.gateway_auth, self.route_auth = app, gateway_auth, route_auth
        self.route_paths: set[str] = set()
        self.endpoints: dict[str, Any] = {}

    def config_for(self, path: str) -> JwtAuthentication | None:
        """The JWT policy that applies to a route path (None for paths that match no route)."""
        if path not in self.route_paths:
            return None
        return self.route_auth.get(path, self.gateway_auth)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, headers = scope["path"], scope["headers"]
        host = next((value.decode("latin-1") for name, value in headers if name == b"host"), "localhost")
        base = request_base(scope.get("scheme", "http"), host, headers)
        if path == WELL_KNOWN or path.startswith(WELL_KNOWN + "/"):
            rest = path[len(WELL_KNOWN):]
            config = self.config_for(rest) if rest else self.gateway_auth
            if config is not None and config.mcp is not None:
                body = json.dumps(protected_resource_metadata(config, base, path)).encode()
                return await _reply(send, 200, body, [(b"content-type", b"application/json"),
                                                      (b"access-control-allow-origin", b"*")])
            return await self.app(scope, receive, send)
        config = self.config_for(path)
        if config is None:
            return await self.app(scope, receive, send)
        outcome = authenticate(config, headers)
        if outcome.error is not None:
            if config.mcp is not None:
                value = www_authenticate(config, base, path).encode()
                return await _reply(send, 401, MCP_401_BODY,
                                    [(b"content-type", b"application/json"), (b"www-authenticate", value)])
            return await _reply(send, 401, f"authentication failure: {outcome.error}".encode(),
                                [(b"content-type", b"text/plain")])
        scope = dict(scope)
        if outcome.strip:  # upstream removes a validated credential (at its location) before the request goes on
            scope["headers"] = remove_token(config.location, headers)
        scope["state"] = {**scope.get("state", {}), "jwt_claims": outcome.claims}
        await self.app(scope, receive, send)


async def _reply(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": headers + [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
