"""One mock server (server_code/github.py) vs the official MCP SDK server (bench/sdk_server.py), same run, same box.

Both serve github.py's catalog and run side by side; the load windows alternate between them (mock, SDK,
mock, SDK, ...) so that noise from other work on the machine hits both alike. For each: tools/call get_repo
req/s and p50/p99 latency at 1 and 16 concurrent keep-alive connections (median over runs), server CPU time
per call, failed calls and dropped connections, resident memory after the load, and start-up time from spawn
to the first successful initialize (median over runs). Prints the ratio mock/SDK and the issue-7 targets.

The load comes from `wrk` (bench/wrk_load.py; `apt-get install -y wrk`); without it the script falls back to
Python client processes and says so in its header line.

    .venv/bin/python bench/sdk_vs_mock.py [--clients 1,16] [--seconds 3] [--runs 3] [--startups 5]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mcp_load import REPO_ROOT, rss_mib, startup_seconds  # noqa: E402
from table import print_table  # noqa: E402  (bench/table.py)
from tests.server_process import SERVER_CODE, ServerProcess, start_server  # noqa: E402
from wrk_load import LoadResult, cpu_seconds, generator_name, load  # noqa: E402

MOCK_ENV = {"MCP_SESSION_KEY": "bench-key-0123456789abcdef"}
SERVERS = {"mock": SERVER_CODE / "github.py", "sdk": REPO_ROOT / "bench" / "sdk_server.py"}


@dataclass
class Figures:
    """Every window measured for one server, per connection count, and its medians."""

    windows: dict[int, list[LoadResult]] = field(default_factory=dict)
    cpu_us: dict[int, list[float]] = field(default_factory=dict)
    rss_mib: float = 0.0
    startup_ms: float = 0.0

    def median(self, count: int, attribute: str) -> float:
        return statistics.median(getattr(window, attribute) for window in self.windows[count])

    def failed(self, count: int) -> int:
        return sum(window.failed for window in self.windows[count])

    def dropped(self, count: int) -> int:
        return sum(window.dropped for window in self.windows[count])


def machine() -> str:
    """CPU count and model (from /proc/cpuinfo), Python version, load average: the conditions of the run."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), model)
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}"


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def measure_window(name: str, process: ServerProcess, figures: Figures, count: int, seconds: int) -> None:
    """One load window on one server; records the result and the server's CPU time per successful call."""
    before = cpu_seconds(process.proc.pid)
    result = load(process.port, count, seconds)
    used = cpu_seconds(process.proc.pid) - before
    figures.windows.setdefault(count, []).append(result)
    figures.cpu_us.setdefault(count, []).append(used / max(result.calls, 1) * 1e6)
    print(f"  {name:<4} conns={count:<3} {result.rate:>7.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
          f"p99 {result.p99_ms:6.2f} ms  cpu {figures.cpu_us[count][-1]:6.1f} us/call  failed {result.failed}  "
          f"dropped {result.dropped}", flush=True)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def rows_for(count: int, mock: Figures, sdk: Figures) -> list[tuple[str, ...]]:
    """The table rows of one connection count."""
    rate_m, rate_s = mock.median(count, "rate"), sdk.median(count, "rate")
    clean = mock.failed(count) == 0 and mock.dropped(count) == 0
    rows = [(f"tools/call req/s, {count} conn", f"{rate_m:.0f}", f"{rate_s:.0f}", f"{rate_m / rate_s:.1f}x",
             f">= 10x, none failed/dropped: {verdict(rate_m >= 10 * rate_s and clean)}")]
    for label, attribute in (("p50", "p50_ms"), ("p99", "p99_ms")):
        m, s = mock.median(count, attribute), sdk.median(count, attribute)
        target = f"< 5 ms: {verdict(m < 5)}" if label == "p99" and count == 16 else ""
        rows.append((f"{label} latency ms, {count} conn", f"{m:.2f}", f"{s:.2f}", f"{m / s:.2f}x", target))
    cpu_m, cpu_s = statistics.median(mock.cpu_us[count]), statistics.median(sdk.cpu_us[count])
    rows.append((f"server CPU us/call, {count} conn", f"{cpu_m:.0f}", f"{cpu_s:.0f}", f"{cpu_m / cpu_s:.2f}x", ""))
    rows.append((f"failed calls / dropped conns, {count} conn", f"{mock.failed(count)} / {mock.dropped(count)}",
                 f"{sdk.failed(count)} / {sdk.dropped(count)}", "", ""))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,16", help="comma list of concurrent keep-alive connections")
    parser.add_argument("--seconds", type=int, default=3, help="length of one load window")
    parser.add_argument("--runs", type=int, default=3, help="windows per server and figure; the median is reported")
    parser.add_argument("--startups", type=int, default=5, help="start-ups timed per server; the median is reported")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]

    print(f"# mock server_code/github.py vs SDK mcp 2.3.0 MCPServer (bench/sdk_server.py, JSON replies, stateful); "
          f"tools/call get_repo, {args.runs} x {args.seconds}s windows per server, interleaved, median", flush=True)
    print(f"# load generator: {generator_name()}", flush=True)
    print(f"# machine: {machine()}; load average before: {load_average()}", flush=True)
    figures = {name: Figures() for name in SERVERS}
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    processes: dict[str, ServerProcess] = {}
    try:
        for name, script in SERVERS.items():
            processes[name] = start_server(f"bench-{name}", env=MOCK_ENV, tmp_dir=tmp, script=script, timeout=60)
        for count in clients:
            for _ in range(args.runs):
                for name, process in processes.items():
                    measure_window(name, process, figures[name], count, args.seconds)
        for name, process in processes.items():
            figures[name].rss_mib = rss_mib(process.proc.pid)
    finally:
        for process in processes.values():
            process.stop()
    env = {**os.environ, **MOCK_ENV, "PYTHONUNBUFFERED": "1"}
    startups: dict[str, list[float]] = {name: [] for name in SERVERS}
    for _ in range(args.startups):  # interleaved too
        for name, script in SERVERS.items():
            startups[name].append(startup_seconds(script, env))
    for name in SERVERS:
        figures[name].startup_ms = statistics.median(startups[name]) * 1000
    print(f"# load average after: {load_average()}", flush=True)

    mock, sdk = figures["mock"], figures["sdk"]
    rows = [row for count in clients for row in rows_for(count, mock, sdk)]
    rows.append(("RSS after load, MiB", f"{mock.rss_mib:.1f}", f"{sdk.rss_mib:.1f}",
                 f"{mock.rss_mib / sdk.rss_mib:.2f}x", f"< 25 MB: {verdict(mock.rss_mib * 1.048576 < 25)}"))
    rows.append(("start-up to initialize, ms", f"{mock.startup_ms:.0f}", f"{sdk.startup_ms:.0f}",
                 f"{mock.startup_ms / sdk.startup_ms:.2f}x", f"< 150 ms: {verdict(mock.startup_ms < 150)}"))
    print_table(("measure", "mock", "SDK", "mock/SDK", "target (mock)"), rows, numeric=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
