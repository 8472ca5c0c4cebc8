"""`python -m review diff` on throwaway git repositories holding a copy of the project: each change a reviewer
must see (dangerous tools opened, allow lists narrowed, servers/tools/routes added or removed, the aggregated
route's prefixed names), harmless changes staying quiet, exit 2 for bad input, and the temporary worktree always
removed."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.review_repo import make_repo, stack_entry, tool_change

NEW_SERVER = '''"""A notes server (test)."""
from __future__ import annotations

from mcp_core import Tool

TOOLS = (
    Tool("list_notes", "List notes.", {"type": "object", "properties": {}}, lambda args: {"notes": []},
         read_only=True),
    Tool("wipe_notes", "Delete every note.", {"type": "object", "properties": {}}, lambda args: {"wiped": True},
         dangerous=True),
)
PROBE = {"tool": "list_notes", "arguments": {}}
'''
GITHUB_NEW_TOOL = '''    Tool("close_issue", "Close an issue.", _repo_schema(("number",), number={"type": "integer"}),
         lambda args: {"closed": True}),
    Tool("delete_repo",'''


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path)


def test_denying_dangerous_tools_off_in_staging_names_both_tools(repo):
    repo.edit("Pulumi.staging.yaml", "  mcp-federation:gateway:", "  mcp-federation:denyDangerousTools: false\n"
              "  mcp-federation:gateway:")
    repo.commit("staging: dangerous tools on")
    review = repo.review_json("diff", "--base", "base")
    for route, name in (("github", "delete_repo"), ("slack", "delete_channel"),
                        ("mcp-all", "github_delete_repo"), ("mcp-all", "slack_delete_channel")):
        change = tool_change(review, "staging", route, name)
        assert change["change"] == "becameReachable" and change["dangerousMadeReachable"]
        assert change["before"]["deniedBy"] == ["dangerous"] and change["after"]["state"] == "reachable"
    assert [s["status"] for s in review["stacks"]] == ["unchanged", "unchanged", "changed"]  # dev, prod, staging
    assert {d["name"] for d in review["dangerousMadeReachable"]} == \
        {"delete_repo", "delete_channel", "github_delete_repo", "slack_delete_channel"}

    gate = repo.review("diff", "--base", "base", "--fail-on-dangerous")
    assert gate.returncode == 1
    text = gate.stdout  # the report is printed in full before the verdict
    first_stack = text.index("Stack `")
    assert text.index("Dangerous tools made callable") < first_stack  # dangerous tools first
    assert "- `delete_repo`: stack `staging`, route `github` `/mcp/github`" in text[:first_stack]
    assert "- `delete_channel`: stack `staging`, route `slack` `/mcp/slack`" in text[:first_stack]
    assert "**Stack `prod`: no change in routes or tools.**" in text.splitlines()  # one line
    assert "dangerous tool 'delete_repo' becomes callable in stack 'staging' on route 'github' (/mcp/github)" \
        in gate.stderr
    assert "dangerous tool 'delete_channel' becomes callable in stack 'staging' on route 'slack' (/mcp/slack)" \
        in gate.stderr
    assert repo.worktrees() == [f"worktree {repo.path}"] and repo.leftovers() == []


def test_the_same_change_in_dev_is_reported_but_does_not_fail_the_gate(repo):
    repo.edit("Pulumi.dev.yaml", "denyDangerousTools: false", "denyDangerousTools: true")
    base = repo.commit("dev: dangerous tools off")
    repo.edit("Pulumi.dev.yaml", "denyDangerousTools: true", "denyDangerousTools: false")
    repo.commit("dev: dangerous tools on again")
    gate = repo.review("diff", "--base", base, "--fail-on-dangerous", "--json")
    assert gate.returncode == 0, gate.stderr  # dev is the policy pack's dev stack
    review = json.loads(gate.stdout)
    assert tool_change(review, "dev", "github", "delete_repo")["dangerousMadeReachable"]
    assert review["dangerousMadeReachable"][0]["devStack"] is True


def test_dropping_the_dangerous_mark_in_a_server_file_fails_the_gate(repo):
    """Without `dangerous=True`, denyDangerousTools no longer denies delete_channel: prod opens it."""
    repo.edit("server_code/slack.py", "delete_channel, dangerous=True)", "delete_channel)")
    repo.commit("slack: delete_channel not marked dangerous")
    gate = repo.review("diff", "--base", "base", "--stack", "prod", "--fail-on-dangerous")
    assert gate.returncode == 1, gate.stderr
    assert "dangerous tool 'delete_channel' becomes callable in stack 'prod' on route 'slack' (/mcp/slack): the " \
           "change removes its dangerous mark" in gate.stderr
    assert "> - `delete_channel`: stack `prod`, route `slack` `/mcp/slack` (dangerous mark removed)" in gate.stdout
    assert "| `slack` `/mcp/slack` | `delete_channel` | becomes reachable; dangerous mark removed | denied: " \
           "dangerous tool (denyDangerousTools) | reachable (any authenticated caller) |" in gate.stdout


def test_a_narrowed_allow_list_in_prod_names_what_became_denied(repo):
    repo.edit("Pulumi.prod.yaml", "allowedTools: [get_repo, list_issues, create_issue]",
              "allowedTools: [get_repo, create_issue]")
    repo.commit("prod: github without list_issues")
    review = repo.review_json("diff", "--base", "base", "--stack", "prod")
    assert [s["stack"] for s in review["stacks"]] == ["prod"]
    (change,) = stack_entry(review, "prod")["tools"]
    assert (change["route"], change["name"], change["change"]) == ("github", "list_issues", "becameDenied")
    assert change["after"]["deniedBy"] == ["allowList"] and not change["dangerousMadeReachable"]
    text = repo.review("diff", "--base", "base", "--stack", "prod").stdout
    assert "| `github` `/mcp/github` | `list_issues` | becomes denied | reachable (any authenticated caller) | " \
           "denied: left off the allow list (allowedTools) |" in text


def test_a_new_server_a_new_tool_and_a_removed_route_show_up(repo):
    repo.write("server_code/notes.py", NEW_SERVER)
    repo.edit("Pulumi.dev.yaml", "    - name: slack\n", "    - name: notes\n    - name: slack\n")
    repo.edit("server_code/github.py", '    Tool("delete_repo",', GITHUB_NEW_TOOL)
    repo.edit("Pulumi.prod.yaml", "    - name: slack\n      replicas: 3\n", "    - name: slack-removed\n"
              "      code: slack.py\n      replicas: 3\n")
    repo.commit("notes server in dev, close_issue, prod slack route renamed")
    review = repo.review_json("diff", "--base", "base")
    dev = stack_entry(review, "dev")
    assert [r["name"] for r in dev["routesAdded"]] == ["notes"]
    assert tool_change(review, "dev", "notes", "list_notes")["change"] == "appeared"
    wipe = tool_change(review, "dev", "notes", "wipe_notes")
    assert wipe["change"] == "appeared" and wipe["dangerousMadeReachable"] and wipe["after"]["dangerous"]
    assert tool_change(review, "dev", "mcp-all", "notes_wipe_notes")["dangerousMadeReachable"]  # aggregated too
    for stack, state in (("dev", "reachable"), ("staging", "reachable"), ("prod", "denied")):
        change = tool_change(review, stack, "github", "close_issue")
        assert change["change"] == "appeared" and change["after"]["state"] == state
    prod = stack_entry(review, "prod")
    assert [r["name"] for r in prod["routesRemoved"]] == ["slack"]
    assert [r["name"] for r in prod["routesAdded"]] == ["slack-removed"]
    assert tool_change(review, "prod", "slack", "send_message")["change"] == "disappeared"
    gate = repo.review("diff", "--base", "base", "--fail-on-dangerous")
    assert gate.returncode == 0, gate.stderr  # the new dangerous tool is in dev; prod's new route denies its own
    text = gate.stdout
    assert "- Route removed: `slack` `/mcp/slack` (server `slack`)" in text
    assert "- Route added: `notes` `/mcp/notes` (server `notes`)" in text
    assert text.index("`wipe_notes`") < text.index("Stack `")  # the new dangerous tool is called out first


def test_a_harmless_change_shows_no_tool_change_and_passes_the_gate(repo):
    repo.edit("Pulumi.staging.yaml", "      replicas: 2\n      resources:\n        requests: {cpu: 100m",
              "      replicas: 4\n      resources:\n        requests: {cpu: 300m")
    repo.edit("Pulumi.prod.yaml", "limits: {cpu: \"1\", memory: 256Mi}", "limits: {cpu: \"2\", memory: 512Mi}")
    repo.commit("more replicas and resources")
    gate = repo.review("diff", "--base", "base", "--fail-on-dangerous")
    assert gate.returncode == 0, gate.stderr
    lines = gate.stdout.splitlines()
    assert [line for line in lines if line.startswith("**Stack")] == [
        f"**Stack `{s}`{' (dev stack)' if s == 'dev' else ''}: no change in routes or tools.**"
        for s in ("dev", "prod", "staging")]
    assert "Dangerous" not in gate.stdout and "|" not in gate.stdout


def test_the_aggregated_route_shows_prefixed_names(repo):
    repo.edit("Pulumi.prod.yaml", "  mcp-federation:servers:", "  mcp-federation:aggregate:\n    enabled: true\n"
              "  mcp-federation:servers:")
    repo.commit("prod: aggregated route")
    review = repo.review_json("diff", "--base", "base", "--stack", "prod")
    (added,) = stack_entry(review, "prod")["routesAdded"]
    assert added == {"name": "mcp-all", "path": "/mcp", "aggregated": True, "servers": ["github", "slack"]}
    names = {c["name"]: c["after"]["state"] for c in stack_entry(review, "prod")["tools"]}
    assert names == {"github_get_repo": "reachable", "github_list_issues": "reachable",
                     "github_create_issue": "restricted", "github_delete_repo": "denied",  # toolGroups
                     "slack_list_channels": "reachable", "slack_send_message": "reachable",
                     "slack_get_messages": "reachable", "slack_delete_channel": "denied"}
    inventory = repo.review_json("inventory", "--stack", "prod")
    (route,) = [r for r in inventory["routes"] if r["aggregated"]]
    assert route["prefixed"] and route["name"] == "mcp-all"
    assert {(t["server"], t["tool"], t["name"]) for t in route["tools"]} >= {
        ("github", "get_repo", "github_get_repo"), ("slack", "delete_channel", "slack_delete_channel")}


# --- exit 2 ------------------------------------------------------------------------------------------------

def test_unknown_ref_and_unknown_stack_exit_2(repo):
    bad_ref = repo.review("diff", "--base", "no-such-branch")
    assert bad_ref.returncode == 2 and "unknown git ref 'no-such-branch'" in bad_ref.stderr
    assert repo.review("diff", "--base", "--help-me").returncode == 2
    bad_stack = repo.review("diff", "--base", "base", "--stack", "qa")
    assert bad_stack.returncode == 2
    assert "unknown stack(s) 'qa': stacks in the working tree: dev, prod, staging; at base: dev, prod, staging" \
        in bad_stack.stderr
    assert repo.review("inventory", "--stack", "qa").returncode == 2
    assert repo.worktrees() == [f"worktree {repo.path}"] and repo.leftovers() == []


def test_bad_config_at_either_side_names_the_side(repo):
    repo.edit("Pulumi.prod.yaml", "allowedTools: [get_repo,", "allowedTools: [get_rep0,")
    broken = repo.commit("prod: typo")
    at_head = repo.review("diff", "--base", "base", "--stack", "prod")
    assert at_head.returncode == 2 and at_head.stdout == ""
    assert "working tree: stack 'prod':" in at_head.stderr and "'get_rep0' is not a tool" in at_head.stderr
    repo.edit("Pulumi.prod.yaml", "allowedTools: [get_rep0,", "allowedTools: [get_repo,")
    repo.commit("prod: fixed")
    at_base = repo.review("diff", "--base", broken, "--stack", "prod")
    assert at_base.returncode == 2
    assert f"base {broken} ({broken[:12]}): stack 'prod':" in at_base.stderr and "get_rep0" in at_base.stderr
    assert repo.worktrees() == [f"worktree {repo.path}"] and repo.leftovers() == []


def test_uncommitted_inputs_exit_2_under_the_gate_only(repo):
    repo.edit("Pulumi.staging.yaml", "replicas: 2", "replicas: 3")
    gate = repo.review("diff", "--base", "base", "--fail-on-dangerous", "--stack", "staging")
    assert gate.returncode == 2
    assert "uncommitted changes to Pulumi.staging.yaml: commit or stash them" in gate.stderr
    assert repo.review("diff", "--base", "base", "--stack", "staging").returncode == 0  # a local look is fine
    repo.write("NOTES.md", "not an input\n")
    repo.git("checkout", "Pulumi.staging.yaml")
    assert repo.review("diff", "--base", "base", "--fail-on-dangerous", "--stack", "dev").returncode == 0


# --- code the change controls cannot decide the verdict ------------------------------------------------------

EXIT_EARLY = '\nimport os as _os, sys as _sys\nif "review.inventory" in _sys.modules:\n    _os._exit(0)\n'


def test_a_head_side_that_exits_early_fails_the_review_instead_of_passing(repo):
    """The head's server file ends the process that runs it with exit code 0 before any result is printed: the
    review fails (exit 3) naming the side, and never reports "no change"."""
    repo.edit("Pulumi.prod.yaml", "  mcp-federation:servers:", "  mcp-federation:denyDangerousTools: false\n"
              "  mcp-federation:servers:")
    repo.write("server_code/slack.py", (repo.path / "server_code/slack.py").read_text() + EXIT_EARLY)
    repo.commit("prod: dangerous tools on, and the review silenced")
    gate = repo.review("diff", "--base", "base", "--fail-on-dangerous")
    assert gate.returncode == 3, (gate.returncode, gate.stdout, gate.stderr)
    assert "working tree: exited 0 without complete inventories (no JSON results)" in gate.stderr
    assert gate.stdout == ""
    assert repo.worktrees() == [f"worktree {repo.path}"] and repo.leftovers() == []


def test_a_project_that_runs_another_program_is_refused_at_either_side(repo):
    """`main: app/` makes the Pulumi CLI deploy app/__main__.py; the review runs the project's __main__.py, so it
    refuses the project instead of reviewing the wrong program."""
    (repo.path / "app").mkdir()
    repo.write("app/__main__.py", "import pulumi\n")
    repo.edit("Pulumi.yaml", "runtime:", "main: app/\nruntime:")
    with_main = repo.commit("the program moves to app/")
    at_head = repo.review("diff", "--base", "base", "--stack", "prod")
    assert at_head.returncode == 2, at_head.stderr
    assert "bad config at the working tree: the project file" in at_head.stderr
    assert "sets 'main: 'app/'': render and the review run the project directory's __main__.py only" in at_head.stderr
    repo.edit("Pulumi.yaml", "main: app/\n", "main: ./\n")  # the project directory itself: fine
    repo.commit("main is the project directory")
    at_base = repo.review("diff", "--base", with_main, "--stack", "prod")
    assert at_base.returncode == 2 and f"bad config at the base {with_main} ({with_main[:12]})" in at_base.stderr
    assert repo.review("diff", "--base", "HEAD", "--stack", "prod").returncode == 0
    assert repo.worktrees() == [f"worktree {repo.path}"] and repo.leftovers() == []


def test_stack_files_moved_into_a_stack_config_dir_are_refused(repo):
    """CI's review commits the pull request's top-level Pulumi.*.yaml onto the trusted base: stack files moved into
    a stackConfigDir (where the CLI reads them, with prod opened) would leave the head without stacks, read as
    "stack removed". The review refuses such a project instead."""
    (repo.path / "stacks").mkdir()
    repo.git("mv", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml", "stacks/")
    repo.edit("Pulumi.yaml", "runtime:", "stackConfigDir: stacks\nruntime:")
    repo.edit("stacks/Pulumi.prod.yaml", "  mcp-federation:servers:", "  mcp-federation:denyDangerousTools: false\n"
              "  mcp-federation:servers:")
    repo.commit("stack files in stacks/, prod opened")
    gate = repo.review("diff", "--base", "base", "--fail-on-dangerous")
    assert gate.returncode == 2, gate.stderr
    assert "sets 'stackConfigDir: 'stacks'': the review reads the stack files in the project directory only" \
        in gate.stderr
    assert repo.worktrees() == [f"worktree {repo.path}"] and repo.leftovers() == []


def test_a_change_that_removes_a_non_dev_stack_file_fails_the_gate(repo):
    """Without its file a stack deploys with the project's defaults (or config kept elsewhere): the review cannot
    see what it would expose, so removing a non-dev stack needs the same approval as opening a dangerous tool."""
    repo.git("rm", "-q", "Pulumi.prod.yaml")
    repo.commit("prod's stack file removed")
    gate = repo.review("diff", "--base", "base", "--fail-on-dangerous", "--json")
    assert gate.returncode == 1, gate.stderr
    assert stack_entry(json.loads(gate.stdout), "prod")["status"] == "removed"
    assert "stack 'prod' loses its stack file: what its deploy would expose cannot be reviewed" in gate.stderr
    assert repo.review("diff", "--base", "base").returncode == 0  # without the gate it is a report only


def test_the_dev_stacks_come_from_the_base_side(repo):
    """A change that declares prod a dev stack in its own policy pack and opens prod's dangerous tools still fails:
    the gate takes the dev-stack list from the base."""
    repo.edit("policy/dangerous_tools.py", 'DEFAULT_DEV_STACKS = ("dev",)', 'DEFAULT_DEV_STACKS = ("dev", "prod")')
    repo.edit("Pulumi.prod.yaml", "  mcp-federation:servers:", "  mcp-federation:denyDangerousTools: false\n"
              "  mcp-federation:servers:")
    repo.commit("prod is a dev stack now")
    gate = repo.review("diff", "--base", "base", "--stack", "prod", "--fail-on-dangerous", "--json")
    assert gate.returncode == 1, gate.stderr
    review = json.loads(gate.stdout)
    assert review["devStacks"] == ["dev"] and not stack_entry(review, "prod")["devStack"]
    assert "dangerous tool 'delete_channel' becomes callable in stack 'prod'" in gate.stderr


def test_head_dir_reviews_another_checkout_from_this_one(repo, tmp_path):
    """The pull-request workflow runs the review from a trusted checkout of the base against the pull request's
    checkout: `--head-dir` names the head's project directory; `--base` is resolved in the reviewing checkout."""
    head = tmp_path / "head"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(head)], env=repo.env, check=True, timeout=60)
    staging = head / "Pulumi.staging.yaml"
    staging.write_text(staging.read_text().replace("  mcp-federation:gateway:", "  mcp-federation:denyDangerousTools:"
                                                   " false\n  mcp-federation:gateway:", 1))
    github = head / "server_code" / "github.py"  # the head's own server files are read, not the reviewing checkout's
    github.write_text(github.read_text().replace('    Tool("delete_repo",', GITHUB_NEW_TOOL, 1))
    dirty = repo.review("diff", "--base", "base", "--head-dir", str(head), "--fail-on-dangerous")
    assert dirty.returncode == 2 and f"the head {head} has uncommitted changes to Pulumi.staging.yaml" in dirty.stderr
    for args in (["add", "-A"], ["commit", "-q", "-m", "staging: dangerous tools on"]):
        subprocess.run(["git", *args], cwd=head, env=repo.env, check=True, timeout=60)
    gate = repo.review("diff", "--base", "base", "--head-dir", str(head), "--fail-on-dangerous", "--json")
    assert gate.returncode == 1, gate.stderr
    review = json.loads(gate.stdout)
    assert review["head"] == str(head)
    assert tool_change(review, "staging", "github", "close_issue")["change"] == "appeared"
    assert {d["name"] for d in review["dangerousMadeReachable"]} == \
        {"delete_repo", "delete_channel", "github_delete_repo", "slack_delete_channel"}
    text = repo.review("diff", "--base", "base", "--head-dir", str(head), "--stack", "dev").stdout
    assert text.startswith(f"## Tool review: `base` (`{review['base']['commit'][:12]}`) → `{head}`\n")
    missing = repo.review("diff", "--base", "base", "--head-dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and f"bad config at the head {tmp_path / 'nowhere'}: cannot read the project " \
        "file" in missing.stderr
    assert repo.worktrees() == [f"worktree {repo.path}"] and repo.leftovers() == []


# --- the temporary worktree ----------------------------------------------------------------------------------

def test_the_worktree_is_removed_when_the_program_fails(repo):
    repo.edit("__main__.py", "config = load_config()", "raise RuntimeError('boom at the base')\nconfig = load_config()")
    broken = repo.commit("broken program")
    repo.git("revert", "--no-edit", "HEAD")
    failed = repo.review("diff", "--base", broken, "--stack", "dev")
    assert failed.returncode == 3
    assert f"base {broken} ({broken[:12]}): stack 'dev': RuntimeError: boom at the base" in failed.stderr
    assert repo.worktrees() == [f"worktree {repo.path}"] and repo.leftovers() == []
    assert "prunable" not in repo.git("worktree", "list", "--porcelain")
    repo.write("Pulumi.yaml", "name: [unclosed\n")  # fails inside the worktree block, as an exception
    unreadable = repo.commit("unreadable project file")
    repo.git("revert", "--no-edit", "HEAD")
    failed = repo.review("diff", "--base", unreadable)
    assert failed.returncode == 2
    assert f"bad config at the base {unreadable} ({unreadable[:12]}): the project file" in failed.stderr
    assert repo.worktrees() == [f"worktree {repo.path}"] and repo.leftovers() == []


@pytest.mark.parametrize("moment", ["temporary directory made", "worktree registered", "base program running"])
def test_the_worktree_is_removed_when_the_review_is_terminated(repo, moment):
    repo.edit("__main__.py", "config = load_config()", "import time\ntime.sleep(120)\nconfig = load_config()")
    slow = repo.commit("slow base program")
    repo.git("revert", "--no-edit", "HEAD")
    admin = repo.path / ".git" / "worktrees"  # read directly: `git worktree list` races with `git worktree add`
    reached = {"temporary directory made": lambda: list(repo.tmp.glob("review-base-*")),
               "worktree registered": lambda: admin.is_dir() and any(admin.iterdir()),
               "base program running": lambda: "review.side" in subprocess.run(
                   ["ps", "-o", "args=", "--ppid", str(child.pid)], capture_output=True, text=True).stdout}[moment]
    child = subprocess.Popen([sys.executable, "-m", "review", "diff", "--base", slow, "--stack", "dev"],
                             cwd=repo.path, env=repo.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not reached():
            assert child.poll() is None and time.monotonic() < deadline, child.communicate()
            time.sleep(0.01)
        child.send_signal(signal.SIGTERM)
        child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 128 + signal.SIGTERM
    assert repo.worktrees() == [f"worktree {repo.path}"] and repo.leftovers() == []
    assert repo.git("worktree", "list", "--porcelain").count("worktree ") == 1


def test_each_side_runs_its_own_components(repo):
    """The base side imports the base's `components` (not the working tree's): a base whose plan never
    prefixes names on the aggregated route shows unprefixed names there, the working tree prefixed ones."""
    repo.edit("components/plan.py", '    return prefix_mode == "Always" or', "    return False and (prefix_mode == \"Always\" or")
    repo.edit("components/plan.py", "and target_count > 1)", "and target_count > 1))")
    unprefixed = repo.commit("base without prefixes")
    repo.git("revert", "--no-edit", "HEAD")
    review = repo.review_json("diff", "--base", unprefixed, "--stack", "staging")
    changes = {(c["name"], c["change"]) for c in stack_entry(review, "staging")["tools"]}
    assert ("get_repo", "disappeared") in changes and ("github_get_repo", "appeared") in changes
    assert all(c["route"] == "mcp-all" for c in stack_entry(review, "staging")["tools"])


def test_an_interrupted_worktree_add_is_cleaned_up(repo):
    """`git worktree add` killed right after it made its locked entry, before writing `gitdir`: git can neither
    unlock nor prune that entry by itself."""
    from review.gitref import remove_worktree

    path = repo.tmp / "review-base-cut"
    path.mkdir()
    entry = repo.path / ".git" / "worktrees" / "review-base-cut"
    entry.mkdir(parents=True)
    (entry / "locked").write_text("initializing")
    remove_worktree(repo.path, path)
    assert not entry.exists() and not path.exists() and repo.worktrees() == [f"worktree {repo.path}"]
