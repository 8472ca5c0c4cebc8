#!/usr/bin/env bash
# Delete the local kind cluster made by scripts/kind-up.sh (and with it everything deployed into it).
#
#   scripts/kind-down.sh
#
# The dev stack's Pulumi state (./.pulumi-state) is kept: after a new `make dev-up`, `pulumi up` reconciles it
# (run `pulumi refresh --stack dev` first if you want the state to forget the deleted objects explicitly).
set -euo pipefail

CLUSTER_NAME="${KIND_CLUSTER_NAME:-mcp-federation}"

command -v kind >/dev/null || { echo "kind-down: 'kind' is not on PATH" >&2; exit 2; }

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  echo "==> deleting kind cluster $CLUSTER_NAME" >&2
  kind delete cluster --name "$CLUSTER_NAME"
else
  echo "==> no kind cluster $CLUSTER_NAME: nothing to delete" >&2
fi
