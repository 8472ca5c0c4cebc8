"""scripts/review-comment.sh with a fake gh on PATH: one sticky comment per pull request, edited on later pushes
(found by its marker among the bot's comments on any page), created when there is none; bad input exits 2."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fake_tools import calls, install_fakes

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "review-comment.sh"
BASH = shutil.which("bash")
MARKER = "<!-- mcp-federation:tool-review -->"

# Logs "gh <argv>"; the comment listing prints $FAKE_DIR/ids (what the real gh's --jq would print, one id a
# line); a body=@FILE field is copied to $FAKE_DIR/body (the script deletes its file on exit).
FAKE_GH = r'''#!/bin/bash
echo "gh $*" >> "$FAKE_DIR/calls.log"
for arg in "$@"; do
  case "$arg" in body=@*) cp "${arg#body=@}" "$FAKE_DIR/body" ;; esac
done
case "$*" in
  *"--paginate"*) [ -f "$FAKE_DIR/ids" ] && cat "$FAKE_DIR/ids" ;;
esac
exit 0
'''
UTILITIES = ("cat", "mktemp", "rm", "cp", "bash")


@pytest.fixture
def fake(tmp_path):
    env = install_fakes(tmp_path, FAKE_GH, ("gh",), UTILITIES)
    env.update(GH_TOKEN="test-token", GITHUB_REPOSITORY="octo/mcp-federation", PR_NUMBER="42")
    report = tmp_path / "review.md"
    report.write_text("## Tool review\n\n**Stack `prod`: no change in routes or tools.**\n")
    return tmp_path, env, report


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BASH, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def test_first_run_creates_the_comment_with_the_marker(fake):
    tmp_path, env, report = fake
    done = run(env, str(report))
    assert done.returncode == 0, done.stderr
    listing, post = calls(tmp_path)
    assert listing.startswith("gh api --paginate repos/octo/mcp-federation/issues/42/comments --jq ")
    assert 'select(.user.login == "github-actions[bot]" and (.body | startswith("' + MARKER + '")))' in listing
    assert post.startswith("gh api --method POST repos/octo/mcp-federation/issues/42/comments -F body=@")
    assert (tmp_path / "body").read_text() == MARKER + "\n" + report.read_text()


def test_later_runs_edit_the_first_marked_comment(fake):
    tmp_path, env, report = fake
    (tmp_path / "ids").write_text("1001\n1002\n")  # two marked comments (e.g. across pages): the first is edited
    done = run(env, str(report))
    assert done.returncode == 0, done.stderr
    post_or_patch = calls(tmp_path)[1]
    assert post_or_patch.startswith("gh api --method PATCH repos/octo/mcp-federation/issues/comments/1001 -F body=@")
    assert "updated comment 1001" in done.stdout
    assert not [line for line in calls(tmp_path) if "POST" in line]


@pytest.mark.parametrize("change, message", [
    ({"PR_NUMBER": "42; rm -rf /"}, "PR_NUMBER must be a number"),
    ({"GITHUB_REPOSITORY": "octo"}, "GITHUB_REPOSITORY must be owner/name"),
])
def test_bad_input_exits_2_before_calling_gh(fake, change, message):
    tmp_path, env, report = fake
    done = run({**env, **change}, str(report))
    assert done.returncode == 2 and message in done.stderr
    assert calls(tmp_path) == []
    assert run(env, str(tmp_path / "missing.md")).returncode == 2
    assert run(env).returncode == 2
