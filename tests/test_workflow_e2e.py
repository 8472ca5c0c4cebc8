""".github/workflows/e2e.yml: triggers, pinned versions, the order of its steps (preview with the policy pack, up,
verify; change one thing, up, verify; auth pass), diagnostics on failure, clean-up always, no secrets, and that the
stack edits it makes name what they mean. actionlint runs on it in tests/test_workflows.py."""
from __future__ import annotations

import re

import yaml

from tests.test_workflows import REPO_ROOT, WORKFLOWS, load

WORKFLOW = "e2e.yml"


def job() -> dict:
    (only,) = load(WORKFLOW)["jobs"].values()
    return only


def steps() -> list[dict]:
    return job()["steps"]


def runs() -> list[str]:
    return [step.get("run", "") for step in steps()]


def index(fragment: str) -> int:
    """The index of the first step whose run script contains `fragment`."""
    found = [i for i, text in enumerate(runs()) if fragment in text]
    assert found, f"no step runs {fragment!r}"
    return found[0]


def indexes(fragment: str) -> list[int]:
    return [i for i, text in enumerate(runs()) if fragment in text]


def test_triggers_pull_requests_on_the_program_nightly_and_by_hand():
    on = load(WORKFLOW)["on"]
    paths = on["pull_request"]["paths"]
    for path in ("__main__.py", "Pulumi.yaml", "Pulumi.*.yaml", "components/**", "server_code/**", "scripts/**"):
        assert path in paths
    assert on["pull_request"]["branches"] == ["main"]
    (schedule,) = on["schedule"]
    assert len(schedule["cron"].split()) == 5
    assert "workflow_dispatch" in on


def test_no_repository_secret_is_needed():
    assert not re.search(r"\$\{\{\s*secrets", (WORKFLOWS / WORKFLOW).read_text())
    assert load(WORKFLOW)["permissions"] == {"contents": "read"}


def test_the_pulumi_cli_is_pinned_to_the_sdk_version():
    (install,) = [s for s in steps() if str(s.get("uses", "")).startswith("pulumi/actions@")]
    sdk = re.search(r"^pulumi==(\S+)$", (REPO_ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert install["with"] == {"pulumi-version": sdk}  # install only: the job runs the CLI itself


def test_tools_come_from_the_pinned_scripts():
    (go,) = [s for s in steps() if str(s.get("uses", "")).startswith("actions/setup-go@")]
    assert re.fullmatch(r"\d+\.\d+\.\d+", go["with"]["go-version"])
    assert index('scripts/e2e-tools.sh "$RUNNER_TEMP/bin"') < index("scripts/kind-up.sh")
    assert index("make venv") < index("pulumi preview")


def test_local_file_backend_and_a_masked_throwaway_passphrase():
    script = runs()[index("PULUMI_CONFIG_PASSPHRASE")]
    assert 'PULUMI_BACKEND_URL=file://$RUNNER_TEMP/pulumi-state' in script
    assert "secrets.token_urlsafe" in script
    assert script.index("::add-mask::$passphrase") < script.index("PULUMI_CONFIG_PASSPHRASE=$passphrase")
    assert index("PULUMI_CONFIG_PASSPHRASE") < index("pulumi login")


def test_preview_with_the_policy_pack_then_up_then_verify():
    preview, up, verify = index("pulumi preview"), index("pulumi up"), index("scripts/verify-stack.sh")
    assert index("scripts/kind-up.sh") < index("pulumi stack select --create") < preview < up < verify
    assert "--policy-pack policy" in runs()[preview] and "--policy-pack policy" in runs()[up]
    assert (REPO_ROOT / "policy" / "PulumiPolicy.yaml").is_file()


def test_one_change_is_deployed_and_proven_live():
    change = index("pulumi config set")
    assert "deniedTools[0]' get-env" in runs()[change]
    assert runs()[change].index("pulumi preview") < runs()[change].index("pulumi up")
    proof = index('"get-env" in entry["deniedTools"]')
    assert change < proof and "scripts/verify-stack.sh" in runs()[proof]
    assert indexes("scripts/verify-stack.sh")[0] < change


def test_the_config_path_of_the_change_names_the_reference_server():
    """`servers[3]` in the workflow must be the everything server of Pulumi.dev.yaml."""
    servers = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())["config"]["mcp-federation:servers"]
    position = int(re.search(r"servers\[(\d+)\]\.deniedTools", runs()[index("pulumi config set")]).group(1))
    assert servers[position]["name"] == "everything" and "get-env" in servers[position]["expectedTools"]
    assert "get-env" in servers[position]["dangerousTools"]


def test_auth_pass_keys_tokens_config_and_verifier_flags():
    keys, enable = index("dev_auth.py keys"), index("e2e_auth.py enable")
    tokens = runs()[keys]
    assert "--groups mcp-writers" in tokens and '--groups ""' in tokens
    for variable in ("token", "restricted"):
        assert tokens.index(f"::add-mask::${variable}") < tokens.index(f"=${variable}\" >> \"$GITHUB_ENV\"")
    assert "--tool-group github:create_issue:mcp-writers" in runs()[enable]
    assert runs()[enable].index("pulumi preview") < runs()[enable].index("pulumi up")
    final = indexes("scripts/verify-stack.sh")[-1]
    assert enable < final
    # the tokens reach the verifier through verify-stack.sh's environment contract, by variable name
    script = (REPO_ROOT / "scripts" / "verify-stack.sh").read_text()
    assert "token_options+=(--token-env MCP_VERIFY_TOKEN)" in script
    assert "token_options+=(--restricted-token-env MCP_VERIFY_RESTRICTED_TOKEN)" in script
    assert "MCP_VERIFY_TOKEN=$token" in tokens and "MCP_VERIFY_RESTRICTED_TOKEN=$restricted" in tokens
    assert "$token" not in runs()[final] and "--token-file" not in "\n".join(runs())
    assert indexes("scripts/verify-stack.sh")[1] < keys  # the auth pass comes after the change was proven


def test_diagnostics_on_failure_then_destroy_and_cluster_delete_always():
    all_steps = steps()
    diagnostics = index("scripts/e2e-diagnostics.sh")
    assert all_steps[diagnostics]["if"] == "failure()"
    assert "mcp agentgateway-system" in runs()[diagnostics]
    (upload,) = [s for s in all_steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert upload["if"] == "failure()" and upload["with"]["path"] == "${{ runner.temp }}/e2e-diagnostics"
    cleanup = all_steps[-1]
    assert cleanup["if"] == "always()"
    assert "pulumi destroy --yes" in cleanup["run"] and "scripts/kind-down.sh" in cleanup["run"]
    assert "|| echo" in cleanup["run"]  # a failed destroy still deletes the cluster
    assert diagnostics < all_steps.index(upload) < len(all_steps) - 1


def test_every_step_is_idempotent_or_reentrant():
    """Re-running the job (or a step) must not fail because an earlier run got part-way."""
    text = "\n".join(runs())
    assert "pulumi stack select --create" in text  # not `stack init`
    assert "mkdir -p" in text
    assert "kind create" not in text  # only through kind-up.sh, which reuses an existing cluster
    assert "helm install" not in text and "kubectl create" not in text


def test_header_says_what_it_proves_and_how_to_run_it_locally():
    head = (WORKFLOWS / WORKFLOW).read_text().split("\nname:", 1)[0]
    for words in ("policy pack", "401", "make dev-up", "No repository secrets"):
        assert words in head
    assert job()["timeout-minutes"] <= 60
