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
    "actions/upload-artifact": ("b7c566a772e6b6bfb58ed0dc250532a479d7789f", "v6.0.0"),  # e2e.yml
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
PR_COMMENTERS = {("pull-request.yml", "preview"), ("review.yml", "review")}  # jobs that comment on pull requests
SECRET_NAME = re.compile(r"PASSPHRASE|TOKEN|KUBECONFIG|SECRET|PASSWORD|ACCESS_KEY|BACKEND_URL|cloud-url")
SECRET_EXPRESSION = re.compile(r"^\$\{\{ secrets(\.[A-Z_]+|\[matrix\.[a-z-]+\]) \}\}$")


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
    assert [entry["stack"] for entry in jobs["preview"]["strategy"]["matrix"]["include"]] == list(STACKS)
    assert jobs["preview"]["strategy"]["fail-fast"] is False  # one stack's failure does not hide the others
    assert jobs["preview"]["if"] == "github.event.pull_request.head.repo.full_name == github.repository"


def test_every_stack_file_is_previewed():
    stacks = {p.name[len("Pulumi."):-len(".yaml")] for p in REPO_ROOT.glob("Pulumi.*.yaml")}
    previewed = {e["stack"] for e in load("pull-request.yml")["jobs"]["preview"]["strategy"]["matrix"]["include"]}
    assert stacks <= previewed


def test_the_tests_job_fetches_the_crds_then_runs_ci():
    job = load("pull-request.yml")["jobs"]["tests"]
    runs = [step.get("run") for step in job["steps"]]
    assert runs.index("make crds") < runs.index("bash .ci/run")
    ci_step = job["steps"][runs.index("bash .ci/run")]
    assert ci_step["env"]["MCP_FEDERATION_CRDS_DIR"] == "${{ github.workspace }}/.crds"  # where `make crds` writes


