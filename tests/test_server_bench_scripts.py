"""The benchmark scripts still run against the current program, verifier and servers (smallest sizes; their
numbers are not checked, only that they complete and report what they should)."""
from __future__ import annotations

import subprocess
import sys

from tests.server_process import REPO_ROOT

TIMEOUT = 600


def run_bench(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / script), *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def table_rows(output: str) -> list[list[str]]:
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in output.splitlines()
            if line.startswith("|")]
    return rows[2:]  # without header and separator


def test_program_scaling_runs_past_the_aggregate_target_limit():
    """40 servers: more than one aggregate backend may hold, so the script must keep the stack config valid."""
    rows = table_rows(run_bench("program_scaling.py", "--servers", "3,40", "--runs", "1"))
    assert [row[0] for row in rows] == ["3", "40"]
    assert 0 < int(rows[0][1]) < int(rows[1][1])  # resources grow with the servers


def test_verifier_scaling_passes_against_the_passthrough_front():
    output = run_bench("verifier_scaling.py", "--routes", "1,4", "--latency-ms", "0", "--max-workers", "2",
                       "--runs", "1")
    rows = table_rows(output)
    assert [(row[1], row[2], row[6]) for row in rows] == [("2", "1", "1"), ("2", "4", "2")]  # workers, routes, waves
