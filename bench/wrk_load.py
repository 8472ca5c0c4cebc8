"""tools/call load from `wrk` (a C load generator, Debian package `wrk`) with bench/wrk_tools_call.lua.

wrk keeps its connections alive, sends POST tools/call get_repo with the session headers, and the script
counts every reply that is not HTTP 200 with a JSON-RPC result; socket errors (connect/read/write/timeout)
are dropped connections. When wrk is not installed, `load()` falls back to the Python client processes of
bench/mcp_load.py and says so: that client shares the CPUs with the server and can be the bottleneck.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mcp_load import percentile, run_load, session_headers  # noqa: E402

SCRIPT = Path(__file__).resolve().parent / "wrk_tools_call.lua"
INSTALL_HINT = "apt-get install -y wrk"


@dataclass
class LoadResult:
    """One measuring window: successful calls per second, latency percentiles, and what went wrong."""

    rate: float
    p50_ms: float
    p99_ms: float
    calls: int
    failed: int                       # bad replies (non-200 or no JSON-RPC result)
    socket_errors: dict = field(default_factory=dict)  # wrk: connect/read/write/timeout counts

    @property
    def dropped(self) -> int:
        """Connections that failed at the socket level (0 with a healthy keep-alive server)."""
        return sum(self.socket_errors.values())


def wrk_path() -> str | None:
    """The wrk executable, or None when it is not installed."""
    return shutil.which("wrk")


def generator_name() -> str:
    """Which load generator `load` will use, for the printed header."""
    if wrk_path():
        version = subprocess.run([wrk_path(), "--version"], capture_output=True, text=True).stdout.split("[")[0]
        return f"{version.strip() or 'wrk'} (C, 1 thread), script bench/wrk_tools_call.lua"
    return (f"FALLBACK: Python client processes (bench/mcp_load.py) because wrk is not installed "
            f"({INSTALL_HINT}); they compete with the server for CPU, so figures are lower bounds")


def wrk_load(url: str, headers: dict, connections: int, seconds: int) -> LoadResult:
    """Run wrk for `seconds` with `connections` keep-alive connections, all on one MCP session."""
    command = [wrk_path(), "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
               "-s", str(SCRIPT), url, "--", headers["MCP-Protocol-Version"], headers.get("Mcp-Session-Id", "-")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((l for l in done.stdout.splitlines() if l.startswith("WRK_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {done.returncode}): {done.stdout[-1000:]} {done.stderr[-1000:]}")
    result = json.loads(line[len("WRK_RESULT "):])
    errors = {k: v for k, v in result["errors"].items() if k != "status"}  # status is in bad_replies
    calls = result["requests"] - result["bad_replies"]
    return LoadResult(rate=calls / (result["duration_us"] / 1e6), p50_ms=result["latency_us"]["p50"] / 1000,
                      p99_ms=result["latency_us"]["p99"] / 1000, calls=calls, failed=result["bad_replies"],
                      socket_errors=errors)


def python_load(port: int, connections: int, seconds: int) -> LoadResult:
    """The fallback: one Python client process per connection (bench/mcp_load.py), each on its own session."""
    run = run_load(port, None, connections, seconds)
    return LoadResult(rate=run.rate, p50_ms=percentile(run.latencies, 0.50) * 1000,
                      p99_ms=percentile(run.latencies, 0.99) * 1000, calls=len(run.latencies), failed=run.failed)


def load(port: int, connections: int, seconds: int) -> LoadResult:
    """tools/call load on http://127.0.0.1:<port>/mcp: wrk if installed, else the Python fallback."""
    if not wrk_path():
        return python_load(port, connections, seconds)
    return wrk_load(f"http://127.0.0.1:{port}/mcp", session_headers(port), connections, seconds)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc/<pid>/stat: utime, stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