def test_preview_posts_the_diff_on_the_pull_request_with_the_policy_pack():
    job = load("pull-request.yml")["jobs"]["preview"]
    (step,) = steps_using(job, "pulumi/actions")
    assert step["with"]["command"] == "preview"
    assert step["with"]["stack-name"] == "${{ matrix.stack }}"
    assert step["with"]["comment-on-pr"] is True
    assert step["with"]["github-token"] == "${{ secrets.GITHUB_TOKEN }}"
    assert step["with"]["cloud-url"] == "${{ secrets.PULUMI_BACKEND_URL }}"
    assert step["with"]["policyPacks"] == "policy"
    assert (REPO_ROOT / "policy").is_dir()
    kubeconfig = next(s for s in job["steps"] if "KUBECONFIG_DATA" in (s.get("env") or {}))
    assert kubeconfig["env"]["KUBECONFIG_DATA"] == "${{ secrets[matrix.kubeconfig-secret] }}"
    assert {e["kubeconfig-secret"] for e in job["strategy"]["matrix"]["include"]} == \
        {f"KUBECONFIG_{stack.upper()}" for stack in STACKS}


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
                               "MCP_VERIFY_RESTRICTED_TOKEN": "${{ secrets.MCP_VERIFY_RESTRICTED_TOKEN }}"}
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
        env = load(name)["jobs"][job]["env"]
        assert env["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
        assert env["PULUMI_BACKEND_URL"] == "${{ secrets.PULUMI_BACKEND_URL }}"
        assert env["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"


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


def test_least_privilege_permissions():
    for path in WORKFLOWS.glob("*.yml"):
        workflow = load(path.name)
        assert workflow["permissions"] == {"contents": "read"}, path.name
        for job_name, job in workflow["jobs"].items():
            permissions = job.get("permissions", {})
            writes = {scope for scope, level in permissions.items() if level == "write"}
            allowed = {"pull-requests"} if (path.name, job_name) in PR_COMMENTERS else set()
            assert writes == allowed, (path.name, job_name, permissions)
    assert load("pull-request.yml")["jobs"]["preview"]["permissions"]["pull-requests"] == "write"


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
        if SECRET_NAME.search(key) and key != "kubeconfig-secret":
            if not (isinstance(value, str) and SECRET_EXPRESSION.match(value)):
                found.append((key, value))
    return found


def test_no_secret_value_is_written_inline():
    for path in WORKFLOWS.glob("*.yml"):
        assert inline_secrets(path.read_text()) == [], path.name


def test_the_inline_secret_check_catches_literals():
    text = (WORKFLOWS / "deploy-stack.yml").read_text()
    leaked = text.replace("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}", "correct-horse-battery")
    assert inline_secrets(leaked) == [("PULUMI_CONFIG_PASSPHRASE", "correct-horse-battery")]
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
        for secret in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "KUBECONFIG_DEV"):
            assert secret in head
    if name == "deploy.yml":
        assert "required reviewers" in head and "KUBECONFIG" in head


# --- the tool review (review.yml) ---------------------------------------------------------------------------------

REVIEW_LABEL = "allow-dangerous-tools"


def review_steps() -> dict[str, dict]:
    (job,) = load("review.yml")["jobs"].values()
    return {step.get("name", step.get("uses")): step for step in job["steps"]}


def test_review_runs_on_every_pull_request_event_that_can_change_its_verdict():
    workflow = load("review.yml")
    assert workflow["on"] == {"pull_request": {"branches": ["main"], "types": [
        "opened", "synchronize", "reopened", "labeled", "unlabeled"]}}  # labels: the override re-runs the gate
    assert "pull_request_target" not in workflow["on"]  # never the base repo's write token on a fork's code
    (job,) = workflow["jobs"].values()
    assert job["name"] == "tool review" and job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "secrets." not in (WORKFLOWS / "review.yml").read_text().replace("secrets.GITHUB_TOKEN", "")
    assert "if" not in job  # forks included


def test_review_compares_with_the_base_branch_with_the_gate_on():
    steps = review_steps()
    (checkout,) = [s for s in steps.values() if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert checkout["with"]["fetch-depth"] == 0  # origin/<base> must exist for the worktree
    review = steps["Tool review against the base branch"]
    assert review["env"] == {"BASE_REF": "${{ github.base_ref }}"}
    assert '-m review diff --base "origin/$BASE_REF" --fail-on-dangerous --max-chars 60000' in \
        review["run"].replace("\\\n", "")
    assert '>> "$GITHUB_STEP_SUMMARY"' in review["run"]  # the report always lands in the job summary
    names = list(steps)
    assert names.index("Program virtualenv (.venv)") < names.index("Tool review against the base branch") < \
        names.index("Sticky pull-request comment") < names.index(next(n for n in names if n.startswith("Gate")))


def test_review_comments_only_where_the_token_can_write():
    comment = review_steps()["Sticky pull-request comment"]
    assert comment["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert comment["run"] == 'scripts/review-comment.sh "$RUNNER_TEMP/review.md"'
    assert comment["env"]["PR_NUMBER"] == "${{ github.event.pull_request.number }}"
    assert (REPO_ROOT / "scripts" / "review-comment.sh").stat().st_mode & 0o111


def _run_step(run: str, env: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    script = tmp_path / "step.sh"
    script.write_text(run)
    return subprocess.run(["bash", "-e", str(script)], env={"PATH": os.environ["PATH"], **env},
                          capture_output=True, text=True, timeout=60)


def test_review_gate_fails_on_dangerous_tools_unless_a_maintainer_labelled_the_pull_request(tmp_path):
    gate = next(step for name, step in review_steps().items() if name.startswith("Gate"))
    assert gate["env"] == {"REVIEW_EXIT_CODE": "${{ steps.review.outputs.exit-code }}",
                           "OVERRIDE_LABEL": f"${{{{ contains(github.event.pull_request.labels.*.name, "
                                             f"'{REVIEW_LABEL}') }}}}"}
    assert REVIEW_LABEL in (WORKFLOWS / "review.yml").read_text().split("\nname:", 1)[0]  # documented
    verdicts = {(code, label): _run_step(gate["run"], {"REVIEW_EXIT_CODE": code, "OVERRIDE_LABEL": label},
                                         tmp_path).returncode
                for code in ("0", "1") for label in ("true", "false")}
    assert verdicts == {("0", "true"): 0, ("0", "false"): 0, ("1", "true"): 0, ("1", "false"): 1}


def test_review_step_passes_only_the_gate_verdict_on(tmp_path):
    """The review step records exit 1 for the gate (and still writes the summary), but fails on 2 or 3."""
    run = review_steps()["Tool review against the base branch"]["run"]
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for code in (0, 1, 2, 3):
        (bin_dir / "python").write_text(f"#!/bin/sh\necho '# report'\nexit {code}\n")
        (bin_dir / "python").chmod(0o755)
        out, summary = tmp_path / f"out{code}", tmp_path / f"summary{code}"
        done = subprocess.run(["bash", "-e", "-c", run], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                              env={"PATH": os.environ["PATH"], "BASE_REF": "main", "RUNNER_TEMP": str(tmp_path),
                                   "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)})
        assert done.returncode == (0 if code in (0, 1) else code), (code, done.stderr)
        assert out.read_text() == f"exit-code={code}\n" and summary.read_text() == "# report\n"
