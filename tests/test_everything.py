"""The verifier against the official MCP reference server (server-everything, a peer this project did not write),
behind the agentgateway-like front and directly, with the plan entries the Pulumi program builds from the dev stack.

Routes of the shared front:
  /mcp/everything          everything, nothing filtered (dev: denyDangerousTools false)
  /mcp/everything-denied   everything with get-env and gzip-file-as-resource filtered (denyDangerousTools true)
  /mcp/everything-stopped  an everything process that was started and stopped
  /mcp                     the aggregated route: fetch, github, slack mocks and everything (FailOpen, as in dev)
"""
from __future__ import annotations

import json

import pytest

from render.harness import RecordingMocks, restart, run_program
from tests.everything_server import start_everything
from tests.gateway_front import AggregateRoute, FrontRoute, GatewayFront, Target
from tests.pulumi_mocks import cli_config
from tests.server_process import RawMcp
from tests.test_verify_gateway import dangerous, run_cli, running_mocks, table_row, write_plan

DEADLINE = "20"
EVERYTHING_DANGEROUS = ("get-env", "gzip-file-as-resource")  # Pulumi.dev.yaml dangerousTools


def stack_plan(**overrides) -> dict[str, dict]:
    """The dev stack's verificationPlan, by route name, as the program declares it (config overrides allowed)."""
    declared = run_program(restart(RecordingMocks()), cli_config("dev", overrides))
    return {entry["name"]: entry for entry in declared.outputs["verificationPlan"]}


@pytest.fixture(scope="module")
def plans() -> dict[str, dict]:
    dev = stack_plan()
    denied = stack_plan(**{"mcp-federation:denyDangerousTools": True})
    return {"dev": dev["everything"], "denied": denied["everything"], "aggregate": dev["mcp-all"]}


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    server = start_everything(tmp_path_factory.mktemp("everything-logs"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def front(everything, tmp_path_factory):
    logs = tmp_path_factory.mktemp("everything-front-logs")
    stopped = start_everything(logs)
    stopped.stop()
    with running_mocks(logs) as (urls, _):
        targets = tuple(Target(name, urls[name]) for name in ("fetch", "github", "slack"))
        routes = [FrontRoute("/mcp/everything", everything.url),
                  FrontRoute("/mcp/everything-denied", everything.url, denied_tools=EVERYTHING_DANGEROUS),
                  FrontRoute("/mcp/everything-stopped", stopped.url),
                  AggregateRoute("/mcp", (*targets, Target("everything", everything.url)), failure_mode="FailOpen")]
        with GatewayFront(routes) as gateway:
            yield gateway


def verify(tmp_path, gateway_url: str, plan: list) -> tuple[int, dict]:
    done = run_cli("--plan", write_plan(tmp_path, plan), "--gateway-url", gateway_url, "--json", "--deadline", DEADLINE)
    return done.returncode, json.loads(done.stdout)


def test_the_dev_stack_declares_the_reference_server_with_its_real_tools(plans):
    entry = plans["dev"]
    assert entry["path"] == "/mcp/everything" and entry["toolsMatch"] == "atLeast"
    assert {"echo", "get-env", "get-sum"} <= set(entry["expectedTools"]) and entry["deniedTools"] == []
    assert entry["probe"] == {"tool": "echo", "arguments": {"message": "mcp-federation verify"}}
    assert plans["denied"]["deniedTools"] == list(EVERYTHING_DANGEROUS)


def test_the_verifier_passes_the_dev_plan_entry_through_the_front(front, plans, tmp_path):
    code, report = verify(tmp_path, front.url, [plans["dev"]])
    assert code == 0, report
    (route,) = report["routes"]
    assert route["name"] == "everything" and route["passed"]


def test_the_verifier_proves_get_env_is_denied_when_the_stack_denies_it(front, plans, tmp_path):
    entry = {**plans["denied"], "path": "/mcp/everything-denied"}
    code, report = verify(tmp_path, front.url, [entry])
    assert code == 0, report
    # The same plan against a route that does not filter: get-env is listed and callable, so the verifier fails.
    code, report = verify(tmp_path, front.url, [{**plans["denied"], "path": "/mcp/everything"}])
    assert code == 1
    assert "get-env" in json.dumps(report["routes"][0])


def test_the_verifier_handles_the_servers_sse_replies_and_sessions_directly(everything, plans, tmp_path):
    """No front: the verifier talks to server-everything itself, whose replies are SSE (`event: message` with an
    `id:`) under an `mcp-session-id` it must send back."""
    raw = RawMcp(everything.url)
    reply = raw.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                       "clientInfo": {"name": "raw-test", "version": "0"}})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
    fields = dict(line.split(": ", 1) for line in reply.text.splitlines() if ": " in line)
    assert fields["event"] == "message" and fields["id"]  # resumable SSE: every event has an id
    assert json.loads(fields["data"])["result"]["serverInfo"]["name"] == "mcp-servers/everything"
    raw.session_id = reply.headers["mcp-session-id"]
    assert raw.request("tools/list", {}).status_code == 200
    raw.session_id = None
    assert raw.request("tools/list", {}).status_code == 400  # no session: the server refuses
    raw.session_id = reply.headers["mcp-session-id"]
    assert raw.delete().status_code == 200
    code, report = verify(tmp_path, everything.base_url, [{**plans["dev"], "path": "/mcp"}])
    assert code == 0, report


def test_the_aggregated_route_with_the_reference_server_as_a_target(front, plans, tmp_path):
    entry = plans["aggregate"]
    assert "everything" in entry["targets"] and "everything_echo" in entry["expectedTools"]
    assert entry["toolsMatch"] == "atLeast"  # an image target may offer more than it states
    code, report = verify(tmp_path, front.url, [entry])
    assert code == 0, report


def test_a_stopped_reference_server_fails_its_route_by_name(front, plans, tmp_path):
    entry = {**plans["dev"], "name": "everything-stopped", "path": "/mcp/everything-stopped"}
    done = run_cli("--plan", write_plan(tmp_path, [plans["dev"], entry]), "--gateway-url", front.url,
                   "--deadline", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    assert " PASS " in table_row(done.stdout, "everything")
    assert " FAIL " in table_row(done.stdout, "everything-stopped")
    assert "1 failed (everything-stopped)" in done.stdout


def test_dangerous_mocks_stay_denied_next_to_it():
    """The aggregated route's other targets keep their own dangerous tools (guards the fixture's assumptions)."""
    assert dangerous("github") and dangerous("slack")


def test_without_node_the_tests_fail_loudly(tmp_path, monkeypatch):
    """No skip: a machine without Node gets a failing test, and `make everything-deps` (so `make test`) exits 2."""
    import os
    import shutil
    import subprocess

    import tests.everything_server as everything_server

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(AssertionError, match="node is not on PATH"):
        everything_server.start_everything(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("make", "sh"):
        (bin_dir / tool).symlink_to(shutil.which(tool, path=os.defpath) or shutil.which(tool, path="/usr/bin:/bin"))
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    done = subprocess.run(["make", "-B", "everything-deps"], cwd=everything_server.REPO_ROOT, capture_output=True,
                          text=True, timeout=60, env={**env, "PATH": str(bin_dir)})
    assert done.returncode != 0 and "node and npm are required" in done.stderr
