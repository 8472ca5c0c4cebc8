"""The verifier against hostile loopback peers (tests/hostile_peer.py): bounded in time and memory, never fooled
into following a redirect, never a traceback, --json always printed (issue 13 item 6)."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.hostile_peer import EVIL_MESSAGE, EVIL_TOOL, HostilePeer
from tests.server_process import REPO_ROOT

DEADLINE, TIMEOUT = 1.0, 2.0
# Wall clock must stay within deadline + timeout; the slack covers interpreter start-up on a loaded machine.
START_SLACK = 6.0
KILL_AFTER = 60
MAX_RSS_BYTES = 100 * 1024 * 1024
PLAN = [{"name": "hostile", "path": "/mcp", "expectedTools": ["ping_tool"], "probe": {"tool": "ping_tool"}}]


def run_verifier(tmp_path, gateway_url: str, *extra: str, as_json: bool = True) -> tuple[subprocess.CompletedProcess,
                                                                                         float]:
    """`python -m verify --json` (or the table) against the peer; returns (completed process, wall seconds)."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN))
    command = [sys.executable, "-m", "verify", "--plan", str(plan), "--gateway-url", gateway_url,
               *(["--json"] if as_json else []), "--deadline", str(DEADLINE), "--timeout", str(TIMEOUT), *extra]
    started = time.monotonic()
    # bytes, decoded here: text=True would turn a CR the verifier printed into LF
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = process.communicate(timeout=KILL_AFTER)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return subprocess.CompletedProcess(command, process.returncode, stdout.decode("utf-8", errors="replace"),
                                       stderr.decode("utf-8", errors="replace")), time.monotonic() - started


def failed_report(done: subprocess.CompletedProcess) -> dict:
    """The --json report of a run that failed its one route (and printed no traceback)."""
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] is False
    return report["routes"][0]


@pytest.mark.parametrize("scenario", ["endless_sse", "drip", "slow_pages"])
def test_the_deadline_bounds_the_whole_run(tmp_path, scenario):
    with HostilePeer(scenario) as peer:
        done, elapsed = run_verifier(tmp_path, peer.url.rsplit("/mcp", 1)[0])
    route = failed_report(done)
    assert elapsed < DEADLINE + TIMEOUT + START_SLACK, (elapsed, route)
    assert route["problems"][0]["kind"] == "deadline", route


@pytest.mark.parametrize("scenario", ["huge_json", "huge_sse_line"])
def test_a_1gb_reply_is_refused_without_raising_rss_past_100mb(tmp_path, scenario):
    """The peer offers 1 GiB (one JSON body, or one endless SSE line). The verifier's peak RSS is measured in a
    fresh interpreter that runs only the verifier (RUSAGE_CHILDREN of that interpreter)."""
    probe = ("import json, resource, subprocess, sys\n"
             "done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120)\n"
             "print(json.dumps({'rc': done.returncode, 'stdout': done.stdout, 'stderr': done.stderr, "
             "'rss': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))\n")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN))
    with HostilePeer(scenario) as peer:
        done = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "verify", "--plan", str(plan),
                               "--gateway-url", peer.url.rsplit("/mcp", 1)[0], "--json", "--deadline", "0",
                               "--timeout", "30"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    measured = json.loads(done.stdout)
    route = failed_report(subprocess.CompletedProcess([], measured["rc"], measured["stdout"], measured["stderr"]))
    assert route["problems"][0]["kind"] == "reply_too_large", route
    assert measured["rss"] < MAX_RSS_BYTES, f"{measured['rss'] / 2**20:.0f} MiB"


def test_a_redirect_is_a_failure_naming_the_location_and_is_not_followed(tmp_path):
    with HostilePeer("endless_sse") as elsewhere:
        with HostilePeer("redirect", redirect_to=elsewhere.url + "?stolen=1") as peer:
            done, _ = run_verifier(tmp_path, peer.url.rsplit("/mcp", 1)[0])
        assert elsewhere.seen == []  # nothing (and no header) went to the other host
    route = failed_report(done)
    assert route["problems"][0]["kind"] == "redirected", route
    assert "HTTP 307" in route["reason"] and elsewhere.url + "?stolen=1" in route["reason"], route


@pytest.mark.parametrize("scenario, reason", [
    ("deep_nesting", "not JSON"),
    ("content_not_list", "'content' is not a list"),
    ("text_not_string", "string 'text'"),
    ("non_ascii_version", "protocolVersion '2025-06-18\\u2603' is not a visible-ASCII string"),
])
def test_an_unexpected_reply_shape_is_a_route_failure_with_a_reason(tmp_path, scenario, reason):
    with HostilePeer(scenario) as peer:
        done, _ = run_verifier(tmp_path, peer.url.rsplit("/mcp", 1)[0])
    route = failed_report(done)
    assert reason in route["reason"], route


def test_terminal_escapes_from_the_peer_never_reach_the_table_or_stderr(tmp_path):
    """A tool name and a JSON-RPC error message full of ESC, CR, LF and BEL: the table and the retry lines on
    stderr show them escaped (the reason still names the tool), and add no line of their own."""
    with HostilePeer("control_chars") as peer:
        done, _ = run_verifier(tmp_path, peer.url.rsplit("/mcp", 1)[0], as_json=False)
    assert "Traceback" not in done.stderr and done.returncode == 1, done.stdout + done.stderr
    for text in (done.stdout, done.stderr):
        assert not any(c in text for c in "\x1b\r\x07"), ascii(text)
    table = done.stdout.split("\n")
    assert len(table) == 5 and table[0].startswith("ROUTE") and table[3].startswith("1 routes:"), ascii(done.stdout)
    row = table[1]
    assert row.startswith("hostile") and " FAIL " in row, row
    assert f"unexpected tools: {ascii(EVIL_TOOL)[1:-1]}" in row, row
    assert f"probe ping_tool failed: {ascii(EVIL_MESSAGE)[1:-1]}" in row, row
    retries = done.stderr.splitlines()
    assert retries and all(line.startswith("verify: 1/1 route(s) failing") for line in retries), ascii(done.stderr)
    assert ascii(EVIL_TOOL)[1:-1] in retries[0], retries[0]


@pytest.mark.parametrize("scenario", ["sse_priming", "sse_cr_only", "sse_split_crlf"])
def test_sse_streams_as_the_standard_allows_them_pass(tmp_path, scenario):
    """A priming event with empty data and a `ping` event before the response; a BOM and lone-CR line endings."""
    with HostilePeer(scenario) as peer:
        done, _ = run_verifier(tmp_path, peer.url.rsplit("/mcp", 1)[0])
    assert done.returncode == 0, done.stdout + done.stderr
    route = json.loads(done.stdout)["routes"][0]
    assert route["tools"] == ["ping_tool"] and route["probe"] == "passed", route
