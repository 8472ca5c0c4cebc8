"""How `review diff` judges a side's child process: a time-out, a non-zero exit, output that is not complete
results, or too much output each fail the review naming the side (exit 3), and the child is always stopped."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from review import compare
from review.compare import ProgramFailure, SideProcess


def side(code: str, stacks: tuple[str, ...] = ("prod",)) -> SideProcess:
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    process = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=err, start_new_session=True)
    return SideProcess("head test", list(stacks), False, process, out, err)


def finish(child: SideProcess, seconds: float = 60) -> tuple:
    try:
        return compare._finish_side(child, time.monotonic() + seconds)
    finally:
        compare._stop(child)


def test_complete_results_are_returned():
    assert finish(side('print(\'{"stacks": {}}\')', ())) == ({}, None)


def test_a_side_that_takes_too_long_fails_and_is_stopped():
    child = side("import time; time.sleep(60)")
    with pytest.raises(ProgramFailure, match=f"head test: the inventories took longer than {compare.SIDE_TIMEOUT}s"):
        finish(child, 0.5)
    assert child.process.returncode is not None and child.out.closed


@pytest.mark.parametrize("code, message", [
    ("import sys; sys.stderr.write('boom'); sys.exit(7)", "could not be collected (exit code 7): boom"),
    ("pass", "exited 0 without complete inventories (no JSON results)"),
    ("print('{\"stacks\": {}}')", "results for stacks [], asked for ['prod']"),
    ("print('not json')", "output is not JSON"),
])
def test_a_side_without_complete_results_fails_naming_the_side(code, message):
    with pytest.raises(ProgramFailure, match="^head test: ") as raised:
        finish(side(code))
    assert message in str(raised.value)


def test_output_past_the_cap_is_refused(monkeypatch):
    monkeypatch.setattr(compare, "MAX_SIDE_OUTPUT", 1000)
    with pytest.raises(ProgramFailure, match="more than 1000 bytes of output"):
        finish(side("print('{\"stacks\": {}, \"x\": \"' + 'y' * 2000 + '\"}')", ()))


@pytest.mark.parametrize("ending", ["times out", "exits by itself"])
def test_stopping_a_side_ends_what_its_program_started(ending):
    """What the program left running (here a sleeping grandchild) ends with the side, whether the side timed out or
    exited 0 with complete results while its grandchild went on in the background."""
    rest = "time.sleep(60)" if ending == "times out" else "print('{\"stacks\": {}}')"
    child = side("import subprocess, sys, time\n"
                 "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
                 f"sys.stderr.write(f'{{p.pid}}\\n'); sys.stderr.flush(); {rest}", ("prod",) if ending == "times out"
                 else ())
    deadline = time.monotonic() + 30
    while not child.err.tell() and time.monotonic() < deadline:
        time.sleep(0.05)
        child.err.seek(0, 2)
    child.err.seek(0)
    grandchild = int(child.err.read().decode().strip())
    if ending == "times out":
        with pytest.raises(ProgramFailure):
            finish(child, 0.1)
    else:
        assert finish(child) == ({}, None)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{grandchild}/stat") as stat:
                if stat.read().split(") ", 1)[1].startswith("Z"):
                    break  # killed; not yet reaped by its new parent
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        os.kill(grandchild, signal.SIGKILL)
        pytest.fail(f"process {grandchild}, started by the side, was still running")
