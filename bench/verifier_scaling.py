"""Verifier wall time for 1, 10 and 50 routes, all served locally, to show how far route checks run concurrently.

Three mock servers (fetch, github, slack) run as processes; bench/passthrough_front.py (a light stand-in for
agentgateway: path -> upstream, SSE replies, denied tools hidden and refused) exposes N routes /mcp/r<i> over
them in turn, each denying its server's dangerous tools. The plan comes from components.plan.verification_entry,
as the program builds it. The verifier runs as the CLI (`python -m verify --plan ... --deadline 0 --json`), one
process per run. For each added latency (`--latency-ms`, a stand-in for the network hop to a real gateway; 0 =
loopback only) the table shows medians over runs of the verifier's own elapsed time, and the CPU time spent by
the verifier process, the front and the mock servers during a run, so it is clear what limits the time.
`--max-workers 8,50` also runs the verifier with verify.runner.MAX_WORKERS set to each value (patched in the
verifier process at start, the code is not changed), to show what its concurrency cap costs.

    .venv/bin/python bench/verifier_scaling.py [--routes 1,10,50] [--latency-ms 0,20,100] [--max-workers 8,50] [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from components.catalog import load_catalog  # noqa: E402
from components.plan import verification_entry  # noqa: E402
from tests.server_process import SERVER_CODE, ServerProcess, start_server  # noqa: E402
from verify.runner import MAX_WORKERS  # noqa: E402
from table import print_table  # noqa: E402  (bench/table.py)
from wrk_load import cpu_seconds  # noqa: E402

SERVERS = ("fetch", "github", "slack")
FRONT = REPO_ROOT / "bench" / "passthrough_front.py"
VERIFY_TIMEOUT = 300
# `python -m verify` with verify.runner.MAX_WORKERS set from argv[1] first (a what-if, without editing verify/).
VERIFY_WITH_WORKERS = ("import sys, verify.runner as runner; runner.MAX_WORKERS = int(sys.argv.pop(1)); "
                       "from verify.cli import main; sys.exit(main(sys.argv[1:]))")
START_TIMEOUT = 60


@dataclass
class Run:
    """One verifier run: its reported elapsed seconds and the CPU seconds each party used meanwhile."""

    elapsed: float
    verifier_cpu: float
    front_cpu: float
    servers_cpu: float


class Front:
    """bench/passthrough_front.py as a process, for one set of routes."""

    def __init__(self, routes: list[dict], latency_ms: float, tmp: Path, jwt: dict | None = None):
        routes_file = tmp / f"routes-{len(routes)}-{latency_ms:g}.json"
        routes_file.write_text(json.dumps(routes))
        extra = []
        if jwt is not None:
            (tmp / "jwt.json").write_text(json.dumps(jwt))
            extra = ["--jwt", str(tmp / "jwt.json")]
        self.proc = subprocess.Popen([sys.executable, str(FRONT), "--routes", str(routes_file),
                                      "--latency-ms", str(latency_ms), *extra], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # blocks until the front listens (or exits)
        if not line.startswith("LISTENING "):
            self.stop()
            raise RuntimeError(f"passthrough front did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_verifier(front: Front, servers: list[ServerProcess], plan: list[dict], workers: int, tmp: Path,
                 token: str | None = None) -> Run:
    """One verifier CLI run (with MAX_WORKERS = `workers`) that must pass; `token` goes in via --token-env."""
    plan_file = tmp / f"plan-{len(plan)}.json"
    plan_file.write_text(json.dumps(plan))
    token_args = ["--token-env", "BENCH_VERIFY_TOKEN"] if token else []
    env = {**os.environ, "BENCH_VERIFY_TOKEN": token} if token else None
    cpu_before = (children_cpu(), cpu_seconds(front.proc.pid), sum(cpu_seconds(s.proc.pid) for s in servers))
    done = subprocess.run([sys.executable, "-c", VERIFY_WITH_WORKERS, str(workers), "--plan", str(plan_file),
                           "--gateway-url", front.url, "--deadline", "0", "--json", *token_args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=VERIFY_TIMEOUT, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"verifier failed (exit {done.returncode}) for {len(plan)} routes:\n"
                           f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return Run(json.loads(done.stdout)["summary"]["elapsedSeconds"], children_cpu() - cpu_before[0],
               cpu_seconds(front.proc.pid) - cpu_before[1],
               sum(cpu_seconds(s.proc.pid) for s in servers) - cpu_before[2])


def start_servers(tmp: Path, stack: ExitStack) -> dict[str, ServerProcess]:
    """The mock servers of SERVERS as processes (stopped when `stack` closes), by name."""
    servers = {}
    for name in SERVERS:
        servers[name] = start_server(name, env={"MCP_SESSION_KEY": "bench-key-0123456789abcdef"}, tmp_dir=tmp,
                                     timeout=START_TIMEOUT)
        stack.callback(servers[name].stop)
    return servers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routes", default="1,10,50", help="comma list of route counts")
    parser.add_argument("--latency-ms", default="0,20,100", help="comma list of delays the front adds per request")
    parser.add_argument("--max-workers", default=f"{MAX_WORKERS},50",
                        help=f"comma list of verifier MAX_WORKERS values to run with (its own: {MAX_WORKERS})")
    parser.add_argument("--runs", type=int, default=3, help="verifier runs per count; the median is reported")
    args = parser.parse_args()
    counts = [int(c) for c in args.routes.split(",")]
    latencies = [float(v) for v in args.latency_ms.split(",")]
    configs = [(latency, int(workers)) for latency in latencies for workers in args.max_workers.split(",")]
    print(f"# python -m verify --deadline 0 against bench/passthrough_front.py, {args.runs} runs per row, median; "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}; "
          f"the verifier checks at most MAX_WORKERS = {MAX_WORKERS} routes at once (verify/runner.py)", flush=True)
    catalogs = {name: load_catalog(SERVER_CODE, f"{name}.py") for name in SERVERS}
    rows, ratios = [], []
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp_dir, ExitStack() as stack:
        tmp = Path(tmp_dir)
        servers = start_servers(tmp, stack)
        for latency, workers in configs:
            first = None
            for count in counts:
                routes, plan = [], []
                for i in range(count):
                    name = SERVERS[i % len(SERVERS)]
                    denied = tuple(tool.name for tool in catalogs[name].tools if tool.dangerous)
                    routes.append({"path": f"/mcp/r{i}", "upstream": servers[name].base_url, "denied": denied})
                    plan.append(verification_entry(f"r{i}", f"/mcp/r{i}", catalogs[name], denied))
                front = Front(routes, latency, tmp)
                try:
                    runs = [run_verifier(front, list(servers.values()), plan, workers, tmp)
                            for _ in range(args.runs)]
                finally:
                    front.stop()
                elapsed = statistics.median(run.elapsed for run in runs)
                first = first or elapsed
                waves = math.ceil(count / workers)
                rows.append((f"{latency:g}", str(workers), str(count), f"{elapsed * 1000:.0f}", f"{elapsed / first:.2f}x",
                             f"{elapsed * 1000 / count:.1f}", str(waves),
                             *(f"{statistics.median(getattr(run, part) for run in runs) * 1000:.0f}"
                               for part in ("verifier_cpu", "front_cpu", "servers_cpu"))))
                print(f"  latency {latency:g} ms, MAX_WORKERS {workers}, {count} routes: verifier "
                      f"{elapsed * 1000:.0f} ms", flush=True)
                if count == 50 and counts[0] == 1:
                    ratios.append((latency, workers, elapsed / first))
    header = ("added latency ms", "MAX_WORKERS", "routes", "verifier ms", "x 1st row", "ms / route", "waves",
              "verifier CPU ms", "front CPU ms", "servers CPU ms")
    print_table(header, rows)
    for latency, workers, ratio in ratios:
        print(f"target 50 routes in < 2x the time of one (added latency {latency:g} ms, MAX_WORKERS {workers}): "
              f"{'met' if ratio < 2 else 'NOT met'} ({ratio:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
