#!/usr/bin/env bash
# Install the pinned kind, kubectl and Helm into BIN_DIR (for the e2e job and for a local `make dev-up`).
#
#   scripts/e2e-tools.sh BIN_DIR
#
# Idempotent: a tool already in BIN_DIR at its pinned version is left alone. Versions (agentgateway v1.4.1's own):
#   kind    v0.32.0  tools/go.mod; `go install` checks it against the Go checksum database (go.sum h1:p9hscbj9...)
#   kubectl v1.36.1  the node image's Kubernetes version (controller/Makefile CLUSTER_NODE_VERSION)
#   helm    v4.2.3   go.mod helm.sh/helm/v4
# kubectl and Helm are official release binaries, checked against SHA-256 values pinned here (not against a checksum
# file from the same server as the binary, which whoever can change the binary can change too):
#   kubectl  github.com/kubernetes/kops pkg/assets/assetdata/k8s-1.36.yaml (generated from dl.k8s.io's .sha256 files),
#            entry v1.36.1/bin/linux/amd64/kubectl
#   helm     github.com/helm/helm release notes of v4.2.3 (Linux amd64 checksum, as get.helm.sh's .sha256sum)
# Linux amd64 only (GitHub's ubuntu runners). Exit code 2: bad usage or a missing tool (go, curl, sha256sum, tar).
set -euo pipefail

KIND_VERSION="v0.32.0"
KUBECTL_VERSION="v1.36.1"
HELM_VERSION="v4.2.3"
KUBECTL_SHA256="629d3f410e09bf49b64ae7079f7f0bda1191efed311f7d37fdbab0ad5b0ec2b7"
HELM_SHA256="e9b88b4ee95b18c706839c28d3a0220e5bc470e9cd9262410c90793c45ff8b7c"

die() { echo "e2e-tools: $*" >&2; exit 2; }

[[ $# -eq 1 && -n "$1" ]] || die "usage: $0 BIN_DIR"
bin="$1"
for tool in go curl sha256sum tar; do
  command -v "$tool" >/dev/null || die "'$tool' is not on PATH"
done
mkdir -p "$bin"

has_version() {  # has_version TOOL EXPECTED_SUBSTRING VERSION_ARGS...
  local tool="$1" expected="$2"
  shift 2
  [[ -x "$bin/$tool" ]] && "$bin/$tool" "$@" 2>/dev/null | grep -qF "$expected"
}

# download URL DEST SHA256: the file, checked against its pinned SHA-256
download() {
  local url="$1" dest="$2" expected="$3"
  curl -fsSL --retry 3 -o "$dest" "$url"
  echo "$expected  $dest" | sha256sum -c --quiet - >/dev/null 2>&1 \
    || { rm -f "$dest"; die "SHA-256 mismatch for $url (pinned $expected): not the official release"; }
}

if has_version kind "kind $KIND_VERSION " version; then
  echo "==> kind $KIND_VERSION: already installed" >&2
else
  echo "==> kind $KIND_VERSION (go install)" >&2
  GOBIN="$(cd "$bin" && pwd)" go install "sigs.k8s.io/kind@$KIND_VERSION"
fi

if has_version kubectl "$KUBECTL_VERSION" version --client; then
  echo "==> kubectl $KUBECTL_VERSION: already installed" >&2
else
  echo "==> kubectl $KUBECTL_VERSION" >&2
  download "https://dl.k8s.io/release/$KUBECTL_VERSION/bin/linux/amd64/kubectl" "$bin/kubectl" "$KUBECTL_SHA256"
  chmod +x "$bin/kubectl"
fi

if has_version helm "$HELM_VERSION" version --short; then
  echo "==> helm $HELM_VERSION: already installed" >&2
else
  echo "==> helm $HELM_VERSION" >&2
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  download "https://get.helm.sh/helm-$HELM_VERSION-linux-amd64.tar.gz" "$work/helm.tar.gz" "$HELM_SHA256"
  tar -xzf "$work/helm.tar.gz" -C "$work" linux-amd64/helm
  install -m 0755 "$work/linux-amd64/helm" "$bin/helm"
fi
