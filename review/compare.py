"""`review diff`: the inventories of every stack at a git ref (in a temporary worktree) and in the working tree.

The base side runs in a child process (review/side.py) with the ref's checkout first on `sys.path`, so the
ref's own program and components run; the working tree's side runs in this process at the same time.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from render.harness import REPO_ROOT
from render.stack_config import StackConfigError, list_stacks
from review import diff, gitref
from review.gitref import UsageError

SIDE_TIMEOUT = 600  # seconds for the base side's inventories (a stack takes about a second)
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


def dev_stacks() -> tuple[str, ...]:
    """The stacks where dangerous tools may stay callable: the policy pack's default list."""
    from policy.dangerous_tools import DEFAULT_DEV_STACKS

    return tuple(DEFAULT_DEV_STACKS)


def _stacks(side: str, project_dir: Path) -> list[str]:
    try:
        return list_stacks(project_dir)
    except StackConfigError as exc:
        raise UsageError(f"bad config at the {side}: {exc}") from None


def chosen_stacks(requested: list[str], head: list[str], base: list[str], ref: str) -> list[str]:
    """The requested stacks (each must exist on one side at least), or every stack of either side."""
    if not requested:
        return sorted(set(head) | set(base))
    unknown = [stack for stack in requested if stack not in head and stack not in base]
    if unknown:
        raise UsageError(f"unknown stack(s) {', '.join(map(repr, unknown))}: stacks in the {WORKING_TREE}: "
                         f"{', '.join(head) or 'none'}; at {ref}: {', '.join(base) or 'none'}")
    return list(dict.fromkeys(requested))


def _start_base_side(project_dir: Path, stacks: list[str], devs: tuple[str, ...]) -> subprocess.Popen:
    command = [sys.executable, "-m", "review.side", "--project-dir", str(project_dir)]
    command += [arg for stack in stacks for arg in ("--stack", stack)]
    command += [arg for stack in devs for arg in ("--dev-stack", stack)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # no __pycache__ left in the temporary checkout
    env.pop("PYTHONPATH", None)
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _finish_base_side(child: subprocess.Popen, side: str) -> dict:
    try:
        out, err = child.communicate(timeout=SIDE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise ProgramFailure(f"{side}: the inventories took longer than {SIDE_TIMEOUT}s") from None
    try:
        return json.loads(out)["stacks"]
    except (ValueError, KeyError, TypeError):
        detail = (err or out).strip()[-2000:] or f"exit code {child.returncode}, no output"
        raise ProgramFailure(f"{side}: the inventories could not be collected: {detail}") from None


def _stop(child: Optional[subprocess.Popen]) -> None:
    if child is not None and child.poll() is None:
        child.kill()
        child.wait()


def run_diff(ref: str, requested: list[str], fail_on_dangerous: bool) -> dict:
    """Compare every (or each requested) stack at `ref` with the working tree; the review as a JSON-able dict.

    Raises UsageError (exit 2: unknown ref/stack, dirty tree, bad config at a side, named) or ProgramFailure."""
    from review.side import collect

    top = gitref.toplevel(REPO_ROOT)
    commit = gitref.resolve(top, ref)
    if fail_on_dangerous:
        dirty = gitref.uncommitted_inputs(top, REPO_ROOT)
        if dirty:
            raise UsageError("--fail-on-dangerous judges commits, but the working tree has uncommitted changes to "
                             f"{', '.join(dirty)}: commit or stash them")
    devs = dev_stacks()
    base_side = f"base {ref} ({commit[:12]})"
    head_stacks = _stacks(WORKING_TREE, REPO_ROOT)
    child = None
    with gitref.exit_on_signals(), gitref.worktree(top, commit) as checkout:
        try:
            base_project = checkout / REPO_ROOT.resolve().relative_to(top.resolve())
            base_stacks = _stacks(base_side, base_project)
            stacks = chosen_stacks(requested, head_stacks, base_stacks, ref)
            child = _start_base_side(base_project, [s for s in stacks if s in base_stacks], devs)
            head = collect(REPO_ROOT, [s for s in stacks if s in head_stacks], devs)["stacks"]
            gitref.check_signals()  # a SIGTERM during the program run may have been swallowed by the runtime
            base = _finish_base_side(child, base_side)
        finally:
            _stop(child)
    errors = SideErrors()
    errors.add(base_side, base)
    errors.add(WORKING_TREE, head)
    if errors.config:
        raise UsageError("bad config: " + "\n".join(errors.config + errors.program))
    if errors.program:
        raise ProgramFailure("\n".join(errors.program))
    results = [diff.diff_stack(stack, base.get(stack, {}).get("inventory"), head.get(stack, {}).get("inventory"),
                               devs) for stack in stacks]
    return {"schema": diff.SCHEMA, "version": diff.VERSION, "base": {"ref": ref, "commit": commit},
            "head": WORKING_TREE, "devStacks": list(devs), "stacks": results,
            "dangerousMadeReachable": diff.dangerous_made_reachable(results)}
