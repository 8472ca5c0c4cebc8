#!/usr/bin/env bash
# Collect what explains a failed e2e run into OUT_DIR (the workflow uploads it as an artifact).
#
#   scripts/e2e-diagnostics.sh OUT_DIR [NAMESPACE...]      (default namespaces: mcp agentgateway-system)
#
# Per namespace: `kubectl get` (wide) and `kubectl describe` of every namespaced kind the API server lists
# (`kubectl api-resources --verbs=list --namespaced`), YAML of each kind except Secrets (only their describe, which
# shows sizes, never values), events; the agentgateway controller's logs and every Gateway proxy's logs (label
# gateway.networking.k8s.io/gateway-name) and the servers' logs. Cluster-wide: nodes, GatewayClasses, CRDs of agentgateway.dev.
# Best effort: a failing command is noted in its output file and the script goes on; it always exits 0
# (it runs after a failure and must not hide it), except 2 for bad usage.
set -uo pipefail

[[ $# -ge 1 && -n "$1" ]] || { echo "usage: $0 OUT_DIR [NAMESPACE...]" >&2; exit 2; }
out="$1"
shift
namespaces=("$@")
[[ ${#namespaces[@]} -gt 0 ]] || namespaces=(mcp agentgateway-system)
CONTROLLER_NAMESPACE="agentgateway-system"
CONTROLLER_SELECTOR="app.kubernetes.io/name=agentgateway"  # as agentgateway v1.4.1's own CI collects them
PROXY_SELECTOR="gateway.networking.k8s.io/gateway-name"
mkdir -p "$out"

# capture FILE COMMAND...: the command's output (and its error, if any) into OUT_DIR/FILE
capture() {
  local file="$out/$1"
  shift
  "$@" >"$file" 2>&1 || echo "(failed: $*)" >>"$file"
}

capture cluster-nodes.txt kubectl get nodes -o wide
capture cluster-gatewayclasses.yaml kubectl get gatewayclasses -o yaml
capture cluster-crds.txt kubectl get crds -o wide

kinds="$(kubectl api-resources --verbs=list --namespaced -o name 2>/dev/null)"
for namespace in "${namespaces[@]}"; do
  dir="$out/$namespace"
  mkdir -p "$dir"
  capture "$namespace/events.txt" kubectl get events -n "$namespace" --sort-by=.lastTimestamp
  for kind in $kinds; do
    [[ "$kind" == events* ]] && continue
    capture "$namespace/$kind.txt" kubectl get "$kind" -n "$namespace" -o wide
    capture "$namespace/$kind.describe.txt" kubectl describe "$kind" -n "$namespace"
    if [[ "$kind" != secrets ]]; then
      capture "$namespace/$kind.yaml" kubectl get "$kind" -n "$namespace" -o yaml
    fi
  done
  capture "$namespace/proxy-logs.txt" kubectl logs -n "$namespace" -l "$PROXY_SELECTOR" --all-containers \
    --prefix --tail=-1
  capture "$namespace/pod-logs.txt" kubectl logs -n "$namespace" --all-containers --prefix --tail=2000 \
    -l "app.kubernetes.io/part-of=mcp-federation"
done
capture controller-logs.txt kubectl logs -n "$CONTROLLER_NAMESPACE" -l "$CONTROLLER_SELECTOR" --all-containers \
  --prefix --tail=-1
echo "==> diagnostics in $out" >&2
exit 0
