"""End to end: the real mock servers (as processes) behind an agentgateway-like front, checked by `verify`.

The front (tests/gateway_front.py) answers with SSE and requires the session, like agentgateway 1.4.
Plans are built with the Pulumi program's own `verification_entry` (dangerous tools denied), so the
tests also pin the plan contract between the program and the verifier. Routes of the shared front:
  /mcp/github, /mcp/slack, /mcp/fetch  each mock behind its path, dangerous tools denied
  /mcp/paged                           github again, tools/list paginated two tools per page
  /mcp/leaky                           github with no deny list: its dangerous tool is still listed
  /mcp/stopped                         a github mock that has been stopped
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from components.catalog import ServerCatalog, load_catalog
from components.plan import verification_entry
from tests.gateway_front import FrontRoute, GatewayFront
from tests.server_process import REPO_ROOT, SERVER_CODE, free_port, start_server
from verify import parse_plan, verify_routes
from verify.checks import describe_failure
from verify.mcp_client import McpError, McpHttpClient

MOCKS = ("github", "slack", "fetch")
CLI_TIMEOUT = 120
HAPPY_DEADLINE = "15"  # retries only matter when something is broken; keep a broken run short


@functools.lru_cache(maxsize=None)
def catalog(name: str) -> ServerCatalog:
    """The mock's TOOLS and PROBE, read by the Pulumi program's own loader (no modules leak into this process)."""
    return load_catalog(SERVER_CODE, f"{name}.py")


def dangerous(name: str) -> tuple[str, ...]:
    return tuple(catalog(name).dangerous_tool_names)


def plan_entry(mock: str, route: str | None = None, **overrides) -> dict:
    """The plan entry the Pulumi program builds for a mock with its dangerous tools denied (+ overrides)."""
    route = route or mock
    entry = verification_entry(route, f"/mcp/{route}", catalog(mock), denied=dangerous(mock))
    return {**entry, **overrides}


HAPPY_PLAN = [plan_entry(mock) for mock in MOCKS]


@contextlib.contextmanager
def running_mocks(log_dir: Path) -> Iterator[tuple[dict[str, str], str]]:
    """Every mock in MOCKS as a process, plus a github mock that was started and stopped (nothing answers at its
    URL); yields (mock name -> MCP URL, the stopped one's URL) and stops every process at the end."""
    servers = []
    try:
        for name in MOCKS:
            servers.append(start_server(name, tmp_dir=log_dir))
        stopped = start_server("github", tmp_dir=log_dir)
        servers.append(stopped)
        stopped.stop()
        yield {server.name: server.url for server in servers[:len(MOCKS)]}, stopped.url
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    """The shared front and the mock processes behind it (all stopped at the end)."""
    with running_mocks(tmp_path_factory.mktemp("mock-logs")) as (urls, stopped_url):
        routes = [FrontRoute(f"/mcp/{name}", urls[name], denied_tools=dangerous(name)) for name in MOCKS]
        routes += [FrontRoute("/mcp/paged", urls["github"], denied_tools=dangerous("github"), page_size=2),
                   FrontRoute("/mcp/leaky", urls["github"]),
                   FrontRoute("/mcp/stopped", stopped_url, denied_tools=dangerous("github"))]
        with GatewayFront(routes) as gateway:
            yield gateway


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m verify ARGS` from the repository root."""
    return subprocess.run([sys.executable, "-m", "verify", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=CLI_TIMEOUT, env=env)


def write_plan(tmp_path: Path, plan: list) -> str:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return str(path)


def table_row(stdout: str, route: str) -> str:
    """The table row of one route (rows start with the route name)."""
    rows = [line for line in stdout.splitlines() if line.split(" ", 1)[0] == route]
    assert len(rows) == 1, stdout
    return rows[0]


# ----------------------------------------------------------------------------------------------- happy path

def test_cli_passes_all_three_mocks_behind_the_front(front, tmp_path):
    done = run_cli("--plan", write_plan(tmp_path, HAPPY_PLAN), "--gateway-url", front.url, "--deadline", HAPPY_DEADLINE)
    assert done.returncode == 0, done.stdout + done.stderr
    for mock in MOCKS:
        row = table_row(done.stdout, mock)
        assert f"/mcp/{mock}" in row and " PASS " in row
        assert f" {len(catalog(mock).tools) - len(dangerous(mock))} " in row  # tools seen
    assert done.stdout.splitlines()[0].split() == ["ROUTE", "PATH", "RESULT", "TOOLS", "LATENCY", "REASON"]
    assert "3 routes: 3 passed, 0 failed in " in done.stdout
    assert "retrying" not in done.stderr


def test_cli_json_report(front, tmp_path):
    done = run_cli("--plan", write_plan(tmp_path, HAPPY_PLAN), "--gateway-url", front.url + "/", "--json",
                   "--deadline", HAPPY_DEADLINE)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] is True and report["gatewayUrl"] == front.url
    assert report["summary"]["routes"] == 3 and report["summary"]["failed"] == 0
    github = report["routes"][0]
    assert github["name"] == "github" and github["url"] == f"{front.url}/mcp/github"
    assert sorted(github["tools"]) == sorted(HAPPY_PLAN[0]["expectedTools"])
    assert github["problems"] == [] and github["reason"] == "" and github["attempts"] == 1
    assert github["toolsMatch"] == "exact" and github["targets"] == [] and github["probe"] == "passed"
    assert github["missingTools"] == github["unexpectedTools"] == github["extraTools"] == github["targetsDown"] == []
    assert github["notes"] == []


def test_library_checks_every_route_and_follows_pagination(front):
    plan = parse_plan(HAPPY_PLAN + [plan_entry("github", "paged")])
    results = verify_routes(plan, front.url, deadline=15)
    assert [(r.name, r.passed, r.reason) for r in results] == [(p.name, True, "") for p in plan]
    paged = results[-1]
    assert sorted(paged.tools) == sorted(HAPPY_PLAN[0]["expectedTools"])  # 3 tools over 2 pages


def test_library_against_a_mock_directly_with_one_tool_per_page(tmp_path):
    """No front: plain JSON replies from the stdlib mock, and its own cursor pagination."""
    server = start_server("github", env={"MCP_PAGE_SIZE": "1"}, tmp_dir=tmp_path)
    try:
        base = server.url.removesuffix("/mcp")
        every_tool = catalog("github").tool_names
        entry = plan_entry("github", path="/mcp", expectedTools=every_tool, deniedTools=[])
        (result,) = verify_routes(parse_plan([entry]), base, deadline=10)
    finally:
        server.stop()
    assert result.passed, result.reason
    assert sorted(result.tools) == sorted(every_tool)  # 4 tools, one per page


# ------------------------------------------------------------------------------------------- failure cases

def run_failing(tmp_path: Path, gateway_url: str, plan: list, deadline: str = "1") -> subprocess.CompletedProcess:
    """Run the CLI on a plan that is expected to fail and assert exit code 1."""
    done = run_cli("--plan", write_plan(tmp_path, plan), "--gateway-url", gateway_url, "--deadline", deadline)
    assert done.returncode == 1, done.stdout + done.stderr
    return done


def test_stopped_server_fails_its_route_only(front, tmp_path):
    done = run_failing(tmp_path, front.url, [plan_entry("slack"), plan_entry("github", "stopped")])
    assert " PASS " in table_row(done.stdout, "slack")
    row = table_row(done.stdout, "stopped")
    # like agentgateway, the front initializes the upstream when the client initializes (FailClosed)
    assert " FAIL " in row and "initialize failed: target stopped failed to initialize: ConnectError" in row
    assert "2 routes: 1 passed, 1 failed (stopped)" in done.stdout


def test_route_that_returns_404(front, tmp_path):
    done = run_failing(tmp_path, front.url, [plan_entry("fetch"), plan_entry("github", "nowhere")])
    assert " PASS " in table_row(done.stdout, "fetch")
    row = table_row(done.stdout, "nowhere")
    assert " FAIL " in row and "route not found (HTTP 404 on initialize)" in row


def test_expected_tool_that_is_not_there(front, tmp_path):
    entry = plan_entry("slack")
    entry["expectedTools"] = entry["expectedTools"] + ["archive_channel"]
    done = run_failing(tmp_path, front.url, [entry])
    row = table_row(done.stdout, "slack")
    assert " FAIL " in row and "tools missing: archive_channel" in row
    assert "unexpected" not in row


def test_unplanned_tool_is_reported_as_unexpected(front, tmp_path):
    entry = plan_entry("github")
    entry["expectedTools"] = [name for name in entry["expectedTools"] if name != "create_issue"]
    done = run_failing(tmp_path, front.url, [entry])
    row = table_row(done.stdout, "github")
    assert " FAIL " in row and "unexpected tools: create_issue" in row and "missing" not in row


def test_denied_tool_still_listed(front, tmp_path):
    done = run_failing(tmp_path, front.url, [plan_entry("github", "leaky")])
    row = table_row(done.stdout, "leaky")
    assert " FAIL " in row and "denied tool listed: delete_repo" in row
    assert "unexpected" not in row  # a listed denied tool is reported once, as denied


def test_failing_probe_reports_the_tool_message(front, tmp_path):
    entry = plan_entry("github", probe={"tool": "get_repo", "arguments": {"owner": "octocat"}})
    done = run_failing(tmp_path, front.url, [entry])
    row = table_row(done.stdout, "github")
    assert " FAIL " in row and "probe get_repo failed:" in row and "repo" in row.split("probe get_repo failed:")[1]


def test_nothing_listening_gives_up_at_the_deadline(tmp_path):
    done = run_cli("--plan", write_plan(tmp_path, HAPPY_PLAN), "--gateway-url", f"http://127.0.0.1:{free_port()}",
                   "--deadline", "2", "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert [(r["name"], r["reason"]) for r in report["routes"]] == [(m, "connection refused") for m in MOCKS]
    assert all(r["problems"][0]["kind"] == "unreachable" for r in report["routes"])
    assert all(r["attempts"] > 1 for r in report["routes"])  # it retried before giving up
    assert "retrying in" in done.stderr and "github: connection refused" in done.stderr


def test_route_converging_during_the_deadline_passes(tmp_path):
    """Nothing listens at first; the gateway comes up while the verifier retries (the post-`pulumi up` case)."""
    server = start_server("fetch", tmp_dir=tmp_path)
    gateway = GatewayFront([FrontRoute("/mcp/fetch", server.url)])
    verifier = subprocess.Popen([sys.executable, "-m", "verify", "--plan", write_plan(tmp_path, [plan_entry("fetch")]),
                                 "--gateway-url", gateway.url, "--deadline", "60"],
                                cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while "retrying" not in verifier.stderr.readline():  # wait until it has failed at least once
            assert verifier.poll() is None, "the verifier exited before retrying"
        gateway.start()
        stdout, stderr = verifier.communicate(timeout=CLI_TIMEOUT)
    finally:
        if verifier.poll() is None:
            verifier.kill()
            verifier.wait()
        gateway.stop()
        server.stop()
    assert verifier.returncode == 0, stdout + stderr
    assert " PASS " in table_row(stdout, "fetch")


def test_unknown_session_is_reported_as_session_rejected(front):
    client = McpHttpClient(f"{front.url}/mcp/github", timeout=10)
    client.initialize()
    real_session = client.session_id
    client.session_id = "0" * 32  # a session the front never issued
    try:
        with pytest.raises(McpError) as caught:
            client.list_tools()
    finally:
        client.session_id = real_session
        client.close()
    problem = describe_failure(caught.value, "tools/list")
    assert problem.kind == "session_rejected" and "HTTP 404" in problem.detail, problem


class WebPage(BaseHTTPRequestHandler):
    """A web server that answers every POST with an HTML page (what a wrong port or path often gives)."""

    def do_POST(self):  # noqa: N802 - http.server naming
        body = b"<html><body>Welcome</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_web_page_is_not_an_mcp_endpoint(tmp_path):
    web = ThreadingHTTPServer(("127.0.0.1", 0), WebPage)
    thread = threading.Thread(target=web.serve_forever, daemon=True)
    thread.start()
    try:
        done = run_failing(tmp_path, f"http://127.0.0.1:{web.server_port}", [plan_entry("fetch")], deadline="0")
    finally:
        web.shutdown()
        web.server_close()
        thread.join()
    row = table_row(done.stdout, "fetch")
    assert "not an MCP endpoint: initialize: content type 'text/html' is neither JSON nor SSE" in row


# --------------------------------------------------------------------------------- configuration errors

def test_unreadable_plan_exits_2(tmp_path):
    done = run_cli("--plan", str(tmp_path / "absent.json"), "--gateway-url", "http://127.0.0.1:1")
    assert done.returncode == 2
    assert "cannot read plan file" in done.stderr and "absent.json" in done.stderr and done.stdout == ""


def test_malformed_plan_exits_2_naming_entry_and_key(tmp_path):
    bad = [plan_entry("github"), {**plan_entry("slack"), "expectedTools": "list_channels"}]
    done = run_cli("--plan", write_plan(tmp_path, bad), "--gateway-url", "http://127.0.0.1:1")
    assert done.returncode == 2
    assert "plan entry 1 ('slack'): 'expectedTools' must be a list" in done.stderr


@pytest.mark.parametrize("url, message", [
    ("127.0.0.1:8080", "scheme must be http or https"),
    ("ftp://127.0.0.1", "scheme must be http or https"),
    ("http://", "no host"),
    ("http://127.0.0.1:99999", "bad port"),
    ("http://127.0.0.1:80?x=1", "must not have a query"),
])
def test_bad_gateway_url_exits_2(tmp_path, url, message):
    done = run_cli("--plan", write_plan(tmp_path, HAPPY_PLAN), "--gateway-url", url)
    assert done.returncode == 2
    assert message in done.stderr and repr(url) in done.stderr


def test_usage_errors_exit_2(tmp_path):
    assert run_cli("--gateway-url", "http://127.0.0.1:1").returncode == 2  # neither --plan nor --stack
    done = run_cli("--plan", "p.json", "--stack", "dev", "--gateway-url", "http://127.0.0.1:1")
    assert done.returncode == 2 and "not allowed with" in done.stderr
    done = run_cli("--plan", "p.json", "--gateway-url", "http://127.0.0.1:1", "--deadline", "-1")
    assert done.returncode == 2 and "--deadline must be >= 0" in done.stderr


def path_with_fake_pulumi(tmp_path: Path, script: str | None) -> dict:
    """An environment whose PATH holds only a fake `pulumi` (or nothing, when script is None)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if script is not None:
        pulumi = bin_dir / "pulumi"
        pulumi.write_text("#!/bin/sh\n" + script)
        pulumi.chmod(0o755)
    return {**os.environ, "PATH": str(bin_dir)}


def test_stack_reads_the_plan_from_pulumi(front, tmp_path):
    plan_file = write_plan(tmp_path, HAPPY_PLAN)
    env = path_with_fake_pulumi(tmp_path, f'[ "$*" = "stack output verificationPlan --json --stack dev" ] || exit 9\n'
                                          f'exec /bin/cat "{plan_file}"\n')
    done = run_cli("--stack", "dev", "--gateway-url", front.url, "--deadline", HAPPY_DEADLINE, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 routes: 3 passed, 0 failed" in done.stdout


def test_stack_without_pulumi_exits_2(tmp_path):
    done = run_cli("--stack", "dev", "--gateway-url", "http://127.0.0.1:1", env=path_with_fake_pulumi(tmp_path, None))
    assert done.returncode == 2
    assert "'pulumi' is not on PATH" in done.stderr and "--plan" in done.stderr


def test_stack_with_failing_pulumi_exits_2_with_its_message(tmp_path):
    env = path_with_fake_pulumi(tmp_path, "echo \"error: current stack does not have output 'verificationPlan'\" >&2\n"
                                          "exit 255\n")
    done = run_cli("--stack", "dev", "--gateway-url", "http://127.0.0.1:1", env=env)
    assert done.returncode == 2
    assert "exit code 255" in done.stderr and "does not have output 'verificationPlan'" in done.stderr
