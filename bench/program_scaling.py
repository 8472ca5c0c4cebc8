"""Evaluation time and resource count of the Pulumi program under the mock engine, for a growing number of servers.

Runs the real `__main__.py` through tests/pulumi_mocks.py (run_program: the same harness the program tests use)
with the dev stack config whose `servers` list is replaced by N generated entries: distinct names (and so
distinct default paths /mcp/<name>) that reuse the existing server files in turn; the stack's aggregate route
(if enabled) keeps its settings and takes the first MAX_TARGETS of them (one backend holds no more). After one
uncounted warm-up run, it reports the median wall time over runs, the resource count, and time per server and
per resource, so linear growth shows as a flat column.

    .venv/bin/python bench/program_scaling.py [--servers 3,50,200] [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from components.crds.agentgateway import MAX_TARGETS  # noqa: E402
from tests.pulumi_mocks import RecordingMocks, cli_config, restart, run_program  # noqa: E402
from table import print_table  # noqa: E402  (bench/table.py)

SERVER_FILES = ("fetch.py", "github.py", "slack.py")


def servers_config(count: int) -> list[dict]:
    """`count` server entries with distinct names, cycling over the existing server files."""
    return [{"name": f"{SERVER_FILES[i % len(SERVER_FILES)][:-3]}-{i}", "code": SERVER_FILES[i % len(SERVER_FILES)]}
            for i in range(count)]


def stack_overrides(count: int) -> dict:
    """The dev stack's config with `count` servers (and an aggregate over at most MAX_TARGETS of them)."""
    servers = servers_config(count)
    overrides: dict = {"mcp-federation:servers": servers}
    aggregate = cli_config("dev").get("mcp-federation:aggregate")
    if aggregate and json.loads(aggregate).get("enabled"):
        overrides["mcp-federation:aggregate"] = {**json.loads(aggregate),
                                                 "servers": [s["name"] for s in servers[:MAX_TARGETS]]}
    return overrides


def evaluate(count: int) -> tuple[float, int, int]:
    """One program run with `count` servers: (seconds, resources declared, Kubernetes objects among them)."""
    config = cli_config("dev", stack_overrides(count))
    mocks = restart(RecordingMocks())
    began = time.perf_counter()
    declared = run_program(mocks, config)
    seconds = time.perf_counter() - began
    return seconds, len(declared.resources), len(declared.kubernetes_objects())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="3,50,200", help="comma list of server counts")
    parser.add_argument("--runs", type=int, default=3, help="runs per count; the median time is reported")
    args = parser.parse_args()
    print(f"# Pulumi program (__main__.py) under pulumi.runtime.set_mocks, {args.runs} runs per count, median; "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}", flush=True)
    header = ("servers", "resources", "k8s objects", "eval ms", "ms / server", "ms / resource")
    rows = []
    evaluate(3)  # warm-up, not counted: the first run also pays for imports and caches
    for count in (int(c) for c in args.servers.split(",")):
        runs = [evaluate(count) for _ in range(args.runs)]
        seconds = statistics.median(run[0] for run in runs)
        _, resources, objects = runs[0]
        if any(run[1:] != runs[0][1:] for run in runs):
            raise RuntimeError(f"resource counts differ between runs for {count} servers: {[r[1:] for r in runs]}")
        rows.append((str(count), str(resources), str(objects), f"{seconds * 1000:.0f}",
                     f"{seconds * 1000 / count:.1f}", f"{seconds * 1000 / resources:.2f}"))
        print(f"  {count} servers: {seconds * 1000:.0f} ms, {resources} resources", flush=True)
    print_table(header, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
