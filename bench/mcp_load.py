"""Shared benchmark client: raw MCP over keep-alive http.client connections, one client process per connection.

Used by bench/wrk_load.py (session set-up, and the load itself when wrk is not installed) and bench/sdk_vs_mock.py
(RSS, start-up). Every request goes to 127.0.0.1 only.
"""
from __future__ import annotations

import http.client
import json
import multiprocessing
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
from tests.server_process import free_port  # noqa: E402

CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "get_repo", "arguments": {"owner": "octocat", "repo": "hello-world"}}}
INITIALIZE = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}}


def post(conn: http.client.HTTPConnection, message: dict, headers: dict) -> tuple[int, dict, bytes]:
    """POST one JSON-RPC message to /mcp; returns (status, headers, body)."""
    body = json.dumps(message).encode()
    conn.request("POST", "/mcp", body=body, headers={"Content-Type": "application/json",
                                                      "Accept": "application/json, text/event-stream", **headers})
    reply = conn.getresponse()
    return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()


def _result(body: bytes) -> dict:
    """The JSON-RPC message of a JSON or single-event SSE reply body."""
    text = body.decode()
    if text.lstrip().startswith("{"):
        return json.loads(text)
    return json.loads(next(line[5:] for line in text.splitlines() if line.startswith("data:")))


def session_headers(port: int) -> dict:
    """Initialize an MCP session; the headers every later request must carry (none if the server has no session)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    status, headers, body = post(conn, INITIALIZE, {})
    if status != 200:
        raise RuntimeError(f"initialize failed: {status} {body[:200]!r}")
    session = {"MCP-Protocol-Version": _result(body)["result"]["protocolVersion"]}
    if "mcp-session-id" in headers:
        session["Mcp-Session-Id"] = headers["mcp-session-id"]
    post(conn, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
    conn.close()
    return session


def client_loop(port: int, headers: dict | None, start_at: float, seconds: float,
                max_calls: int) -> tuple[list[float], int, float]:
    """One client process: tools/call as fast as replies come, from start_at for `seconds` or `max_calls` calls.

    `headers=None` opens this client's own session first (one session per connection, as real clients do).
    Request ids are unique within the client: a stateful server routes replies by id.

    Returns (latency in seconds of each successful call, failed calls, seconds spent); a failure (refused/reset connection,
    error reply) is counted and the client reconnects.
    """
    if headers is None:
        headers = session_headers(port)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.time() < start_at:
        time.sleep(0.001)
    latencies: list[float] = []
    failed = 0
    stop_at = start_at + seconds
    while time.time() < stop_at and len(latencies) + failed < max_calls:
        began = time.perf_counter()
        try:
            status, _, body = post(conn, {**CALL, "id": len(latencies) + failed + 1}, headers)
        except (OSError, http.client.HTTPException):
            conn.close()
            failed += 1
            continue
        if status == 200 and b'"result"' in body:
            latencies.append(time.perf_counter() - began)
        else:
            failed += 1
    conn.close()
    return latencies, failed, time.time() - start_at


@dataclass
class LoadRun:
    """One measuring window: successful calls per second, failed calls, and every successful call's latency."""

    rate: float
    failed: int
    latencies: list[float]


def run_load(port: int, headers: dict | None, clients: int, seconds: float, max_calls: int = 1_000_000) -> LoadRun:
    """`clients` concurrent client processes, one keep-alive connection each, for one window.

    `headers` go on every call; None gives each client its own session (see client_loop).
    """
    start_at = time.time() + 0.5 + 0.05 * clients  # time for the worker processes to start
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        results = pool.starmap(client_loop, [(port, headers, start_at, seconds, max_calls)] * clients)
    elapsed = max(spent for _, _, spent in results)
    latencies = [value for lat, _, _ in results for value in lat]
    return LoadRun(len(latencies) / elapsed, sum(failed for _, failed, _ in results), latencies)


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def rss_mib(pid: int) -> float:
    """Resident memory (VmRSS from /proc/<pid>/status) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def startup_seconds(script: Path, env: dict, timeout: float = 30.0) -> float:
    """Seconds from spawning `python <script>` (PORT set) to its first successful initialize; the process is stopped."""
    port = free_port()
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(script)], env={**env, "PORT": str(port)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - began < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"{script} exited with {proc.returncode} during start-up")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                status, _, _ = post(conn, INITIALIZE, {})
                conn.close()
                if status == 200:
                    return time.perf_counter() - began
            except OSError:
                pass
            time.sleep(0.002)
        raise RuntimeError(f"{script} did not answer initialize within {timeout}s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def checkout_server_code(revision: str, into: Path) -> Path:
    """server_code/ as it is at git `revision`, written to the directory `into` (returned)."""
    names = subprocess.run(["git", "ls-tree", "--name-only", f"{revision}:server_code"], cwd=REPO_ROOT,
                           check=True, capture_output=True, text=True).stdout.split()
    for name in names:
        (into / name).write_bytes(subprocess.run(["git", "show", f"{revision}:server_code/{name}"], cwd=REPO_ROOT,
                                                 check=True, capture_output=True).stdout)
    return into
