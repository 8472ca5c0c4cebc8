"""tools/call requests per second of one mock MCP server next to the tutorial-pattern baseline, same run, same box.

Each client is its own process (so the client side is not one GIL) with one HTTP connection that it keeps
alive when the server allows it (the baseline speaks HTTP/1.0, so it reconnects per request). A run counts
the successful tools/call replies in a fixed time window; the figure is the median over the runs.

    .venv/bin/python bench/server_throughput.py [--server github] [--clients 1,16] [--seconds 2] [--runs 3]

Client and servers share this machine's CPUs: the figures compare the two servers, they are not capacity.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from tests.server_process import ServerProcess, start_server  # noqa: E402

BASELINE_SCRIPT = REPO_ROOT / "bench" / "baselines" / "tutorial_server.py"
CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "get_repo", "arguments": {"owner": "octocat", "repo": "hello-world"}}}
PROBES = {"github": CALL["params"]}  # the tool the baseline also implements


@dataclass
class Target:
    """A server under test: how to start it and which headers a tools/call needs (session etc.)."""

    label: str
    start: Callable[[Path], ServerProcess]
    headers: Callable[[int], dict]


def post(conn: http.client.HTTPConnection, message: dict, headers: dict) -> tuple[int, dict, bytes]:
    body = json.dumps(message).encode()
    conn.request("POST", "/mcp", body=body, headers={"Content-Type": "application/json",
                                                      "Accept": "application/json, text/event-stream", **headers})
    reply = conn.getresponse()
    return reply.status, dict(reply.getheaders()), reply.read()


def mock_session_headers(port: int) -> dict:
    """Initialize an MCP session on the mock server; the headers every later request must carry."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}}
    status, headers, body = post(conn, init, {})
    if status != 200:
        raise RuntimeError(f"initialize failed: {status} {body[:200]!r}")
    session = {"Mcp-Session-Id": headers["Mcp-Session-Id"], "MCP-Protocol-Version": json.loads(body)["result"]["protocolVersion"]}
    post(conn, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
    conn.close()
    return session


def client_loop(port: int, headers: dict, start_at: float, seconds: float) -> tuple[int, int]:
    """One client process: tools/call as fast as replies come, from start_at for `seconds`.

    Returns (successful calls, failed calls); a failure (refused/reset connection, error reply) is counted
    and the client reconnects, because an overloaded baseline resets connections.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.time() < start_at:
        time.sleep(0.001)
    done = failed = 0
    stop_at = start_at + seconds
    while time.time() < stop_at:
        try:
            status, _, body = post(conn, CALL, headers)
        except (OSError, http.client.HTTPException):
            conn.close()
            failed += 1
            continue
        if status == 200 and b'"result"' in body:
            done += 1
        else:
            failed += 1
    conn.close()
    return done, failed


def requests_per_second(port: int, headers: dict, clients: int, seconds: float) -> tuple[float, int]:
    """Aggregate successful tools/call rate of `clients` concurrent client processes over one window, and failures."""
    start_at = time.time() + 0.5 + 0.05 * clients  # time for the worker processes to start
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        counts = pool.starmap(client_loop, [(port, headers, start_at, seconds)] * clients)
    return sum(done for done, _ in counts) / seconds, sum(failed for _, failed in counts)


def targets(server: str) -> list[Target]:
    return [
        Target(f"server_code/{server}.py (threaded, keep-alive, sessions)",
               lambda tmp: start_server(server, env={"MCP_SESSION_KEY": "bench-key-0123456789abcdef"}, tmp_dir=tmp),
               mock_session_headers),
        Target("tutorial reconstruction (single-threaded, HTTP/1.0)",
               lambda tmp: start_server("tutorial", tmp_dir=tmp, script=BASELINE_SCRIPT),
               lambda port: {}),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="github", choices=sorted(PROBES))
    parser.add_argument("--clients", default="1,16", help="comma list of concurrent client counts")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one measuring window")
    parser.add_argument("--runs", type=int, default=3, help="windows per figure; the median is reported")
    args = parser.parse_args()
    client_counts = [int(c) for c in args.clients.split(",")]
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))

    print(f"# tools/call get_repo, {args.runs} x {args.seconds:g}s windows, median; "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, clients on the same machine")
    rates: dict[tuple[str, int], float] = {}
    for target in targets(args.server):
        process = target.start(tmp)
        try:
            headers = target.headers(process.port)
            for clients in client_counts:
                runs = [requests_per_second(process.port, headers, clients, args.seconds) for _ in range(args.runs)]
                rates[target.label, clients] = statistics.median(rate for rate, _ in runs)
                print(f"{target.label:<55} clients={clients:<3} {rates[target.label, clients]:>7.0f} req/s  "
                      f"(runs: {', '.join(f'{r:.0f}' for r, _ in runs)}; failed calls: {sum(f for _, f in runs)})")
        finally:
            process.stop()
    mock, baseline = (t.label for t in targets(args.server))
    for clients in client_counts:
        print(f"ratio mock/tutorial, clients={clients}: {rates[mock, clients] / rates[baseline, clients]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
