"""The test front's JWT layer on the wire: agentgateway v1.4.1's 401 replies, OAuth metadata, token stripping.

A 401 is answered before the MCP layer, so these routes need no live upstream; where a request passes, the
route's upstream is a closed port and only what reached the MCP layer is looked at.
"""
from __future__ import annotations

import json

import pytest
import requests

from tests.gateway_front import FrontRoute, GatewayFront
from tests.jwt_tokens import AUDIENCE, ISSUER, SigningKey, claims, jwt_spec, provider
from tests.server_process import free_port

KEY = SigningKey.ec()
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def spec(mode: str = "Strict", mcp: dict | None = None) -> dict:
    return jwt_spec(mode, [provider(ISSUER, [AUDIENCE], KEY)], mcp)


@pytest.fixture(scope="module")
def front():
    dead = f"http://127.0.0.1:{free_port()}/mcp"
    routes = [FrontRoute("/mcp/plain", dead),
              FrontRoute("/mcp/oauth", dead, jwt_authentication=spec(mcp={"resourceMetadata": {
                  "scopesSupported": ["mcp"]}})),
              FrontRoute("/mcp/permissive", dead, jwt_authentication=spec("Permissive"))]
    with GatewayFront(routes, jwt_authentication=spec()) as gateway:
        yield gateway


def post(front, path: str, token: str | None = None, **headers: str) -> requests.Response:
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(front.url + path, json=INIT, headers={**HEADERS, **auth, **headers}, timeout=10)


def test_plain_jwt_401_is_text_without_www_authenticate(front):
    reply = post(front, "/mcp/plain")
    assert reply.status_code == 401
    assert reply.headers["content-type"] == "text/plain"
    assert reply.text == "authentication failure: no bearer token found"
    assert "www-authenticate" not in reply.headers


def test_mcp_block_401_is_json_with_resource_metadata(front):
    reply = post(front, "/mcp/oauth", token=SigningKey.ec().mint(claims()))
    assert reply.status_code == 401
    assert reply.json() == {"error": "unauthorized", "error_description": "JWT token required"}
    assert reply.headers["www-authenticate"] == \
        f'Bearer resource_metadata="{front.url}/.well-known/oauth-protected-resource/mcp/oauth"'
    forwarded = post(front, "/mcp/oauth", **{"X-Forwarded-Proto": "https"})
    assert forwarded.headers["www-authenticate"].startswith('Bearer resource_metadata="https://127.0.0.1:')


def test_protected_resource_metadata_is_served_without_a_token(front):
    reply = requests.get(f"{front.url}/.well-known/oauth-protected-resource/mcp/oauth", timeout=10)
    assert reply.status_code == 200 and reply.headers["access-control-allow-origin"] == "*"
    assert reply.json() == {"resource": f"{front.url}/mcp/oauth", "authorization_servers": [ISSUER],
                            "mcp_protocol_version": "2025-06-18", "resource_type": "mcp-server",
                            "scopes_supported": ["mcp"]}
    assert requests.get(f"{front.url}/.well-known/oauth-protected-resource/mcp/plain", timeout=10).status_code == 404


def test_a_valid_token_is_stripped_an_invalid_permissive_one_is_not(front):
    good, bad = KEY.mint(claims()), SigningKey.ec().mint(claims())
    post(front, "/mcp/plain", token=good)
    assert front.seen_authorization("/mcp/plain")[-1] is None
    post(front, "/mcp/permissive", token=bad)
    assert front.seen_authorization("/mcp/permissive")[-1] == f"Bearer {bad}"  # Permissive: passes, untouched
    post(front, "/mcp/permissive", token=good)
    assert front.seen_authorization("/mcp/permissive")[-1] is None


def test_paths_without_a_route_get_404_not_401(front):
    assert post(front, "/mcp/nowhere").status_code == 404


def test_the_route_policy_replaces_the_gateway_policy(front):
    """/mcp/permissive has its own policy: no token passes there, while the gateway's Strict one would refuse."""
    reply = post(front, "/mcp/permissive")
    assert reply.status_code != 401
    assert json.loads(reply.text.split("data: ", 1)[-1] if "data: " in reply.text else reply.text)
