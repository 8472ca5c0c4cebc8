"""`review diff`: the inventories of every stack at a git ref (in a temporary worktree) and in the head checkout.

Each side runs in its own child process (review/side.py) with its checkout first on `sys.path`, so each side's own
program and components run, and nothing they do reaches this process: a side that exits early, exits non-zero,
times out or prints anything but complete results fails the review (ProgramFailure, exit 3); it never counts as
"no change". The dev-stack list comes from the BASE side's policy pack only. This process reads the sides' project
and stack files (bounded YAML, no code) to list their stacks and refuse a project that sets `main:`.
"""
from __future__ import annotations

import json
import os
import posixpath
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Optional

from render.harness import REPO_ROOT
from render.stack_config import StackConfigError, list_stacks, load_project, program_path
from review import diff, gitref, validate
from review.gitref import UsageError

SIDE_TIMEOUT = 600  # seconds for both sides' inventories together (a stack takes about a second)
MAX_SIDE_OUTPUT = 64 * 1024 * 1024  # bytes of JSON one side may print (three stacks print about 100 KiB)
ERROR_TAIL = 2000  # characters of a failed side's stderr quoted in the message
WORKING_TREE = "working tree"


class ProgramFailure(Exception):
    """The program failed at one side for a reason other than its config (exit 3); the message names the side."""


@dataclass
class SideErrors:
    """Per-stack errors of both sides, with the side named in each message."""

    config: list[str] = field(default_factory=list)
    program: list[str] = field(default_factory=list)

    def add(self, side: str, results: dict) -> None:
        for stack, result in results.items():
            if "error" in result:
                kind = result["error"]["kind"]
                (self.config if kind == "config" else self.program).append(
                    f"{side}: stack {stack!r}: {result['error']['message']}")


@dataclass
class SideProcess:
    """One side's child process and the unnamed temporary files its stdout and stderr go to."""

    label: str
    stacks: list[str]
    with_dev_stacks: bool
    process: subprocess.Popen
    out: IO[bytes]
    err: IO[bytes]


def dev_stacks() -> tuple[str, ...]:
    """The stacks where dangerous tools may stay callable: the policy pack's default list (of this checkout; the
    diff takes the base side's instead)."""
    from policy.dangerous_tools import DEFAULT_DEV_STACKS

    return tuple(DEFAULT_DEV_STACKS)


def _stacks(side: str, project_dir: Path) -> list[str]:
    """The side's stacks, after checking it runs the program the review runs (no `main:` elsewhere) with the stack
    files the review reads: those in the project directory (no `stackConfigDir` elsewhere: CI's tool review commits
    the pull request's top-level `Pulumi.*.yaml` onto the trusted base, and stack files moved into another
    directory would leave the head side without stacks, read as "stack removed")."""
    try:
        program_path(project_dir)
        configured = load_project(project_dir).get("stackConfigDir")
        if configured is not None and not (isinstance(configured, str) and posixpath.normpath(configured) == "."):
            raise StackConfigError(f"the project file {Path(project_dir) / 'Pulumi.yaml'} sets 'stackConfigDir: "
                                   f"{configured!r}': the review reads the stack files in the project directory "
                                   "only (remove 'stackConfigDir')")
        return list_stacks(project_dir)
    except StackConfigError as exc:
        raise UsageError(f"bad config at the {side}: {exc}") from None


def chosen_stacks(requested: list[str], head: list[str], base: list[str], ref: str, head_label: str) -> list[str]:
    """The requested stacks (each must exist on one side at least), or every stack of either side."""
    if not requested:
        return sorted(set(head) | set(base))
    unknown = [stack for stack in requested if stack not in head and stack not in base]
    if unknown:
        raise UsageError(f"unknown stack(s) {', '.join(map(repr, unknown))}: stacks in the {head_label}: "
                         f"{', '.join(head) or 'none'}; at {ref}: {', '.join(base) or 'none'}")
    return list(dict.fromkeys(requested))


def _start_side(label: str, project_dir: Path, stacks: list[str], with_dev_stacks: bool) -> SideProcess:
    command = [sys.executable, "-m", "review.side", "--project-dir", str(project_dir)]
    command += [arg for stack in stacks for arg in ("--stack", stack)]
    command += ["--dev-stacks-from-policy"] if with_dev_stacks else []
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # no __pycache__ left in the temporary checkout
    env.pop("PYTHONPATH", None)
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # unnamed: nothing is left behind
    try:
        # A session of its own, so _stop ends whatever the program started too.
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=err, start_new_session=True)
    except BaseException:
        out.close()
        err.close()
        raise
    return SideProcess(label, stacks, with_dev_stacks, process, out, err)


def _tail(handle: IO[bytes]) -> str:
    handle.seek(0, os.SEEK_END)
    handle.seek(max(0, handle.tell() - 4 * ERROR_TAIL))
    return handle.read().decode("utf-8", "replace").strip()[-ERROR_TAIL:]


