"""Where a mock server's time goes under load: cProfile of server_code/<server>.py while wrk drives tools/call.

Starts `python -m cProfile -o <file> server_code/github.py` (PORT set), loads it with bench/wrk_load.py for
`--seconds` at `--clients` connections, stops it with SIGTERM (cProfile writes its file on the clean exit) and
prints the functions with the most own time, per call of the load. The event loop is one thread, so the
profile covers all request handling. Profiling slows the server down: read the shares, not the rate.

    .venv/bin/python bench/profile_mock.py [--server github] [--clients 16] [--seconds 4] [--top 25]
"""
from __future__ import annotations

import argparse
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mcp_load import REPO_ROOT  # noqa: E402
from tests.server_process import SERVER_CODE, free_port  # noqa: E402
from wrk_load import generator_name, load  # noqa: E402

START_TIMEOUT = 60


def wait_healthy(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("the profiled server did not become healthy")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="github", choices=("github", "slack", "fetch"))
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    if args.server != "github":
        print("note: the load calls github's get_repo, so other servers answer with -32602 (still a full path)")
    print(f"# load generator: {generator_name()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        profile = Path(tmp) / "server.prof"
        port = free_port()
        env = {**os.environ, "PORT": str(port), "MCP_SESSION_KEY": "bench-key-0123456789abcdef"}
        proc = subprocess.Popen([sys.executable, "-m", "cProfile", "-o", str(profile),
                                 str(SERVER_CODE / f"{args.server}.py")], env=env, cwd=REPO_ROOT,
                                stdout=subprocess.DEVNULL)
        try:
            wait_healthy(port, proc)
            result = load(port, args.clients, args.seconds)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        print(f"# {result.calls} calls at {args.clients} connections ({result.rate:.0f} req/s under the profiler)")
        out = io.StringIO()
        stats = pstats.Stats(str(profile), stream=out)
        stats.sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
