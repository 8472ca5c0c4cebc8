"""Git for the diff: resolve the base ref, check the working tree, and check the ref out in a temporary worktree
that is removed again on every way out (normal return, exception, SIGTERM/SIGHUP/SIGINT)."""
from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

GIT_TIMEOUT = 120
WORKTREE_PREFIX = "review-base-"
# What the inventory depends on: the program, its config and the server files (paths relative to the project).
INPUT_FILES = ("__main__.py", "Pulumi.yaml")
INPUT_DIRS = ("components/", "server_code/")


class UsageError(Exception):
    """A problem the caller must fix (exit 2): not a git checkout, an unknown ref, a dirty tree."""


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` and return its stdout; UsageError with git's message when it fails."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT,
                              check=False)
    except FileNotFoundError:
        raise UsageError("git is not on PATH") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"'git {' '.join(args)}' did not finish within {GIT_TIMEOUT}s") from None
    if done.returncode != 0:
        raise UsageError(f"'git {' '.join(args)}' failed: {(done.stderr or done.stdout).strip() or 'no output'}")
    return done.stdout


def toplevel(project_dir: Path) -> Path:
    """The root of the git checkout holding `project_dir`."""
    try:
        return Path(git(project_dir, "rev-parse", "--show-toplevel").strip())
    except UsageError:
        raise UsageError(f"{project_dir} is not inside a git checkout: the diff needs git history") from None


def resolve(top: Path, ref: str) -> str:
    """The commit id `ref` names; UsageError naming the ref if there is none."""
    if not ref or ref.startswith("-"):
        raise UsageError(f"unknown git ref {ref!r}")
    try:
        return git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}").strip()
    except UsageError:
        raise UsageError(f"unknown git ref {ref!r}: no commit of that name in {top} "
                         "(in CI, fetch the base branch: actions/checkout with fetch-depth: 0)") from None


def is_input(path: str) -> bool:
    """Whether a project-relative path is one the inventory depends on."""
    name = path.rsplit("/", 1)[-1]
    return path in INPUT_FILES or path.startswith(INPUT_DIRS) or \
        ("/" not in path and name.startswith("Pulumi.") and name.endswith(".yaml"))


def uncommitted_inputs(top: Path, project_dir: Path) -> list[str]:
    """Project files the inventory depends on that differ from HEAD (modified, staged, deleted or untracked),
    relative to the project."""
    prefix = Path(project_dir).resolve().relative_to(Path(top).resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    output = git(top, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    paths = []
    entries = iter(output.split("\0"))
    for entry in entries:
        if not entry:
            continue
        status, path = entry[:2], entry[3:]  # porcelain paths are relative to the top of the checkout
        if status[0] in "RC":
            next(entries, None)  # the rename's source path follows
        if path.startswith(prefix):
            paths.append(path[len(prefix):])
    return sorted(p for p in paths if is_input(p))


@contextlib.contextmanager
def exit_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into SystemExit(128 + signal) while the block runs (SIGINT already raises), so
    `finally` blocks (the worktree removal, stopping the sides' child processes) run."""
    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    saved = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)


def remove_worktree(top: Path, path: Path) -> None:
    """Remove a worktree made by `worktree()`: git's record and the directory, even if git cannot (e.g. when
    `git worktree add` was interrupted and left the worktree locked)."""
    for command in (("worktree", "unlock", str(path)), ("worktree", "remove", "--force", "--force", str(path))):
        with contextlib.suppress(UsageError):
            git(top, *command)
    shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(UsageError):
        # An add cut short before it wrote the entry's `gitdir` cannot be unlocked by path, and prune skips locked
        # entries: drop the lock of our own entries (named after the directory) so prune removes them.
        common = Path(git(top, "rev-parse", "--git-common-dir").strip())
        for entry in ((common if common.is_absolute() else top / common) / "worktrees").glob(f"{path.name}*"):
            (entry / "locked").unlink(missing_ok=True)
        git(top, "worktree", "prune")


CLEANUP_SIGNALS = {signal.SIGTERM, signal.SIGHUP, signal.SIGINT}


@contextlib.contextmanager
def worktree(top: Path, commit: str) -> Iterator[Path]:
    """A detached checkout of `commit` in a new temporary directory, removed when the block ends in any way
    (signals wait while it is removed, so a second one cannot cut the removal short)."""
    path = None
    try:
        # Signals wait until the directory exists, is named by `path` and is fully checked out: SIGTERM in the
        # middle of `git worktree add` killed git while its own child (the checkout) went on writing into the
        # directory after the cleanup below had removed it, leaving it behind.
        with signals_held():
            path = Path(tempfile.mkdtemp(prefix=WORKTREE_PREFIX))
            git(top, "worktree", "add", "--detach", "--quiet", str(path), commit)
        yield path
    finally:
        if path is not None:
            with signals_held():
                remove_worktree(top, path)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGTERM, SIGHUP and SIGINT while the block runs; they are delivered when it ends."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, CLEANUP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
