"""Throwaway git repositories holding a copy of this project, for the `python -m review diff` tests."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from render.harness import REPO_ROOT

# What the program, the renderer and the review need (tests/, bench/, docs stay out: the copy is small).
PROJECT_ITEMS = ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml", "__main__.py",
                 "components", "server_code", "render", "review", "policy", ".gitignore")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "venv")
CLI_TIMEOUT = 300


class Repo:
    """A git repository in `path` with a copy of the project committed as `base`; runs git and the review there.

    `tmp` is the TMPDIR the review runs with, so a test sees every temporary directory it leaves behind."""

    def __init__(self, path: Path, tmp: Path) -> None:
        self.path, self.tmp = path, tmp
        self.env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com", "TMPDIR": str(tmp),
                    "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp)}

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=self.path, env=self.env, capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.path / relative
        text = path.read_text()
        assert old in text, f"{relative}: {old!r} not found"
        path.write_text(text.replace(old, new, 1))

    def write(self, relative: str, text: str) -> None:
        (self.path / relative).write_text(text)

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def review(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "review", *args], cwd=self.path, env=self.env,
                              capture_output=True, text=True, timeout=CLI_TIMEOUT)

    def review_json(self, *args: str) -> dict:
        done = self.review(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def worktrees(self) -> list[str]:
        return [line for line in self.git("worktree", "list", "--porcelain").splitlines()
                if line.startswith("worktree ")]

    def leftovers(self) -> list[str]:
        """Temporary directories the review left (it must leave none)."""
        return sorted(p.name for p in self.tmp.iterdir())


def make_repo(root: Path) -> Repo:
    """A new repository under `root` holding the project, committed and tagged `base`."""
    path, tmp = root / "repo", root / "tmp"
    path.mkdir()
    tmp.mkdir()
    for item in PROJECT_ITEMS:
        source = REPO_ROOT / item
        if source.is_dir():
            shutil.copytree(source, path / item, ignore=IGNORED)
        else:
            shutil.copy2(source, path / item)
    repo = Repo(path, tmp)
    repo.git("init", "-q", "-b", "work")
    repo.commit("base")
    repo.git("tag", "base")
    return repo


def tool_change(review: dict, stack: str, route: str, name: str) -> dict:
    """The one change of tool `name` on `route` in `stack` of a diff's JSON."""
    (entry,) = [s for s in review["stacks"] if s["stack"] == stack]
    found = [c for c in entry["tools"] if c["route"] == route and c["name"] == name]
    assert len(found) == 1, f"{stack}/{route}/{name}: {found} in {entry}"
    return found[0]


def stack_entry(review: dict, stack: str) -> dict:
    (entry,) = [s for s in review["stacks"] if s["stack"] == stack]
    return entry
