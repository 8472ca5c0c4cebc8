"""One mock server (server_code/github.py) vs the official MCP SDK server (bench/sdk_server.py), same run, same box.

Both serve github.py's catalog. For each: tools/call get_repo req/s and p50/p99 latency at 1 and 16 concurrent
keep-alive connections, one MCP session each (median over runs), resident memory after the load, and start-up time from spawn to the
first successful initialize (median over runs). Prints the ratio mock/SDK and the issue-7 targets, met or not.

    .venv/bin/python bench/sdk_vs_mock.py [--clients 1,16] [--seconds 2] [--runs 3] [--max-calls 20000] [--startups 5]

Clients and servers share this machine's CPUs: the figures compare the two servers, they are not capacity.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mcp_load import REPO_ROOT, percentile, rss_mib, run_load, startup_seconds  # noqa: E402
from tests.server_process import SERVER_CODE, start_server  # noqa: E402
from table import print_table  # noqa: E402  (bench/table.py)

MOCK_ENV = {"MCP_SESSION_KEY": "bench-key-0123456789abcdef"}
SERVERS = {"mock": SERVER_CODE / "github.py", "sdk": REPO_ROOT / "bench" / "sdk_server.py"}


@dataclass
class Figures:
    """The medians measured for one server."""

    rate: dict[int, float]
    p50_ms: dict[int, float]
    p99_ms: dict[int, float]
    failed: dict[int, int]
    rss_mib: float = 0.0
    startup_ms: float = 0.0


def measure(name: str, args: argparse.Namespace, clients: list[int]) -> Figures:
    """Load one server at each client count, then read its RSS; start-up is measured on fresh processes."""
    figures = Figures({}, {}, {}, {})
    process = start_server(f"bench-{name}", env=MOCK_ENV, tmp_dir=Path(os.environ.get("TMPDIR", "/tmp")),
                           script=SERVERS[name], timeout=60)
    try:
        for count in clients:
            runs = [run_load(process.port, None, count, args.seconds, args.max_calls // count)
                    for _ in range(args.runs)]
            figures.rate[count] = statistics.median(run.rate for run in runs)
            figures.p50_ms[count] = statistics.median(percentile(run.latencies, 0.50) for run in runs) * 1000
            figures.p99_ms[count] = statistics.median(percentile(run.latencies, 0.99) for run in runs) * 1000
            figures.failed[count] = sum(run.failed for run in runs)
            print(f"  {name:<4} clients={count:<3} {figures.rate[count]:>7.0f} req/s  p50 {figures.p50_ms[count]:6.2f} ms"
                  f"  p99 {figures.p99_ms[count]:6.2f} ms  failed {figures.failed[count]}", flush=True)
        figures.rss_mib = rss_mib(process.proc.pid)
    finally:
        process.stop()
    env = {**os.environ, **MOCK_ENV, "PYTHONUNBUFFERED": "1"}
    figures.startup_ms = statistics.median(startup_seconds(SERVERS[name], env) for _ in range(args.startups)) * 1000
    return figures


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,16", help="comma list of concurrent keep-alive connections")
    parser.add_argument("--seconds", type=float, default=2.0, help="upper bound on one measuring window")
    parser.add_argument("--runs", type=int, default=3, help="windows per figure; the median is reported")
    parser.add_argument("--max-calls", type=int, default=20000, help="upper bound on calls per window (all clients)")
    parser.add_argument("--startups", type=int, default=5, help="start-ups timed per server; the median is reported")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]

    print(f"# mock server_code/github.py vs SDK mcp 2.3.0 MCPServer (bench/sdk_server.py, JSON replies, stateful); "
          f"tools/call get_repo, {args.runs} x <= {args.seconds:g}s windows, median; "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, clients on the same machine", flush=True)
    mock, sdk = measure("mock", args, clients), measure("sdk", args, clients)

    rows = []
    for count in clients:
        rows.append((f"tools/call req/s, {count} conn", f"{mock.rate[count]:.0f}", f"{sdk.rate[count]:.0f}",
                     f"{mock.rate[count] / sdk.rate[count]:.1f}x",
                     f">= 10x: {verdict(mock.rate[count] >= 10 * sdk.rate[count] and mock.failed[count] == 0)}"))
        rows.append((f"p50 latency ms, {count} conn", f"{mock.p50_ms[count]:.2f}", f"{sdk.p50_ms[count]:.2f}",
                     f"{mock.p50_ms[count] / sdk.p50_ms[count]:.2f}x", ""))
        target = f"< 5 ms: {verdict(mock.p99_ms[count] < 5)}" if count == 16 else ""
        rows.append((f"p99 latency ms, {count} conn", f"{mock.p99_ms[count]:.2f}", f"{sdk.p99_ms[count]:.2f}",
                     f"{mock.p99_ms[count] / sdk.p99_ms[count]:.2f}x", target))
        rows.append((f"failed calls, {count} conn", str(mock.failed[count]), str(sdk.failed[count]), "", ""))
    rows.append(("RSS after load, MiB", f"{mock.rss_mib:.1f}", f"{sdk.rss_mib:.1f}",
                 f"{mock.rss_mib / sdk.rss_mib:.2f}x", f"< 25 MB: {verdict(mock.rss_mib * 1.048576 < 25)}"))
    rows.append(("start-up to initialize, ms", f"{mock.startup_ms:.0f}", f"{sdk.startup_ms:.0f}",
                 f"{mock.startup_ms / sdk.startup_ms:.2f}x", f"< 150 ms: {verdict(mock.startup_ms < 150)}"))
    header = ("measure", "mock", "SDK", "mock/SDK", "target (mock)")
    print_table(header, rows, numeric=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
