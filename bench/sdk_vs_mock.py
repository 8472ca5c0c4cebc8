"""One mock server (server_code/github.py) vs the official MCP SDK server (bench/sdk_server.py), same run, same box,
and the same mock at earlier git revisions (`--before-ref`, default 7288011: the single-file core before the
issue-13 split) so a change is measured before/after.

Both serve github.py's catalog and run side by side; the load windows alternate between them (mock, SDK,
mock, SDK, ...) so that noise from other work on the machine hits both alike. For each: tools/call get_repo
req/s and p50/p99 latency at 1 and 16 concurrent keep-alive connections (median over runs), server CPU time
per call, failed calls and dropped connections, resident memory after the load, and start-up time from spawn
to the first successful initialize (median over runs). Prints the ratio mock/SDK and the issue-7 targets.

The load comes from `wrk` (bench/wrk_load.py; `apt-get install -y wrk`); without it the script falls back to
Python client processes and says so in its header line.

    .venv/bin/python bench/sdk_vs_mock.py [--before-ref 7288011[,main]|none] [--clients 1,16] [--seconds 3]
        [--runs 3]

Both mocks run as a pod runs them, without the busy poll (MCP_BUSY_POLL_MICROSECONDS=0; main's code defaulted
to 100 µs, so it is set explicitly); `--busy-poll N` switches it on for both.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mcp_load import REPO_ROOT, checkout_server_code, rss_mib, startup_seconds  # noqa: E402
from table import print_table  # noqa: E402  (bench/table.py)
from tests.server_process import SERVER_CODE, ServerProcess, start_server  # noqa: E402
from wrk_load import LoadResult, cpu_seconds, generator_name, load  # noqa: E402

MOCK_ENV = {"MCP_SESSION_KEY": "bench-key-0123456789abcdef"}
SDK_SCRIPT = REPO_ROOT / "bench" / "sdk_server.py"


@dataclass
class Figures:
    """Every window measured for one server, per connection count, and its medians."""

    windows: dict[int, list[LoadResult]] = field(default_factory=dict)
    cpu_us: dict[int, list[float]] = field(default_factory=dict)
    rss_mib: float = 0.0
    idle_rss_mib: float = 0.0
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


def rows_for(count: int, figures: dict[str, Figures]) -> list[tuple[str, ...]]:
    """The table rows of one connection count: one column per server, then now/SDK and the target."""
    mock, sdk = figures["now"], figures["sdk"]
    names = list(figures)

    def cells(value) -> list[str]:
        return [value(figures[name]) for name in names]

    rate_m, rate_s = mock.median(count, "rate"), sdk.median(count, "rate")
    clean = mock.failed(count) == 0 and mock.dropped(count) == 0
    factor = 10 if count >= 16 else 8
    rows = [(f"tools/call req/s, {count} conn", *cells(lambda f: f"{f.median(count, 'rate'):.0f}"),
             f"{rate_m / rate_s:.1f}x", f">= {factor}x, none failed/dropped: "
                                         f"{verdict(rate_m >= factor * rate_s and clean)}")]
    for label, attribute in (("p50", "p50_ms"), ("p99", "p99_ms")):
        m, s = mock.median(count, attribute), sdk.median(count, attribute)
        target = f"<= 5 ms: {verdict(m <= 5)}" if label == "p99" and count == 16 else ""
        rows.append((f"{label} latency ms, {count} conn", *cells(lambda f: f"{f.median(count, attribute):.2f}"),
                     f"{m / s:.2f}x", target))
    cpu_m, cpu_s = statistics.median(mock.cpu_us[count]), statistics.median(sdk.cpu_us[count])
    rows.append((f"server CPU us/call, {count} conn", *cells(lambda f: f"{statistics.median(f.cpu_us[count]):.0f}"),
                 f"{cpu_m / cpu_s:.2f}x", ""))
    rows.append((f"failed calls / dropped conns, {count} conn", *cells(lambda f: f"{f.failed(count)} / "
                                                                                f"{f.dropped(count)}"), "", ""))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before-ref", "--before", dest="before", default="7288011",
                        help="comma list of git revisions whose server_code/ is measured too, each in its own "
                             "column (default 7288011, the core before the issue-13 split; 'none': skip)")
    parser.add_argument("--busy-poll", type=int, default=0, metavar="US",
                        help="MCP_BUSY_POLL_MICROSECONDS of both mocks (default 0: off, as a pod runs them)")
    parser.add_argument("--clients", default="1,16", help="comma list of concurrent keep-alive connections")
    parser.add_argument("--seconds", type=int, default=3, help="length of one load window")
    parser.add_argument("--runs", type=int, default=3, help="windows per server and figure; the median is reported")
    parser.add_argument("--startups", type=int, default=5, help="start-ups timed per server; the median is reported")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]

    refs = [] if args.before == "none" else args.before.split(",")
    with tempfile.TemporaryDirectory(prefix="bench-before-") as before_dir:
        servers = {}
        for index, ref in enumerate(refs):
            (Path(before_dir) / str(index)).mkdir()
            servers[ref] = checkout_server_code(ref, Path(before_dir) / str(index)) / "github.py"
        servers.update({"now": SERVER_CODE / "github.py", "sdk": SDK_SCRIPT})
        env_of = {name: dict(MOCK_ENV) for name in servers}
        for name in servers:
            if name != "sdk":
                env_of[name]["MCP_BUSY_POLL_MICROSECONDS"] = str(args.busy_poll)
        print(f"# mock server_code/github.py now{f' and at {args.before} (before)' if refs else ''} "
              f"vs SDK mcp 2.3.0 MCPServer (bench/sdk_server.py, JSON replies, stateful); tools/call get_repo, "
              f"{args.runs} x {args.seconds}s windows per server, interleaved, median", flush=True)
        print(f"# MCP_BUSY_POLL_MICROSECONDS={args.busy_poll} for both mocks (0: off, as a pod runs them)",
              flush=True)
        print(f"# load generator: {generator_name()}", flush=True)
        print(f"# machine: {machine()}; load average before: {load_average()}", flush=True)
        figures = {name: Figures() for name in servers}
        tmp = Path(os.environ.get("TMPDIR", "/tmp"))
        processes: dict[str, ServerProcess] = {}
        try:
            for name, script in servers.items():
                processes[name] = start_server(f"bench-{name}", env=env_of[name], tmp_dir=tmp, script=script,
                                               timeout=60)
                figures[name].idle_rss_mib = rss_mib(processes[name].proc.pid)
            for count in clients:
                for _ in range(args.runs):
                    for name, process in processes.items():
                        measure_window(name, process, figures[name], count, args.seconds)
            for name, process in processes.items():
                figures[name].rss_mib = rss_mib(process.proc.pid)
        finally:
            for process in processes.values():
                process.stop()
        startups: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(args.startups):  # interleaved too
            for name, script in servers.items():
                env = {**os.environ, **env_of[name], "PYTHONUNBUFFERED": "1"}
                startups[name].append(startup_seconds(script, env))
    for name in servers:
        figures[name].startup_ms = statistics.median(startups[name]) * 1000
    print(f"# load average after: {load_average()}", flush=True)

    mock, sdk = figures["now"], figures["sdk"]
    rows = [row for count in clients for row in rows_for(count, figures)]
    rows.append(("RSS idle (after start-up), MiB", *[f"{f.idle_rss_mib:.1f}" for f in figures.values()],
                 f"{mock.idle_rss_mib / sdk.idle_rss_mib:.2f}x",
                 f"<= 25 MB: {verdict(mock.idle_rss_mib * 1.048576 <= 25)}"))
    rows.append(("RSS after load, MiB", *[f"{f.rss_mib:.1f}" for f in figures.values()],
                 f"{mock.rss_mib / sdk.rss_mib:.2f}x", ""))
    rows.append(("start-up to initialize, ms", *[f"{f.startup_ms:.0f}" for f in figures.values()],
                 f"{mock.startup_ms / sdk.startup_ms:.2f}x", f"< 150 ms: {verdict(mock.startup_ms < 150)}"))
    header = ("measure", *(f"mock {name}" if name != "sdk" else "SDK" for name in figures), "now/SDK",
              "target (mock now)")
    print_table(header, rows, numeric=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
