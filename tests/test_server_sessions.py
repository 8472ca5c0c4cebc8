"""Signed session ids: unit rules with a fake clock, and two server processes sharing one key."""
from __future__ import annotations

import sys

import pytest

from tests.server_process import SERVER_CODE, RawMcp, start_server

sys.path.insert(0, str(SERVER_CODE))
from mcp_core import SessionTokens  # noqa: E402

KEY = "shared-session-key-for-tests-0123"


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_token_lifetime_follows_ttl_and_allowed_clock_skew():
    clock = FakeClock()
    tokens = SessionTokens(b"k" * 32, "github", ttl_seconds=100, clock=clock)
    token = tokens.issue()
    clock.now += 99
    assert tokens.is_valid(token)
    clock.now += 1
    assert not tokens.is_valid(token)
    clock.now -= 100 + SessionTokens.MAX_CLOCK_SKEW  # a replica whose clock is behind the issuer's
    assert tokens.is_valid(token)
    clock.now -= 1
    assert not tokens.is_valid(token)


def test_token_is_bound_to_key_and_server_name():
    token = SessionTokens(b"k" * 32, "github", 100).issue()
    assert SessionTokens(b"k" * 32, "github", 100).is_valid(token)
    assert not SessionTokens(b"x" * 32, "github", 100).is_valid(token)
    assert not SessionTokens(b"k" * 32, "slack", 100).is_valid(token)
    for bad in ("", "v1", "v1.zz.00.00", token.replace("v1.", "v2."), token + "0", "v1.." + token[3:]):
        assert not SessionTokens(b"k" * 32, "github", 100).is_valid(bad)


def test_revocation_is_bounded_drops_expired_entries_and_never_forgets_an_unexpired_one():
    clock = FakeClock()
    tokens = SessionTokens(b"k" * 32, "github", ttl_seconds=100, clock=clock)
    tokens.MAX_REVOKED = 3
    old = tokens.issue()
    assert tokens.revoke(old) == "revoked" and tokens.revoke(old) == "unknown"
    clock.now += 60
    recent = [tokens.issue() for _ in range(3)]
    assert [tokens.revoke(t) for t in recent[:2]] == ["revoked", "revoked"]
    clock.now += 50  # `old` has expired on its own, so it is the entry dropped to make room
    assert tokens.revoke(recent[2]) == "revoked"
    assert not any(tokens.is_valid(t) for t in recent)
    extra = tokens.issue()
    assert tokens.revoke(extra) == "full"  # full of unexpired revocations: refused, none forgotten
    assert tokens.is_valid(extra) and not any(tokens.is_valid(t) for t in recent)
    assert tokens.retry_after_seconds() == 51  # recent[0] expires 50 s from now
    clock.now += 51
    assert tokens.revoke(extra) == "revoked"


def test_delete_past_the_revocation_cap_is_503_and_the_session_stays_valid(tmp_path):
    """The process-level face of the rule above, with the cap lowered through a wrapper script."""
    wrapper = tmp_path / "github_small_revocation_cap.py"
    wrapper.write_text(f"import runpy, sys\nsys.path.insert(0, {str(SERVER_CODE)!r})\n"
                       "import mcp_sessions\nmcp_sessions.SessionTokens.MAX_REVOKED = 2\n"
                       f"runpy.run_path({str(SERVER_CODE / 'github.py')!r}, run_name='__main__')\n")
    server = start_server("github-cap", env={"MCP_SESSION_KEY": KEY}, tmp_dir=tmp_path, script=wrapper)
    try:
        clients = [RawMcp(server.url) for _ in range(3)]
        for client in clients:
            client.initialize()
        assert [client.delete().status_code for client in clients[:2]] == [204, 204]
        refused = clients[2].delete()
        assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0
        assert refused.json()["error"]["code"] == -32603
        assert clients[2].request("ping").status_code == 200
        assert all(client.request("ping").status_code == 404 for client in clients[:2])
    finally:
        server.stop()


@pytest.fixture
def replicas(tmp_path):
    started = []
    try:
        for _ in range(2):
            started.append(start_server("github", env={"MCP_SESSION_KEY": KEY}, tmp_dir=tmp_path))
        yield started
    finally:
        for server in started:
            server.stop()


def test_session_from_one_replica_is_accepted_by_another_and_after_restart(replicas, tmp_path):
    first, second = replicas
    on_first = RawMcp(first.url)
    on_first.initialize()
    on_second = RawMcp(second.url)
    on_second.session_id, on_second.protocol_version = on_first.session_id, on_first.protocol_version
    reply = on_second.call_tool("get_repo", {"owner": "octocat", "repo": "hello-world"})
    assert reply.status_code == 200 and reply.json()["result"]["isError"] is False

    assert first.stop() == 0
    restarted = start_server("github", env={"MCP_SESSION_KEY": KEY}, tmp_dir=tmp_path, port=first.port)
    replicas.append(restarted)
    assert on_first.request("tools/list").json()["result"]["tools"]

    other_key = start_server("github", env={"MCP_SESSION_KEY": KEY[::-1]}, tmp_dir=tmp_path)
    replicas.append(other_key)
    stranger = RawMcp(other_key.url)
    stranger.session_id = on_first.session_id
    assert stranger.request("ping").status_code == 404


def test_delete_is_local_to_the_replica_that_received_it(replicas):
    """Documented limit: revocation is per process; another replica accepts the id until it expires."""
    first, second = replicas
    on_first = RawMcp(first.url)
    on_first.initialize()
    on_second = RawMcp(second.url)
    on_second.session_id = on_first.session_id
    assert on_second.delete().status_code == 204
    assert on_second.request("ping").status_code == 404
    assert on_first.request("ping").status_code == 200


def test_without_a_key_each_process_has_its_own_sessions(tmp_path):
    servers = [start_server("fetch", tmp_dir=tmp_path) for _ in range(2)]
    try:
        client = RawMcp(servers[0].url)
        client.initialize()
        other = RawMcp(servers[1].url)
        other.session_id = client.session_id
        assert client.request("ping").status_code == 200
        assert other.request("ping").status_code == 404
        assert all("MCP_SESSION_KEY is not set" in s.log() for s in servers)
    finally:
        for server in servers:
            server.stop()
