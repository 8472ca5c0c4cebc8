"""Verifier wall time for 1, 10 and 50 routes, all served locally, to show that route checks run concurrently.

Three mock servers (fetch, github, slack) run as processes; tests/gateway_front.py (the SDK-built stand-in for
agentgateway the verifier tests use) exposes N routes /mcp/r<i> over them in turn, each denying its server's
dangerous tools. The plan comes from components.catalog.verification_entry, as the program builds it. The
verifier runs as the CLI (`python -m verify --plan ... --deadline 0 --json`), one process per run; the table
shows the median over runs of its own elapsed time and of the whole process (including interpreter start-up).
The front is one asyncio thread that opens an SDK client per list/call, so on a small machine it, not the
verifier, can be what limits the time: compare `ms / route` with the 1-route row before blaming the verifier.

    .venv/bin/python bench/verifier_scaling.py [--routes 1,10,50] [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from components.catalog import load_catalog, verification_entry  # noqa: E402
from tests.gateway_front import FrontRoute, GatewayFront  # noqa: E402
from tests.server_process import SERVER_CODE, start_server  # noqa: E402
from table import print_table  # noqa: E402  (bench/table.py)

SERVERS = ("fetch", "github", "slack")
VERIFY_TIMEOUT = 300


def run_verifier(gateway_url: str, plan: list[dict], tmp: Path) -> tuple[float, float]:
    """One `python -m verify` run that must pass: (its reported elapsed seconds, process wall seconds)."""
    plan_file = tmp / f"plan-{len(plan)}.json"
    plan_file.write_text(json.dumps(plan))
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "verify", "--plan", str(plan_file), "--gateway-url", gateway_url,
                           "--deadline", "0", "--json"], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=VERIFY_TIMEOUT)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"verifier failed (exit {done.returncode}) for {len(plan)} routes:\n"
                           f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)["summary"]["elapsedSeconds"], wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routes", default="1,10,50", help="comma list of route counts")
    parser.add_argument("--runs", type=int, default=3, help="verifier runs per count; the median is reported")
    args = parser.parse_args()
    counts = [int(c) for c in args.routes.split(",")]
    print(f"# python -m verify --deadline 0 against a local gateway front, {args.runs} runs per count, median; "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}", flush=True)
    catalogs = {name: load_catalog(SERVER_CODE, f"{name}.py") for name in SERVERS}
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp_dir, ExitStack() as stack:
        tmp = Path(tmp_dir)
        upstreams = {}
        for name in SERVERS:
            process = start_server(name, env={"MCP_SESSION_KEY": "bench-key-0123456789abcdef"}, tmp_dir=tmp, timeout=60)
            stack.callback(process.stop)
            upstreams[name] = process.url
        for count in counts:
            routes, plan = [], []
            for i in range(count):
                name = SERVERS[i % len(SERVERS)]
                denied = tuple(tool.name for tool in catalogs[name].tools if tool.dangerous)
                routes.append(FrontRoute(f"/mcp/r{i}", upstreams[name], denied_tools=denied))
                plan.append(verification_entry(f"r{i}", f"/mcp/r{i}", catalogs[name], denied))
            with GatewayFront(routes) as front:
                runs = [run_verifier(front.url, plan, tmp) for _ in range(args.runs)]
            elapsed = statistics.median(run[0] for run in runs)
            wall = statistics.median(run[1] for run in runs)
            rows.append((count, elapsed, wall))
            print(f"  {count} routes: verifier {elapsed * 1000:.0f} ms, process {wall * 1000:.0f} ms", flush=True)
    one = rows[0][1]
    header = ("routes", "verifier ms", "process ms", "x time of first row", "ms / route")
    table = [(str(n), f"{e * 1000:.0f}", f"{w * 1000:.0f}", f"{e / one:.2f}x", f"{e * 1000 / n:.1f}") for n, e, w in rows]
    print_table(header, table)
    if counts[0] == 1 and 50 in counts:
        ratio = rows[counts.index(50)][1] / one
        print(f"target: 50 routes in < 2x the time of one: {'met' if ratio < 2 else 'NOT met'} ({ratio:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
