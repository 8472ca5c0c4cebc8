#!/usr/bin/env bash
# Prove that every route of a deployed stack answers MCP through the gateway.
#
#   scripts/verify-stack.sh STACK [extra `python -m verify` options, e.g. --json --deadline 300]
#
# Reads the stack output `gateway` ({"name","namespace","port"}), waits until the Gateway's proxy Deployment has
# rolled out, finds the gateway's Service (label gateway.networking.k8s.io/gateway-name=<name>, else the Service
# named <name>), and uses its external (LoadBalancer) address if it has one; otherwise it runs
# `kubectl port-forward` to the Service on a free local port (retried: a fresh forward can fail while the proxy
# pods settle), stopped again on exit. Then it runs `python -m verify --stack STACK --gateway-url URL`.
# Exit code: that of the verifier (0 pass, 1 a route failed, 2 usage/config error); 2 if the gateway's proxy
# does not roll out or the gateway cannot be found or reached for port-forwarding.
# Environment: VERIFY_PROXY_WAIT_SECONDS (default 300): how long the proxy may take to appear and roll out.
#
# Bearer tokens (stacks whose plan marks routes `auth.required`) come from the environment, never from the
# command line: MCP_VERIFY_TOKEN (a token with every group the plan names) is passed as
# `--token-env MCP_VERIFY_TOKEN`, MCP_VERIFY_RESTRICTED_TOKEN (a valid token in none of those groups) as
# `--restricted-token-env MCP_VERIFY_RESTRICTED_TOKEN`. Unset or empty: the option is left out (the verifier
# then exits 2 if the plan needs the token). CI sets both from per-stack environment secrets.
set -euo pipefail

PORT_FORWARD_WAIT_SECONDS=30
PORT_FORWARD_ATTEMPTS=5
PROXY_WAIT_SECONDS="${VERIFY_PROXY_WAIT_SECONDS:-300}"
GATEWAY_NAME_LABEL="gateway.networking.k8s.io/gateway-name"

die() { echo "verify-stack: $*" >&2; exit 2; }

# --- reaching the gateway's proxy ---------------------------------------------------------------------------------
# agentgateway v1.4.1 runs a Gateway's proxy as a Deployment (a DaemonSet if its AgentgatewayParameters say so)
# labelled gateway.networking.k8s.io/gateway-name=<Gateway name> (controller/pkg/helm/agentgateway/templates/
# deployment.yaml and _helpers.tpl `kgateway.gateway.selectorLabels`). The Gateway's Accepted/Programmed do not
# wait for it (controller/pkg/reports/status.go fills in a missing Programmed as True), so `pulumi up` can end
# before any proxy pod is ready.

# wait_for_proxy_rollout NAMESPACE GATEWAY: the proxy workload exists and `kubectl rollout status` says it is done.
wait_for_proxy_rollout() {
  local namespace="$1" gateway="$2" workload="" started=$SECONDS
  while [[ -z "$workload" ]]; do
    workload="$(kubectl get deployment,daemonset -n "$namespace" -l "$GATEWAY_NAME_LABEL=$gateway" -o name \
      2>/dev/null | head -n 1 || true)"
    [[ -n "$workload" ]] && break
    (( SECONDS - started < PROXY_WAIT_SECONDS )) \
      || die "no proxy Deployment for Gateway $namespace/$gateway (label $GATEWAY_NAME_LABEL=$gateway) after" \
        "${PROXY_WAIT_SECONDS}s: is the agentgateway controller running?"
    sleep 2
  done
  echo "==> gateway $namespace/$gateway: waiting for $workload to roll out" >&2
  local remaining=$(( PROXY_WAIT_SECONDS - (SECONDS - started) ))
  (( remaining > 0 )) || remaining=1
  kubectl rollout status -n "$namespace" "$workload" --timeout "${remaining}s" >&2 \
    || die "the proxy $workload of Gateway $namespace/$gateway did not roll out within ${PROXY_WAIT_SECONDS}s"
}

