"""tools/call requests per second of one mock MCP server next to the tutorial-pattern baseline, same run, same box.

Each client is its own process (so the client side is not one GIL) with one HTTP connection that it keeps
alive when the server allows it (the baseline speaks HTTP/1.0, so it reconnects per request). A run counts
the successful tools/call replies in a fixed time window; the figure is the median over the runs.

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
from mcp_load import CALL, REPO_ROOT, run_load, session_headers  # noqa: E402
from tests.server_process import ServerProcess, start_server  # noqa: E402

BASELINE_SCRIPT = REPO_ROOT / "bench" / "baselines" / "tutorial_server.py"
PROBES = {"github": CALL["params"]}  # the tool the baseline also implements


@dataclass
class Target:
    """A server under test: how to start it and which headers a tools/call needs (session etc.)."""

    label: str
    start: Callable[[Path], ServerProcess]
    headers: Callable[[int], dict]


def targets(server: str) -> list[Target]:
    return [
        Target(f"server_code/{server}.py (threaded, keep-alive, sessions)",
               lambda tmp: start_server(server, env={"MCP_SESSION_KEY": "bench-key-0123456789abcdef"}, tmp_dir=tmp),
               session_headers),
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
                runs = [run_load(process.port, headers, clients, args.seconds) for _ in range(args.runs)]
                rates[target.label, clients] = statistics.median(run.rate for run in runs)
                print(f"{target.label:<55} clients={clients:<3} {rates[target.label, clients]:>7.0f} req/s  "
                      f"(runs: {', '.join(f'{run.rate:.0f}' for run in runs)}; "
                      f"failed calls: {sum(run.failed for run in runs)})")
        finally:
            process.stop()
    mock, baseline = (t.label for t in targets(args.server))
    for clients in client_counts:
        print(f"ratio mock/tutorial, clients={clients}: {rates[mock, clients] / rates[baseline, clients]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
