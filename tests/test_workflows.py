"""The GitHub workflows: structure (triggers, job order, environments, the verifier after every up, pinned action
majors, the inputs of pulumi/actions, least privilege, no inline secrets), and the real actionlint (with
shellcheck on the `run:` scripts)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
STACKS = ("dev", "staging", "prod")
# Every action pinned to a full commit id (a tag can be moved; these jobs hold prod credentials), with the release
# it is in a comment: the newest release of the major in use, read from the upstream repositories' tags
# (`git rev-parse 'v6.1.0^{commit}'` in github.com/actions/checkout etc., 2026-12-02).
ACTION_PINS = {
    "actions/checkout": ("d23441a48e516b6c34aea4fa41551a30e30af803", "v6.1.0"),
    "actions/setup-python": ("ece7cb06caefa5fff74198d8649806c4678c61a1", "v6.3.0"),
    "actions/setup-go": ("924ae3a1cded613372ab5595356fb5720e22ba16", "v6.5.0"),  # e2e.yml
    "actions/upload-artifact": ("b7c566a772e6b6bfb58ed0dc250532a479d7789f", "v6.0.0"),  # e2e.yml, review.yml
    "actions/download-artifact": ("018cc2cf5baa6db3ef3c5f8a56943fffe632ef53", "v6.0.0"),  # review.yml
    "pulumi/actions": ("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0"),
}
USES_LINE = re.compile(r"^\s*(?:- )?uses: (?P<action>[^@\s]+)@(?P<ref>\S+)(?P<comment>.*)$")
PINNED_REF = re.compile(r"[0-9a-f]{40}")
RELEASE_COMMENT = re.compile(r"  # (v\d+\.\d+\.\d+)")
# Inputs of pulumi/actions@v7 (its action.yml, as actionlint's action metadata also lists them).
PULUMI_ACTION_INPUTS = {
    "always-include-summary", "cloud-url", "color", "command", "comment-on-pr", "comment-on-pr-number",
    "comment-on-summary", "config-map", "continue-on-error", "debug", "diff", "edit-pr-comment", "exclude",
    "exclude-dependents", "exclude-protected", "expect-no-changes", "github-token", "log-flow", "log-verbosity",
    "message", "parallel", "plan", "policyPackConfigs", "policyPacks", "pulumi-version", "pulumi-version-file",
    "refresh", "remove", "replace", "secrets-provider", "stack-name", "suppress-outputs", "suppress-progress",
    "target", "target-dependents", "upsert", "work-dir"}
# Inputs of the other pinned actions (each one's action.yml at the pinned release). actionlint checks the inputs of
# actions it knows only for tag refs, not for commit ids: this list does it instead.
ACTION_INPUTS = {
    "actions/checkout": {
        "allow-unsafe-pr-checkout", "clean", "fetch-depth", "fetch-tags", "filter", "github-server-url", "lfs", "path",
        "persist-credentials", "ref", "repository", "set-safe-directory", "show-progress", "sparse-checkout",
        "sparse-checkout-cone-mode", "ssh-key", "ssh-known-hosts", "ssh-strict", "ssh-user", "submodules", "token"},
    "actions/setup-python": {
        "allow-prereleases", "architecture", "cache", "cache-dependency-path", "check-latest", "freethreaded",
        "pip-install", "pip-version", "python-version", "python-version-file", "token", "update-environment"},
    "actions/setup-go": {"architecture", "cache", "cache-dependency-path", "check-latest", "go-download-base-url",
                         "go-version", "go-version-file", "token"},
    "actions/upload-artifact": {"compression-level", "if-no-files-found", "include-hidden-files", "name", "overwrite",
                                "path", "retention-days"},
    "actions/download-artifact": {"artifact-ids", "github-token", "merge-multiple", "name", "path", "pattern",
                                  "repository", "run-id"},
    "pulumi/actions": PULUMI_ACTION_INPUTS,
}
# Jobs with a write scope; none of them runs pull-request code.
WRITERS = {("review.yml", "comment"): {"pull-requests"}, ("review.yml", "drop-override"): {"pull-requests"}}
# The secrets of a Pulumi step: the stack's environment secrets, in that step's env only.
STACK_SECRETS = {"KUBECONFIG": "${{ runner.temp }}/kubeconfig",
                 **{name: f"${{{{ secrets.{name} }}}}" for name in (
                     "PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "AWS_ACCESS_KEY_ID",
                     "AWS_SECRET_ACCESS_KEY", "AWS_REGION")}}
# Every step that gets a secret, per (workflow, job).
SECRET_STEPS = {
    ("pull-request.yml", "preview"): ["Kubeconfig of the ${{ matrix.stack }} cluster",
                                      "pulumi preview ${{ matrix.stack }}"],
    ("deploy-stack.yml", "up"): ["Kubeconfig of the ${{ inputs.stack }} cluster",
                                 "pulumi preview ${{ inputs.stack }} (policy pack; mandatory violations stop the job "
                                 "before up)", "pulumi up ${{ inputs.stack }}",
                                 "Verify every route through the gateway (${{ inputs.stack }})"],
}
SECRET_NAME = re.compile(r"PASSPHRASE|TOKEN|KUBECONFIG|SECRET|PASSWORD|ACCESS_KEY|BACKEND_URL|cloud-url")
SECRET_REFERENCE = re.compile(r"\$\{\{[^}]*\bsecrets\b(?!\.GITHUB_TOKEN\b)")
SECRET_EXPRESSION = re.compile(r"^\$\{\{ secrets\.[A-Z_]+ \}\}$")


def load(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as True
    return document


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job.get("steps", []) if str(s.get("uses", "")).split("@")[0] == action]


def all_steps() -> list[tuple[str, dict]]:
    return [(path.name, step) for path in sorted(WORKFLOWS.glob("*.yml"))
            for job in load(path.name)["jobs"].values() for step in job.get("steps", [])]


def test_the_workflow_files():
    assert sorted(p.name for p in WORKFLOWS.iterdir()) == ["deploy-stack.yml", "deploy.yml", "e2e.yml",
                                                           "pull-request.yml", "review.yml"]


# --- pull requests ---------------------------------------------------------------------------------------------

def test_pull_request_runs_the_tests_then_a_preview_per_stack():
    workflow = load("pull-request.yml")
    assert workflow["on"] == {"pull_request": {"branches": ["main"]}}
    jobs = workflow["jobs"]
    assert set(jobs) == {"tests", "preview"}
    assert jobs["preview"]["needs"] == "tests"
    assert jobs["preview"]["strategy"]["matrix"] == {"stack": list(STACKS)}
    assert jobs["preview"]["strategy"]["fail-fast"] is False  # one stack's failure does not hide the others
    assert jobs["preview"]["if"] == "github.event.pull_request.head.repo.full_name == github.repository"


def test_every_stack_file_is_previewed():
    stacks = {p.name[len("Pulumi."):-len(".yaml")] for p in REPO_ROOT.glob("Pulumi.*.yaml")}
    assert stacks <= set(load("pull-request.yml")["jobs"]["preview"]["strategy"]["matrix"]["stack"])


def test_the_tests_job_fetches_the_crds_then_runs_ci():
    job = load("pull-request.yml")["jobs"]["tests"]
    runs = [step.get("run") for step in job["steps"]]
    assert runs.index("make crds") < runs.index("bash .ci/run")
    ci_step = job["steps"][runs.index("bash .ci/run")]
    assert ci_step["env"]["MCP_FEDERATION_CRDS_DIR"] == "${{ github.workspace }}/.crds"  # where `make crds` writes


def test_each_preview_runs_in_its_stacks_protected_environment_with_that_stacks_secrets():
    """The preview runs the pull request's program with the stack's secrets: they are secrets of the environment
    preview-<stack> (staging/prod: required reviewers), never repository secrets a job without one could read."""
    job = load("pull-request.yml")["jobs"]["preview"]
    assert job["environment"] == "preview-${{ matrix.stack }}"
    assert job["permissions"] == {"contents": "read"}  # no write token next to the pull request's code
    kubeconfig, preview = secret_steps(job)
    assert kubeconfig["env"] == {"KUBECONFIG_DATA": "${{ secrets.KUBECONFIG }}"}  # one name, per environment
    assert preview["uses"].startswith("pulumi/actions@") and preview["env"] == STACK_SECRETS
    assert not SECRET_REFERENCE.search(str(load("pull-request.yml")["jobs"]["tests"]))


def test_preview_reports_in_the_job_summary_with_the_policy_pack():
    job = load("pull-request.yml")["jobs"]["preview"]
    (step,) = steps_using(job, "pulumi/actions")
    assert step["with"]["command"] == "preview"
    assert step["with"]["stack-name"] == "${{ matrix.stack }}"
    assert step["with"]["comment-on-summary"] is True
    assert "comment-on-pr" not in step["with"] and "github-token" not in step["with"]
    assert step["with"]["cloud-url"] == "${{ secrets.PULUMI_BACKEND_URL }}"
    assert step["with"]["policyPacks"] == "policy"
    assert (REPO_ROOT / "policy").is_dir()


# --- main: promotion dev -> staging -> prod -------------------------------------------------------------------

def test_deploy_promotes_dev_then_staging_then_prod():
    workflow = load("deploy.yml")
    assert workflow["on"]["push"] == {"branches": ["main"]}
    jobs = workflow["jobs"]
    assert list(jobs) == list(STACKS)
    assert "needs" not in jobs["dev"]
    assert jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    for stack, job in jobs.items():
        assert job["uses"] == "./.github/workflows/deploy-stack.yml"
        assert job["with"] == {"stack": stack}
        assert job["secrets"] == "inherit"
        assert job["if"] == "github.ref == 'refs/heads/main'"  # workflow_dispatch from another branch: nothing


def test_deploy_header_names_the_branch_rule():
    head = (WORKFLOWS / "deploy.yml").read_text().split("\nname:", 1)[0]
    assert "main only" in head and "workflow_dispatch" in head


def test_each_stack_deploys_in_its_environment_and_is_verified_after_the_up():
    workflow = load("deploy-stack.yml")
    assert workflow["on"]["workflow_call"]["inputs"]["stack"]["required"] is True
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "${{ inputs.stack }}"  # staging/prod: required reviewers in GitHub
    assert job["concurrency"] == {"group": "pulumi-stack-${{ inputs.stack }}", "cancel-in-progress": False}
    steps = job["steps"]
    preview, up = steps_using(job, "pulumi/actions")
    assert up["with"]["command"] == "up" and up["with"]["stack-name"] == "${{ inputs.stack }}"
    assert up["with"]["policyPacks"] == "policy"
    after = steps[steps.index(up) + 1:]
    assert [s["run"] for s in after] == ['scripts/verify-stack.sh "$STACK" --deadline 300']
    assert after[0]["env"] == {"STACK": "${{ inputs.stack }}",  # the tokens: secrets of the stack's environment
                               "MCP_VERIFY_TOKEN": "${{ secrets.MCP_VERIFY_TOKEN }}",
                               "MCP_VERIFY_RESTRICTED_TOKEN": "${{ secrets.MCP_VERIFY_RESTRICTED_TOKEN }}",
                               **STACK_SECRETS}  # `pulumi stack output` reads the backend
    assert (REPO_ROOT / "scripts" / "verify-stack.sh").is_file()


def test_each_stack_is_previewed_with_the_policy_pack_right_before_the_up():
    """`up` runs stack policies only after the resources were applied; the preview before it blocks violations."""
    (job,) = load("deploy-stack.yml")["jobs"].values()
    steps = job["steps"]
    preview, up = steps_using(job, "pulumi/actions")
    assert preview["with"]["command"] == "preview"
    assert steps.index(preview) + 1 == steps.index(up)  # nothing in between: the up applies what was previewed
    assert preview["with"] == {**up["with"], "command": "preview"}  # same stack, backend, dir and policy pack
    assert preview["with"]["policyPacks"] == "policy" and preview["with"]["stack-name"] == "${{ inputs.stack }}"
    assert not preview.get("continue-on-error") and "continue-on-error" not in preview["with"]


def test_every_pulumi_command_gets_the_backend_and_the_passphrase_from_secrets():
    for name, job in (("pull-request.yml", "preview"), ("deploy-stack.yml", "up")):
        for step in steps_using(load(name)["jobs"][job], "pulumi/actions"):
            assert step["env"] == STACK_SECRETS, (name, step["name"])


def secret_steps(job: dict) -> list[dict]:
    """The steps of a job that reference a secret (other than the job's own GITHUB_TOKEN)."""
    return [step for step in job.get("steps", []) if SECRET_REFERENCE.search(str(step))]


def test_secrets_reach_only_the_steps_that_use_them():
    """No workflow- or job-level env with secrets: `make venv`, pip and the tests (third-party and pull-request
    code) run without them. Only the listed steps get any."""
    seen = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        workflow = load(path.name)
        assert not SECRET_REFERENCE.search(str(workflow.get("env", {}))), path.name
        for job_name, job in workflow["jobs"].items():
            assert not SECRET_REFERENCE.search(str(job.get("env", {}))), (path.name, job_name)
            names = [step.get("name", step.get("uses")) for step in secret_steps(job)]
            if names:
                seen[(path.name, job_name)] = names
            for step in job.get("steps", []):
                if "make" in str(step.get("run", "")) or "pip install" in str(step.get("run", "")):
                    assert step not in secret_steps(job), (path.name, step["run"])
    assert seen == SECRET_STEPS


# --- every workflow ---------------------------------------------------------------------------------------------

def action_pins(text: str) -> dict[str, tuple[str, str]]:
    """{action: (ref, release in the comment)} of every `uses:` line of a workflow text but local workflows;
    AssertionError naming the line when a ref is not a full commit id or the release comment is missing."""
    pins: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        match = USES_LINE.match(line)
        if not match or match["action"].startswith("./"):
            continue
        release = RELEASE_COMMENT.fullmatch(match["comment"])
        assert PINNED_REF.fullmatch(match["ref"]), f"{line.strip()}: not pinned to a full commit id"
        assert release, f"{line.strip()}: no `  # vX.Y.Z` comment naming the release of the commit"
        assert pins.setdefault(match["action"], (match["ref"], release[1])) == (match["ref"], release[1]), line
    return pins


def test_actions_are_pinned_to_commit_ids_of_named_releases():
    used: dict[str, tuple[str, str]] = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for action, pin in action_pins(path.read_text()).items():
            assert used.setdefault(action, pin) == pin, f"{path.name}: {action} pinned differently elsewhere"
    assert used == ACTION_PINS
    # every `uses:` the YAML holds was seen by the line check (no other spelling slipped past it)
    assert {step["uses"].split("@")[0] for _, step in all_steps() if "uses" in step} == set(ACTION_PINS)


@pytest.mark.parametrize("line, problem", [
    ("      - uses: actions/checkout@v6", "not pinned to a full commit id"),
    ("      - uses: actions/checkout@v6.1.0  # v6.1.0", "not pinned to a full commit id"),
    ("        uses: pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d", "no `  # vX.Y.Z` comment"),
])
def test_the_pin_check_refuses_tags_and_missing_release_comments(line, problem):
    with pytest.raises(AssertionError, match=re.escape(problem)):
        action_pins(f"steps:\n{line}\n")


def test_pulumi_action_steps_have_the_required_and_only_known_inputs():
    steps = [(name, step) for name, step in all_steps() if str(step.get("uses", "")).startswith("pulumi/actions@")
             and "command" in step.get("with", {})]  # e2e.yml uses it only to install the CLI (tests/test_workflow_e2e.py)
    assert [(name, step["with"]["command"]) for name, step in steps] == [
        ("deploy-stack.yml", "preview"), ("deploy-stack.yml", "up"), ("pull-request.yml", "preview")]
    for name, step in steps:
        inputs = step["with"]
        assert {"command", "stack-name", "cloud-url"} <= set(inputs), name
        assert set(inputs) <= PULUMI_ACTION_INPUTS, f"{name}: unknown inputs {set(inputs) - PULUMI_ACTION_INPUTS}"
        assert inputs["work-dir"] == "./"


def test_every_action_step_uses_only_inputs_its_action_has():
    for name, step in all_steps():
        if "uses" in step:
            action = step["uses"].split("@")[0]
            unknown = set(step.get("with", {})) - ACTION_INPUTS[action]
            assert not unknown, f"{name}: {action} has no input(s) {unknown}"


def test_least_privilege_permissions():
    writers = {}
    for path in WORKFLOWS.glob("*.yml"):
        workflow = load(path.name)
        assert workflow["permissions"] == {"contents": "read"}, path.name
        for job_name, job in workflow["jobs"].items():
            writes = {scope for scope, level in job.get("permissions", {}).items() if level == "write"}
            if writes:
                writers[(path.name, job_name)] = writes
    assert writers == WRITERS


def test_checkouts_leave_no_token_in_the_git_config():
    """persist-credentials: false on every checkout: code that runs later in the job cannot read the token."""
    checkouts = [(name, step) for name, step in all_steps() if step.get("uses", "").startswith("actions/checkout@")]
    assert len(checkouts) >= 6
    for name, step in checkouts:
        assert step["with"]["persist-credentials"] is False, name


def _values(node, key=""):
    if isinstance(node, dict):
        for child_key, child in node.items():
            yield from _values(child, str(child_key))
    elif isinstance(node, list):
        for child in node:
            yield from _values(child, key)
    else:
        yield key, node


def inline_secrets(text: str) -> list:
    """Secret-looking literals in a workflow text, and secret-named keys whose value is not a secrets expression."""
    found = [pattern for pattern in (r"-----BEGIN", r"pul-[0-9a-f]{20,}", r"AKIA[0-9A-Z]{16}", r"client-key-data")
             if re.search(pattern, text)]
    for key, value in _values(yaml.safe_load(text)):
        if SECRET_NAME.search(key) and (key, value) != ("KUBECONFIG", "${{ runner.temp }}/kubeconfig"):
            if not (isinstance(value, str) and SECRET_EXPRESSION.match(value)):
                found.append((key, value))
    return found


def test_no_secret_value_is_written_inline():
    for path in WORKFLOWS.glob("*.yml"):
        assert inline_secrets(path.read_text()) == [], path.name


def test_the_inline_secret_check_catches_literals():
    text = (WORKFLOWS / "deploy-stack.yml").read_text()
    leaked = text.replace("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}", "correct-horse-battery")
    assert inline_secrets(leaked) == [("PULUMI_CONFIG_PASSPHRASE", "correct-horse-battery")] * 3  # 3 steps
    assert inline_secrets(text + "# pul-0123456789abcdef0123456789\n") == [r"pul-[0-9a-f]{20,}"]


def test_no_untrusted_expression_is_expanded_inside_a_script():
    for name, step in all_steps():
        assert "${{" not in str(step.get("run", "")), f"{name}: pass values to scripts via env, not ${{{{ }}}}"


# --- the real linter ---------------------------------------------------------------------------------------------

def _tool(name: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    assert found, f"{name} is missing: install requirements-dev.txt"
    return found


def test_actionlint_with_shellcheck_passes():
    actionlint, shellcheck = _tool("actionlint"), _tool("shellcheck")
    env = {**os.environ, "PATH": f"{Path(shellcheck).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([actionlint, "-shellcheck", shellcheck, *sorted(map(str, WORKFLOWS.glob("*.yml")))],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """The linter really checks: an unknown pulumi/actions input and an unquoted variable are reported."""
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo $FOO\n      - uses: pulumi/actions@v7\n        with: {stack-nam: dev}\n")
    shellcheck = _tool("shellcheck")
    done = subprocess.run([_tool("actionlint"), "-shellcheck", shellcheck, str(broken)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    assert 'input "stack-nam" is not defined in action "pulumi/actions@v7"' in done.stdout
    assert "SC2086" in done.stdout


@pytest.mark.parametrize("name", ["pull-request.yml", "deploy.yml", "deploy-stack.yml"])
def test_workflow_header_explains_the_secrets_or_the_gate(name):
    head = (WORKFLOWS / name).read_text().split("\nname:", 1)[0]
    assert head.startswith("#")
    if name == "pull-request.yml":
        for words in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "KUBECONFIG", "preview-staging",
                      "preview-prod", "required reviewers", "No repository secrets"):
            assert words in head
    if name == "deploy.yml":
        assert "required reviewers" in head and "KUBECONFIG" in head


# --- the tool review (review.yml) ---------------------------------------------------------------------------------

REVIEW_LABEL = "allow-dangerous-tools"


def review_jobs() -> dict[str, dict]:
    return load("review.yml")["jobs"]


def review_steps(job: str = "review") -> dict[str, dict]:
    return {step.get("name", step.get("uses")): step for step in review_jobs()[job]["steps"]}


def test_review_runs_on_every_pull_request_event_that_can_change_its_verdict():
    workflow = load("review.yml")
    assert workflow["on"] == {"pull_request": {"branches": ["main"], "types": [
        "opened", "synchronize", "reopened", "labeled", "unlabeled"]}}  # labels: the override re-runs the gate
    assert "pull_request_target" not in workflow["on"]  # never the base repo's write token on a fork's code
    jobs = review_jobs()
    assert jobs["review"]["name"] == "tool review" and jobs["review"]["permissions"] == {"contents": "read"}
    assert not SECRET_REFERENCE.search((WORKFLOWS / "review.yml").read_text())
    assert "if" not in jobs["review"]  # forks included


def test_the_base_commits_tool_judges_the_pull_request():
    """The tool (review/, render/, policy/) comes from the base checkout in trusted/; the pull request's checkout
    only supplies the program inputs."""
    steps = review_steps()
    names = list(steps)
    pr, trusted = (s for s in steps.values() if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert pr["with"] == {"path": "pr", "fetch-depth": 2, "persist-credentials": False}  # the merge commit
    assert trusted["with"] == {"ref": "${{ steps.base.outputs.sha }}", "path": "trusted",
                               "persist-credentials": False}
    assert steps["Base virtualenv (trusted/.venv)"]["run"] == "make -C trusted venv"
    assert not [n for n, s in steps.items() if "make venv" in str(s.get("run"))]  # never the pull request's Makefile
    review = steps["Tool review against the base"]
    assert review["env"] == {"BASE_SHA": "${{ steps.base.outputs.sha }}"}
    assert "(cd trusted && .venv/bin/python -m review diff --base \"$BASE_SHA\" --fail-on-dangerous " \
           "--max-chars 60000)" in review["run"].replace("\\\n", "")
    assert '>> "$GITHUB_STEP_SUMMARY"' in review["run"]  # the report always lands in the job summary
    assert names.index("Base commit") < names.index("The base (the review tool that judges)") < \
        names.index("Base virtualenv (trusted/.venv)") < \
        names.index("The pull request's program inputs, committed on top of the base") < \
        names.index("Tool review against the base") < names.index(next(n for n in names if n.startswith("Gate")))


def overlay_inputs() -> list[str]:
    run = review_steps()["The pull request's program inputs, committed on top of the base"]["run"]
    return re.search(r"^inputs=\((.*)\)$", run, re.M)[1].replace("'", "").split()


def test_the_overlaid_inputs_are_what_the_review_tool_says_the_inventory_depends_on():
    from review import gitref
    inputs = overlay_inputs()
    assert set(inputs) == {*gitref.INPUT_FILES, *(d.rstrip("/") for d in gitref.INPUT_DIRS), ":(glob)Pulumi.*.yaml"}
    assert gitref.is_input("Pulumi.prod.yaml") and not gitref.is_input("review/diff.py")


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _checkouts(tmp_path: Path, files: dict[str, str], changes: dict[str, str | None]) -> tuple[Path, str]:
    """tmp_path/pr at a merge commit (first parent: base with `files`; second: the pull request's `changes`,
    None deletes) and tmp_path/trusted at base, as the workflow's two checkouts; returns (pr, base commit)."""
    pr = tmp_path / "pr"
    pr.mkdir()
    _git(pr, "init", "-q", "-b", "main")

    def write(contents: dict[str, str | None]) -> None:
        for name, text in contents.items():
            if text is None:
                (pr / name).unlink()
            else:
                (pr / name).parent.mkdir(parents=True, exist_ok=True)
                (pr / name).write_text(text)
        _git(pr, "add", "-A")
        _git(pr, "commit", "-q", "-m", "x")

    write(files)
    base = _git(pr, "rev-parse", "HEAD").strip()
    _git(pr, "checkout", "-q", "-b", "feature")
    write(changes)
    _git(pr, "checkout", "-q", "main")
    write({"README.md": "main moved on\n"})  # the base branch moved: the merge's first parent is this commit
    base = _git(pr, "rev-parse", "HEAD").strip()
    _git(pr, "merge", "-q", "--no-ff", "-m", "merge", "feature")
    _git(tmp_path, "clone", "-q", "--no-checkout", str(pr), "trusted")
    _git(tmp_path / "trusted", "checkout", "-q", "--detach", base)
    return pr, base


def test_the_base_step_and_the_overlay_take_only_the_program_inputs_from_the_pull_request(tmp_path):
    files = {"__main__.py": "base\n", "Pulumi.yaml": "base\n", "Pulumi.dev.yaml": "base\n",
             "Pulumi.staging.yaml": "base\n", "components/a.py": "base\n", "server_code/s.py": "base\n",
             "review/diff.py": "base tool\n", "render/harness.py": "base\n", "policy/dangerous_tools.py": "base\n",
             "Makefile": "base\n"}
    changes = {"components/a.py": "pr\n", "components/new.py": "pr\n", "server_code/s.py": None,
               "Pulumi.staging.yaml": None, "Pulumi.prod.yaml": "pr\n", "__main__.py": "pr\n",
               "review/diff.py": "pr tool: nothing is ever dangerous\n", "render/harness.py": "pr\n",
               "policy/dangerous_tools.py": "DEFAULT_DEV_STACKS = ['prod']\n", "Makefile": "pr\n"}
    pr, base = _checkouts(tmp_path, files, changes)
    steps = review_steps()
    out = tmp_path / "out"
    done = _run_step(steps["Base commit"]["run"], {"GITHUB_OUTPUT": str(out)}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == f"sha={base}\n"
    done = _run_step(steps["The pull request's program inputs, committed on top of the base"]["run"], {}, tmp_path)
    assert done.returncode == 0, done.stderr
    trusted = tmp_path / "trusted"
    assert _git(trusted, "rev-parse", "HEAD^").strip() == base  # one commit on top of the base
    assert _git(trusted, "status", "--porcelain") == ""  # committed: --fail-on-dangerous judges commits
    tree = {name: (trusted / name).read_text() for name in _git(trusted, "ls-files").split()}
    assert tree == {"README.md": "main moved on\n", "__main__.py": "pr\n", "Pulumi.yaml": "base\n",
                    "Pulumi.dev.yaml": "base\n", "Pulumi.prod.yaml": "pr\n", "components/a.py": "pr\n",
                    "components/new.py": "pr\n", "review/diff.py": "base tool\n", "render/harness.py": "base\n",
                    "policy/dangerous_tools.py": "base\n", "Makefile": "base\n"}


def test_the_base_step_refuses_a_checkout_that_is_not_a_merge_commit(tmp_path):
    pr = tmp_path / "pr"
    pr.mkdir()
    _git(pr, "init", "-q")
    (pr / "f").write_text("x")
    _git(pr, "add", "f")
    _git(pr, "commit", "-q", "-m", "x")
    _git(pr, "commit", "-q", "--allow-empty", "-m", "y")
    done = _run_step(review_steps()["Base commit"]["run"], {"GITHUB_OUTPUT": str(tmp_path / "out")}, tmp_path)
    assert done.returncode == 2 and "not the pull request's merge commit" in done.stdout


def test_a_pull_request_that_rewrites_the_review_tool_is_still_judged_by_the_bases(tmp_path):
    """End to end with the real tool: the pull request opens staging's dangerous tools AND makes its own copy of
    the tool report nothing dangerous. Its own tool (what the workflow used to run) passes it; the workflow's steps
    run the base's tool, which fails the gate."""
    from tests.review_repo import PROJECT_ITEMS
    from render.harness import REPO_ROOT as PROJECT
    import shutil as sh
    source = tmp_path / "src"
    source.mkdir()
    for item in PROJECT_ITEMS:
        origin = PROJECT / item
        (sh.copytree(origin, source / item, ignore=sh.ignore_patterns("__pycache__", "*.pyc", "venv"))
         if origin.is_dir() else sh.copy(origin, source / item))
    files = {str(f.relative_to(source)): f.read_text() for f in source.rglob("*") if f.is_file()}
    staging = files["Pulumi.staging.yaml"]
    opened = staging.replace("config:\n", "config:\n  mcp-federation:denyDangerousTools: false\n", 1)
    assert opened != staging
    lie = "import sys\nprint('## Tool review: nothing changes')\nsys.exit(0)\n"  # the pull request's "tool"
    work = tmp_path / "work"
    work.mkdir()
    pr, base = _checkouts(work, files, {"Pulumi.staging.yaml": opened, "review/__main__.py": lie})
    env = {"HOME": str(work), "TMPDIR": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"}
    own = subprocess.run([sys.executable, "-m", "review", "diff", "--base", "HEAD^1", "--fail-on-dangerous",
                          "--stack", "staging"], cwd=pr, capture_output=True, text=True, timeout=300,
                         env={**os.environ, **env})
    assert own.returncode == 0, own.stderr  # the pull request's own tool is fooled
    steps = review_steps()
    (work / "trusted" / ".venv" / "bin").mkdir(parents=True)
    (work / "trusted" / ".venv" / "bin" / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (work / "trusted" / ".venv" / "bin" / "python").chmod(0o755)  # stands in for `make -C trusted venv`
    for name in ("The pull request's program inputs, committed on top of the base", "Tool review against the base"):
        out, summary = work / "out", work / "summary"
        done = _run_step(steps[name]["run"], {**env, "BASE_SHA": base, "RUNNER_TEMP": str(work),
                                              "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)},
                         work)
        assert done.returncode == 0, done.stdout + done.stderr
    assert "exit-code=1\n" in out.read_text()  # the gate's verdict
    assert "delete_repo" in summary.read_text() and "staging" in summary.read_text()


def test_the_comment_job_runs_no_pull_request_code_and_alone_can_write():
    job = review_jobs()["comment"]
    assert job["needs"] == "review" and job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "!cancelled()" in job["if"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]  # forks: read-only
    (checkout,) = steps_using(job, "actions/checkout")
    assert checkout["with"] == {"ref": "${{ needs.review.outputs.base }}", "persist-credentials": False}
    comment = review_steps("comment")["Sticky pull-request comment"]
    assert comment["run"] == 'scripts/review-comment.sh "$RUNNER_TEMP/tool-review/review.md"'
    assert comment["env"]["PR_NUMBER"] == "${{ github.event.pull_request.number }}"
    assert review_jobs()["review"]["outputs"] == {"base": "${{ steps.base.outputs.sha }}",
                                                  "reviewed": "${{ steps.review.outputs.exit-code == '0' || "
                                                              "steps.review.outputs.exit-code == '1' }}"}
    assert "needs.review.outputs.reviewed == 'true'" in job["if"]
    assert (REPO_ROOT / "scripts" / "review-comment.sh").stat().st_mode & 0o111


def test_the_report_reaches_the_comment_job_as_an_artifact():
    """An artifact, not a job output: a report of 60,000 characters can exceed what an environment variable holds."""
    review, comment = review_steps(), review_steps("comment")
    (upload,) = [s for s in review.values() if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    (download,) = [s for s in comment.values() if str(s.get("uses", "")).startswith("actions/download-artifact@")]
    assert upload["with"]["name"] == download["with"]["name"] == "tool-review"
    assert upload["with"]["path"] == "${{ runner.temp }}/tool-review/review.md"
    assert download["with"]["path"] == "${{ runner.temp }}/tool-review"
    assert 'cp "$RUNNER_TEMP/review.md" "$RUNNER_TEMP/tool-review/review.md"' in \
        review["Tool review against the base"]["run"]
    names = list(review)
    assert names.index("Tool review against the base") < names.index("The report, for the comment job") < \
        names.index(next(n for n in names if n.startswith("Gate")))  # uploaded before the gate can fail the job


def _run_step(run: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    script = cwd / "step.sh"
    script.write_text(run)
    return subprocess.run(["bash", "-e", str(script)], cwd=cwd, env={"PATH": os.environ["PATH"], **env},
                          capture_output=True, text=True, timeout=300)


def gate_verdicts(tmp_path: Path) -> dict:
    gate = next(step for name, step in review_steps().items() if name.startswith("Gate"))
    return {(code, label): _run_step(gate["run"], {"REVIEW_EXIT_CODE": code, "OVERRIDE_LABEL": label},
                                     tmp_path).returncode
            for code in ("0", "1") for label in ("true", "false")}


def test_review_gate_fails_on_dangerous_tools_unless_a_maintainer_labelled_this_commit(tmp_path):
    gate = next(step for name, step in review_steps().items() if name.startswith("Gate"))
    # the label counts only in the run its own `labeled` event starts: not on a push, another label, a reopen
    assert gate["env"] == {"REVIEW_EXIT_CODE": "${{ steps.review.outputs.exit-code }}",
                           "OVERRIDE_LABEL": "${{ github.event.action == 'labeled' && "
                                             f"github.event.label.name == '{REVIEW_LABEL}' }}}}"}
    assert "labels.*.name" not in str(gate)  # the label's mere presence (left from an earlier commit) is not enough
    head = (WORKFLOWS / "review.yml").read_text().split("\nname:", 1)[0]
    assert REVIEW_LABEL in head and "commit the\n# maintainer reviewed" in head  # documented
    assert gate_verdicts(tmp_path) == {("0", "true"): 0, ("0", "false"): 0, ("1", "true"): 0, ("1", "false"): 1}


def test_a_push_drops_the_override_label():
    job = review_jobs()["drop-override"]
    assert "github.event.action == 'synchronize'" in job["if"]
    assert f"contains(github.event.pull_request.labels.*.name, '{REVIEW_LABEL}')" in job["if"]
    assert job["permissions"] == {"pull-requests": "write"}
    assert "uses" not in str(job["steps"])  # no checkout: no pull-request code next to the write token
    (step,) = job["steps"]
    assert step["run"] == ('gh api --method DELETE '
                           f'"repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/labels/{REVIEW_LABEL}"')


def test_review_step_passes_only_the_gate_verdict_on(tmp_path):
    """The review step records exit 1 for the gate (and still writes the summary), but fails on 2 or 3."""
    run = review_steps()["Tool review against the base"]["run"]
    bin_dir = tmp_path / "trusted" / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for code in (0, 1, 2, 3):
        (bin_dir / "python").write_text(f"#!/bin/sh\necho '# report'\nexit {code}\n")
        (bin_dir / "python").chmod(0o755)
        out, summary = tmp_path / f"out{code}", tmp_path / f"summary{code}"
        done = _run_step(run, {"BASE_SHA": "b", "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(out),
                               "GITHUB_STEP_SUMMARY": str(summary)}, tmp_path)
        assert done.returncode == (0 if code in (0, 1) else code), (code, done.stderr)
        assert out.read_text().splitlines()[0] == f"exit-code={code}" and summary.read_text() == "# report\n"


def test_codeowners_cover_the_code_the_review_and_the_workflows_run():
    """The gate catches honest mistakes; owners' review of these paths is the guard against a lying change."""
    rules = [line.split() for line in (REPO_ROOT / ".github" / "CODEOWNERS").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    owned = {rule[0] for rule in rules if len(rule) >= 2}
    assert {"/.github/", "/server_code/", "/components/", "/policy/", "/review/"} <= owned
    assert "PLACEHOLDER" in (REPO_ROOT / ".github" / "CODEOWNERS").read_text()  # marked to replace
