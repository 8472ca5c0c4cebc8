"""tools/call requests per second of one mock MCP server next to the tutorial-pattern baseline, same run, same box.

The load comes from `wrk` (bench/wrk_load.py; Python client processes when wrk is not installed, said in the
header line); connections are kept alive when the server allows it (the baseline speaks HTTP/1.0, so the
client reconnects per request). A run counts the successful tools/call replies in a fixed time window; the
figure is the median over the runs.

    .venv/bin/python bench/server_throughput.py [--server github] [--clients 1,16] [--seconds 2] [--runs 3]

Client and servers share this machine's CPUs: the figures compare the two servers, they are not capacity.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mcp_load import CALL, REPO_ROOT  # noqa: E402
from tests.server_process import ServerProcess, start_server  # noqa: E402
from wrk_load import generator_name, load  # noqa: E402

BASELINE_SCRIPT = REPO_ROOT / "bench" / "baselines" / "tutorial_server.py"
PROBES = {"github": CALL["params"]}  # the tool the baseline also implements


@dataclass
class Target:
    """A server under test and how to start it (the load client opens its session, if it has any)."""

    label: str
    start: Callable[[Path], ServerProcess]


def targets(server: str) -> list[Target]:
    return [
        Target(f"server_code/{server}.py (event loop, keep-alive, sessions)",
               lambda tmp: start_server(server, env={"MCP_SESSION_KEY": "bench-key-0123456789abcdef"}, tmp_dir=tmp)),
        Target("tutorial reconstruction (single-threaded, HTTP/1.0)",
               lambda tmp: start_server("tutorial", tmp_dir=tmp, script=BASELINE_SCRIPT)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="github", choices=sorted(PROBES))
    parser.add_argument("--clients", default="1,16", help="comma list of concurrent client counts")
    parser.add_argument("--seconds", type=int, default=2, help="length of one measuring window")
    parser.add_argument("--runs", type=int, default=3, help="windows per figure; the median is reported")
    args = parser.parse_args()
    client_counts = [int(c) for c in args.clients.split(",")]
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))

    print(f"# tools/call get_repo, {args.runs} x {args.seconds}s windows, median; "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, clients on the same machine")
    print(f"# load generator: {generator_name()}", flush=True)
    rates: dict[tuple[str, int], float] = {}
    for target in targets(args.server):
        process = target.start(tmp)
        try:
            for clients in client_counts:
                runs = [load(process.port, clients, args.seconds) for _ in range(args.runs)]
                rates[target.label, clients] = statistics.median(run.rate for run in runs)
                print(f"{target.label:<55} clients={clients:<3} {rates[target.label, clients]:>7.0f} req/s  "
                      f"(runs: {', '.join(f'{run.rate:.0f}' for run in runs)}; "
                      f"failed calls: {sum(run.failed for run in runs)}; "
                      f"dropped connections: {sum(run.dropped for run in runs)})", flush=True)
        finally:
            process.stop()
    mock, baseline = (t.label for t in targets(args.server))
    for clients in client_counts:
        print(f"ratio mock/tutorial, clients={clients}: {rates[mock, clients] / rates[baseline, clients]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
