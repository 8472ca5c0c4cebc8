#!/usr/bin/env bash
# Create (or reuse) the local kind cluster of the dev stack, with Gateway API and agentgateway installed.
#
#   scripts/kind-up.sh
#
# Steps (each one idempotent, so a re-run after a failure is safe):
#   1. kind cluster "$KIND_CLUSTER_NAME" (default mcp-federation; kubeconfig context kind-<name>), if missing
#   2. Gateway API standard CRDs (kubectl apply --server-side)
#   3. Helm charts agentgateway-crds and agentgateway into namespace agentgateway-system (helm upgrade --install);
#      then wait until the CRDs are Established
#   4. wait until the controller's Deployments are Available and GatewayClass agentgateway is Accepted
# Every tool is checked before anything is changed. Exit code 2: a tool is missing, kind is not the pinned version
# (scripts/e2e-tools.sh installs it), or Docker is not running.
set -euo pipefail

# Pinned versions, all as agentgateway v1.4.1 itself uses them: go.mod requires sigs.k8s.io/gateway-api v1.6.1;
# tools/go.mod requires sigs.k8s.io/kind v0.32.0; controller/Makefile CLUSTER_NODE_VERSION is the node image
# below (pinned by digest; "should stay in sync with ... test/setup/setup-kind-ci.sh").
GATEWAY_API_VERSION="v1.6.1"
AGENTGATEWAY_VERSION="v1.4.1"
KIND_VERSION="v0.32.0"
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5}"
AGENTGATEWAY_CRDS=(crd/agentgatewaybackends.agentgateway.dev crd/agentgatewaypolicies.agentgateway.dev
  crd/agentgatewayparameters.agentgateway.dev)

GATEWAY_API_URL="https://github.com/kubernetes-sigs/gateway-api/releases/download/${GATEWAY_API_VERSION}/standard-install.yaml"
AGENTGATEWAY_CHARTS="oci://cr.agentgateway.dev/charts"
AGENTGATEWAY_NAMESPACE="agentgateway-system"
CLUSTER_NAME="${KIND_CLUSTER_NAME:-mcp-federation}"
CONTEXT="kind-${CLUSTER_NAME}"
WAIT_TIMEOUT="300s"
REQUIRED_TOOLS="docker kind helm kubectl pulumi"

die() {
  echo "kind-up: $*" >&2
  exit 2
}

step() {
  echo "==> $*" >&2
}

missing=""
for tool in $REQUIRED_TOOLS; do
  command -v "$tool" >/dev/null || missing="$missing $tool"
done
[[ -z "$missing" ]] || die "missing on PATH:${missing} (install Docker, kind, Helm, kubectl and the Pulumi CLI; see README: Prerequisites)"
# `kind version` prints "kind v0.32.0 go1.26.4 linux/amd64" (kind: pkg/cmd/kind/version/version.go DisplayVersion).
kind_version="$(kind version 2>/dev/null || true)"
[[ "$kind_version" == "kind $KIND_VERSION "* ]] \
  || die "kind $KIND_VERSION is required (found: ${kind_version:-no version}); scripts/e2e-tools.sh installs it"
docker info >/dev/null 2>&1 || die "docker is installed but its daemon does not answer (is Docker running?)"

trap 'echo "kind-up: failed at: ${BASH_COMMAND} (every step is idempotent: fix the cause and re-run)" >&2' ERR

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  step "kind cluster $CLUSTER_NAME exists: reusing it"
else
  step "creating kind cluster $CLUSTER_NAME ($KIND_NODE_IMAGE)"
  kind create cluster --name "$CLUSTER_NAME" --image "$KIND_NODE_IMAGE" --wait 120s
fi

step "Gateway API $GATEWAY_API_VERSION standard CRDs"
kubectl --context "$CONTEXT" apply --server-side -f "$GATEWAY_API_URL"

step "agentgateway $AGENTGATEWAY_VERSION CRDs (Helm)"
helm upgrade --install agentgateway-crds "$AGENTGATEWAY_CHARTS/agentgateway-crds" --version "$AGENTGATEWAY_VERSION" \
  --namespace "$AGENTGATEWAY_NAMESPACE" --create-namespace --kube-context "$CONTEXT"
# No `helm --wait`: it means different things in Helm 3 and Helm 4 (kstatus, HIP-0022); these waits do not.
kubectl --context "$CONTEXT" wait --for=condition=Established "${AGENTGATEWAY_CRDS[@]}" --timeout "$WAIT_TIMEOUT"

step "agentgateway $AGENTGATEWAY_VERSION controller (Helm)"
helm upgrade --install agentgateway "$AGENTGATEWAY_CHARTS/agentgateway" --version "$AGENTGATEWAY_VERSION" \
  --namespace "$AGENTGATEWAY_NAMESPACE" --kube-context "$CONTEXT"

step "waiting for the agentgateway controller"
kubectl --context "$CONTEXT" wait --namespace "$AGENTGATEWAY_NAMESPACE" --for=condition=Available deployment --all \
  --timeout "$WAIT_TIMEOUT"
# The controller creates GatewayClass agentgateway itself; wait for it to exist, then to be accepted.
for _ in $(seq 60); do
  if kubectl --context "$CONTEXT" get gatewayclass agentgateway >/dev/null 2>&1; then
    break
  fi
  sleep 2
done
kubectl --context "$CONTEXT" wait --for=condition=Accepted gatewayclass/agentgateway --timeout "$WAIT_TIMEOUT"

step "ready: kubeconfig context $CONTEXT (Pulumi.dev.yaml: mcp-federation:kubeContext)"