def _finish_side(side: SideProcess, deadline: float) -> tuple[dict, Optional[tuple[str, ...]]]:
    """The side's validated results (and dev-stack list); ProgramFailure naming the side when it timed out, failed
    or printed anything but complete results."""
    try:
        side.process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise ProgramFailure(f"{side.label}: the inventories took longer than {SIDE_TIMEOUT}s") from None
    if side.process.returncode != 0:
        raise ProgramFailure(f"{side.label}: the inventories could not be collected (exit code "
                             f"{side.process.returncode}): {_tail(side.err) or 'no output'}")
    side.out.seek(0)
    data = side.out.read(MAX_SIDE_OUTPUT + 1)
    try:
        if len(data) > MAX_SIDE_OUTPUT:
            raise validate.ChildOutputError(f"more than {MAX_SIDE_OUTPUT} bytes of output")
        try:
            document = json.loads(data)
        except ValueError:
            raise validate.ChildOutputError("no JSON results" if not data.strip() else "output is not JSON") from None
        return validate.side_output(document, side.stacks, side.with_dev_stacks)
    except validate.ChildOutputError as exc:
        raise ProgramFailure(f"{side.label}: exited 0 without complete inventories ({exc}); stderr: "
                             f"{_tail(side.err) or 'none'}") from None


def _stop(side: Optional[SideProcess]) -> None:
    if side is None:
        return
    try:  # also when the side has exited: what its program started in the background is in its group
        os.killpg(side.process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    side.process.wait()
    side.out.close()
    side.err.close()


def _uncommitted(head_dir: Path, head_label: str) -> None:
    try:
        top = gitref.toplevel(head_dir)
    except UsageError as exc:
        raise UsageError(f"--fail-on-dangerous judges commits, but the {head_label} is not a git checkout: "
                         f"{exc}") from None
    dirty = gitref.uncommitted_inputs(top, head_dir)
    if dirty:
        raise UsageError(f"--fail-on-dangerous judges commits, but the {head_label} has uncommitted changes to "
                         f"{', '.join(dirty)}: commit or stash them")


def run_diff(ref: str, requested: list[str], fail_on_dangerous: bool, head_dir: Optional[Path] = None) -> dict:
    """Compare every (or each requested) stack at `ref` (a commit of this checkout's repository) with the project
    in `head_dir` (default: this checkout's working tree); the review as a JSON-able dict.

    Raises UsageError (exit 2: unknown ref/stack, dirty tree, bad config at a side, named) or ProgramFailure."""
    head_project = Path(head_dir).resolve() if head_dir is not None else REPO_ROOT
    head_label = WORKING_TREE if head_dir is None else f"head {head_dir}"
    top = gitref.toplevel(REPO_ROOT)
    commit = gitref.resolve(top, ref)
    if fail_on_dangerous:
        _uncommitted(head_project, head_label)
    base_label = f"base {ref} ({commit[:12]})"
    head_stacks = _stacks(head_label, head_project)
    sides: list[SideProcess] = []
    with gitref.exit_on_signals(), gitref.worktree(top, commit) as checkout:
        try:
            base_project = checkout / REPO_ROOT.resolve().relative_to(top.resolve())
            base_stacks = _stacks(base_label, base_project)
            stacks = chosen_stacks(requested, head_stacks, base_stacks, ref, head_label)
            deadline = time.monotonic() + SIDE_TIMEOUT
            sides.append(_start_side(base_label, base_project, [s for s in stacks if s in base_stacks], True))
            sides.append(_start_side(head_label, head_project, [s for s in stacks if s in head_stacks], False))
            base, devs = _finish_side(sides[0], deadline)
            head, _ = _finish_side(sides[1], deadline)
        finally:
            for side in sides:
                _stop(side)
    assert devs is not None  # the base side was asked for them
    errors = SideErrors()
    errors.add(base_label, base)
    errors.add(head_label, head)
    if errors.config:
        raise UsageError("bad config: " + "\n".join(errors.config + errors.program))
    if errors.program:
        raise ProgramFailure("\n".join(errors.program))
    for result in (*base.values(), *head.values()):
        result["inventory"]["devStack"] = result["inventory"]["stack"] in devs  # the base's list, for both sides
    results = [diff.diff_stack(stack, base.get(stack, {}).get("inventory"), head.get(stack, {}).get("inventory"),
                               devs) for stack in stacks]
    return {"schema": diff.SCHEMA, "version": diff.VERSION, "base": {"ref": ref, "commit": commit},
            "head": WORKING_TREE if head_dir is None else str(head_dir), "devStacks": list(devs), "stacks": results,
            "dangerousMadeReachable": diff.dangerous_made_reachable(results)}
