#!/usr/bin/env bash
# Install the pinned kind, kubectl and Helm into BIN_DIR (for the e2e job and for a local `make dev-up`).
#
#   scripts/e2e-tools.sh BIN_DIR
#
# Idempotent: a tool already in BIN_DIR at its pinned version is left alone. Versions (agentgateway v1.4.1's own):
#   kind    v0.32.0  tools/go.mod; `go install` checks it against the Go checksum database (go.sum h1:p9hscbj9...)
#   kubectl v1.36.1  the node image's Kubernetes version (controller/Makefile CLUSTER_NODE_VERSION)
#   helm    v4.2.3   go.mod helm.sh/helm/v4
# kubectl and Helm are official release binaries, checked against the SHA-256 published next to them.
# Linux amd64 only (GitHub's ubuntu runners). Exit code 2: bad usage or a missing tool (go, curl, sha256sum, tar).
set -euo pipefail

KIND_VERSION="v0.32.0"
KUBECTL_VERSION="v1.36.1"
HELM_VERSION="v4.2.3"

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

# download URL DEST: the file and its published SHA-256 (first word of URL.sha256 / URL.sha256sum)
download() {
  local url="$1" dest="$2" sum_suffix="$3" expected
  curl -fsSL --retry 3 -o "$dest" "$url"
  expected="$(curl -fsSL --retry 3 "$url.$sum_suffix" | cut -d' ' -f1)"
  [[ "$expected" =~ ^[0-9a-f]{64}$ ]] || die "no SHA-256 published for $url"
  echo "$expected  $dest" | sha256sum -c --quiet - || die "SHA-256 mismatch for $url"
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
  download "https://dl.k8s.io/release/$KUBECTL_VERSION/bin/linux/amd64/kubectl" "$bin/kubectl" sha256
  chmod +x "$bin/kubectl"
fi

if has_version helm "$HELM_VERSION" version --short; then
  echo "==> helm $HELM_VERSION: already installed" >&2
else
  echo "==> helm $HELM_VERSION" >&2
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  download "https://get.helm.sh/helm-$HELM_VERSION-linux-amd64.tar.gz" "$work/helm.tar.gz" sha256sum
  tar -xzf "$work/helm.tar.gz" -C "$work" linux-amd64/helm
  install -m 0755 "$work/linux-amd64/helm" "$bin/helm"
fi