# port_forward NAMESPACE SERVICE PORT: sets local_port and pf_pid to a forward that accepts connections; each of
# PORT_FORWARD_ATTEMPTS tries a new free port and gives up on a forward that exits or stays closed.
port_forward() {
  local namespace="$1" target="$2" port="$3" attempt
  pf_log="$(mktemp)"
  for attempt in $(seq "$PORT_FORWARD_ATTEMPTS"); do
    local_port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    echo "==> gateway $namespace has no external address: port-forwarding service/$target to" \
      "127.0.0.1:$local_port (attempt $attempt of $PORT_FORWARD_ATTEMPTS)" >&2
    kubectl port-forward -n "$namespace" "service/$target" "$local_port:$port" >"$pf_log" 2>&1 &
    pf_pid=$!
    for _ in $(seq $((PORT_FORWARD_WAIT_SECONDS * 5))); do
      kill -0 "$pf_pid" 2>/dev/null || break
      if (exec 3<>"/dev/tcp/127.0.0.1/$local_port") 2>/dev/null; then
        return 0
      fi
      sleep 0.2
    done
    kill "$pf_pid" 2>/dev/null || true
    wait "$pf_pid" 2>/dev/null || true
    pf_pid=""
    echo "==> port-forward attempt $attempt failed: $(cat "$pf_log")" >&2
    sleep 2
  done
  die "kubectl port-forward to service/$target did not come up after $PORT_FORWARD_ATTEMPTS attempts: $(cat "$pf_log")"
}

[[ $# -ge 1 && -n "$1" && "$1" != -* ]] || die "usage: $0 STACK [verify options]"
stack="$1"
shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

for tool in pulumi kubectl; do
  command -v "$tool" >/dev/null || die "'$tool' is not on PATH (see README: Prerequisites)"
done
python="$root/.venv/bin/python"
[[ -x "$python" ]] || python="$(command -v python3)" || die "no .venv/bin/python and no python3 on PATH"

gateway_json="$(pulumi stack output gateway --json --stack "$stack")" \
  || die "cannot read the 'gateway' output of stack '$stack'"
# One line "NAME NAMESPACE PORT", or a message naming the bad key.
read -r gw_name gw_namespace gw_port < <("$python" -c '
import json, sys
try:
    gw = json.loads(sys.argv[1])
except ValueError as exc:
    sys.exit(f"the gateway output is not JSON: {exc}")
if not isinstance(gw, dict):
    sys.exit(f"the gateway output must be an object, got {gw!r}")
for key in ("name", "namespace", "port"):
    if not str(gw.get(key, "")).strip() or " " in str(gw.get(key)):
        sys.exit(f"the gateway output has no usable {key!r}: {gw!r}")
print(gw["name"], gw["namespace"], gw["port"])
' "$gateway_json") || die "bad 'gateway' output of stack '$stack'"
[[ -n "${gw_port:-}" ]] || die "bad 'gateway' output of stack '$stack': $gateway_json"

wait_for_proxy_rollout "$gw_namespace" "$gw_name"

service="$(kubectl get service -n "$gw_namespace" -l "$GATEWAY_NAME_LABEL=$gw_name" \
  -o jsonpath='{.items[0].metadata.name}' 2>/dev/null || true)"
if [[ -z "$service" ]]; then
  kubectl get service -n "$gw_namespace" "$gw_name" >/dev/null \
    || die "no Service for Gateway $gw_namespace/$gw_name (is the agentgateway controller running?)"
  service="$gw_name"
fi

# "HOSTNAME|IP" of the first load-balancer ingress (either may be empty; '|' is in neither). The hostname wins
# when a load balancer sets both; an IPv6 address goes in brackets in the URL.
ingress="$(kubectl get service -n "$gw_namespace" "$service" \
  -o jsonpath='{.status.loadBalancer.ingress[0].hostname}{"|"}{.status.loadBalancer.ingress[0].ip}')"
external="${ingress%%|*}"
if [[ -z "$external" ]]; then
  external="${ingress#*|}"
  [[ "$external" == *:* ]] && external="[$external]"
fi

pf_pid=""
pf_log=""
# shellcheck disable=SC2329  # invoked by the EXIT trap below
cleanup() {
  if [[ -n "$pf_pid" ]]; then
    kill "$pf_pid" 2>/dev/null || true
    wait "$pf_pid" 2>/dev/null || true
  fi
  if [[ -n "$pf_log" ]]; then
    rm -f "$pf_log"
  fi
}
trap cleanup EXIT

if [[ -n "$external" ]]; then
  gateway_url="http://$external:$gw_port"
  echo "==> gateway $gw_namespace/$gw_name: external address $gateway_url" >&2
else
  port_forward "$gw_namespace" "$service" "$gw_port"
  gateway_url="http://127.0.0.1:$local_port"
fi

token_options=()
if [[ -n "${MCP_VERIFY_TOKEN:-}" ]]; then
  token_options+=(--token-env MCP_VERIFY_TOKEN)
fi
if [[ -n "${MCP_VERIFY_RESTRICTED_TOKEN:-}" ]]; then
  token_options+=(--restricted-token-env MCP_VERIFY_RESTRICTED_TOKEN)
fi

status=0
"$python" -m verify --stack "$stack" --gateway-url "$gateway_url" "${token_options[@]}" "$@" || status=$?
exit "$status"
