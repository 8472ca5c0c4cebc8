"""scripts/e2e-diagnostics.sh with a fake kubectl: every namespaced kind described, no Secret values, logs of the
controller and the proxies, and exit 0 whatever kubectl does."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.fake_tools import calls, install_fakes

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "e2e-diagnostics.sh"
BASH = shutil.which("bash")

FAKE_KUBECTL = r'''#!/bin/sh
echo "kubectl $*" >> "$FAKE_DIR/calls.log"
case "$*" in
  "api-resources --verbs=list --namespaced -o name") printf 'pods\nsecrets\nevents\nhttproutes.gateway.networking.k8s.io\n' ;;
  *"get secrets"*"-o yaml"*) echo "data: {token: c2VjcmV0}" ;;
  *describe*) echo "described: $*" ;;
  "logs -n agentgateway-system -l app.kubernetes.io/name=agentgateway"*) [ -f "$FAKE_DIR/no-logs" ] && exit 1; echo "controller log" ;;
  *) echo "output of: $*" ;;
esac
'''


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = install_fakes(tmp_path, FAKE_KUBECTL, ("kubectl",), ("sh", "mkdir", "cat"))
    return subprocess.run([BASH, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def test_every_namespaced_kind_is_listed_and_described_per_namespace(tmp_path):
    out = tmp_path / "out"
    done = run(tmp_path, str(out))
    assert done.returncode == 0, done.stderr
    log = calls(tmp_path)
    for namespace in ("mcp", "agentgateway-system"):
        for kind in ("pods", "secrets", "httproutes.gateway.networking.k8s.io"):
            assert f"kubectl get {kind} -n {namespace} -o wide" in log
            assert f"kubectl describe {kind} -n {namespace}" in log
        assert (out / namespace / "httproutes.gateway.networking.k8s.io.yaml").is_file()
        assert f"kubectl logs -n {namespace} -l gateway.networking.k8s.io/gateway-name --all-containers --prefix " \
               "--tail=-1" in log
    assert (out / "controller-logs.txt").read_text() == "controller log\n"


def test_secret_values_are_never_collected(tmp_path):
    out = tmp_path / "out"
    run(tmp_path, str(out))
    assert not [line for line in calls(tmp_path) if line.startswith("kubectl get secrets") and "-o yaml" in line]
    assert "c2VjcmV0" not in "".join(p.read_text() for p in out.rglob("*") if p.is_file())


def test_a_failing_command_is_noted_and_the_script_still_exits_0(tmp_path):
    (tmp_path / "no-logs").write_text("")
    out = tmp_path / "out"
    done = run(tmp_path, str(out), "mcp")
    assert done.returncode == 0
    assert "(failed: kubectl logs -n agentgateway-system" in (out / "controller-logs.txt").read_text()
    assert not (out / "agentgateway-system").exists()  # only the namespaces asked for


def test_usage(tmp_path):
    assert run(tmp_path).returncode == 2
