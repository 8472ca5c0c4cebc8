"""scripts/deploy.sh with fake pulumi/kubectl/make on PATH that record their argv: the local file backend, select or
create the stack, pulumi up, then the verifier; `--check` changes nothing; missing prerequisites exit 2."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fake_tools import calls, install_fakes

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "deploy.sh"
BASH = shutil.which("bash")
TIMEOUT = 120

# Logs "<tool> <argv>"; `pulumi stack output gateway` fails, so the verifier stops right after it starts.
FAKE_TOOL = r'''#!/bin/sh
tool="$(basename "$0")"
echo "$tool $*" >> "$FAKE_DIR/calls.log"
case "$tool $*" in
  "pulumi stack output gateway"*) echo "error: no outputs (fake)" >&2; exit 255 ;;
  "pulumi stack export"*) echo '{"version": 3, "deployment": null}' ;;  # a stack without resources
  "kubectl "*" get "*) [ -f "$FAKE_DIR/exists" ] && echo "namespace/found"; exit 0 ;;  # --ignore-not-found
esac
exit 0
'''


@pytest.fixture
def fake(tmp_path):
    env = install_fakes(tmp_path, FAKE_TOOL, ("pulumi", "kubectl", "make"),
                        ("sh", "bash", "basename", "dirname", "mkdir", "cat"))
    return tmp_path, {**env, "PULUMI_CONFIG_PASSPHRASE": "local-dev-only"}


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BASH, str(SCRIPT), *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT)


def test_deploy_logs_in_to_a_file_backend_selects_the_stack_runs_up_then_verifies(fake):
    fake_dir, env = fake
    backend = fake_dir / "state"
    done = run({**env, "PULUMI_BACKEND_URL": f"file://{backend}"}, "dev")
    assert calls(fake_dir) == [
        f"pulumi login file://{backend}",
        "make venv",
        "pulumi stack select --create dev",
        "pulumi stack export --stack dev",  # scripts/preexisting.py: nothing to create already exists
        "kubectl --context kind-mcp-federation get namespace mcp -o name --ignore-not-found",
        "kubectl --context kind-mcp-federation get gateway -n agentgateway-system mcp-gateway -o name "
        "--ignore-not-found",
        "pulumi up --yes --stack dev",
        "pulumi stack output gateway --json --stack dev",  # scripts/verify-stack.sh, after the up
    ]
    assert backend.is_dir()
    assert done.returncode == 2 and "cannot read the 'gateway' output of stack 'dev'" in done.stderr


def test_deploy_defaults_to_the_repositorys_local_state(fake):
    fake_dir, env = fake
    run(env, "dev")
    assert calls(fake_dir)[0] == f"pulumi login file://{REPO_ROOT}/.pulumi-state"


def test_check_only_checks(fake):
    fake_dir, env = fake
    done = run(env, "--check", "dev")
    assert done.returncode == 0, done.stderr
    assert "deploy prerequisites for stack dev: ok" in done.stderr
    assert calls(fake_dir) == []


@pytest.mark.parametrize("args", [("dev",), ("--check", "dev")])
def test_without_a_passphrase_nothing_happens(fake, args):
    fake_dir, env = fake
    del env["PULUMI_CONFIG_PASSPHRASE"]
    done = run(env, *args)
    assert done.returncode == 2 and "set PULUMI_CONFIG_PASSPHRASE" in done.stderr
    assert calls(fake_dir) == []


@pytest.mark.parametrize("tool", ["pulumi", "kubectl"])
def test_a_missing_tool_is_named(fake, tool):
    fake_dir, env = fake
    (fake_dir / "bin" / tool).unlink()
    done = run(env, "--check", "dev")
    assert done.returncode == 2 and f"'{tool}' is not on PATH" in done.stderr
    assert calls(fake_dir) == []


def test_a_pre_existing_namespace_stops_before_the_up_with_the_ways_out(fake):
    fake_dir, env = fake
    (fake_dir / "exists").write_text("")
    done = run(env, "dev")
    assert done.returncode == 2
    assert not [line for line in calls(fake_dir) if line.startswith("pulumi up")]
    assert "would create Namespace mcp, Gateway agentgateway-system/mcp-gateway" in done.stderr
    assert "pulumi config set --stack dev createNamespace false" in done.stderr
    assert "PULUMI_K8S_UPSERT_EXISTING_OBJECTS=true scripts/deploy.sh dev" in done.stderr
    assert "pulumi import --stack dev kubernetes:core/v1:Namespace mcp mcp" in done.stderr


def test_the_upsert_opt_in_skips_the_check(fake):
    fake_dir, env = fake
    (fake_dir / "exists").write_text("")
    run({**env, "PULUMI_K8S_UPSERT_EXISTING_OBJECTS": "true"}, "dev")
    assert "pulumi up --yes --stack dev" in calls(fake_dir)
