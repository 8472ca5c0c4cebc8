#!/usr/bin/env bash
# Deploy one stack with `pulumi up`, then prove every route answers MCP through the gateway.
#
#   scripts/deploy.sh [STACK]          (default: dev)
#   scripts/deploy.sh --check [STACK]  only check the prerequisites (tools, passphrase); change nothing
#
# State lives in a local file backend (./.pulumi-state) unless PULUMI_BACKEND_URL is set, so no Pulumi Cloud
# account is needed. Stack secrets use the passphrase in PULUMI_CONFIG_PASSPHRASE (or _FILE).
set -euo pipefail

check_only=""
if [[ "${1:-}" == "--check" ]]; then
  check_only=yes
  shift
fi
stack="${1:-dev}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

for tool in pulumi kubectl; do
  command -v "$tool" >/dev/null || { echo "deploy: '$tool' is not on PATH (see README: Prerequisites)" >&2; exit 2; }
done
if [[ -z "${PULUMI_CONFIG_PASSPHRASE+set}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
  echo "deploy: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) for the stack's secrets" >&2
  exit 2
fi
if [[ -n "$check_only" ]]; then
  echo "==> deploy prerequisites for stack $stack: ok" >&2
  exit 0
fi

backend="${PULUMI_BACKEND_URL:-file://$root/.pulumi-state}"
if [[ "$backend" == file://* ]]; then
  mkdir -p "${backend#file://}"
fi
echo "==> backend: $backend"
pulumi login "$backend" >/dev/null

make venv >/dev/null
echo "==> stack: $stack"
pulumi stack select --create "$stack"

echo "==> checking for a pre-existing Namespace/Gateway the stack would create ($stack)"
"$root/.venv/bin/python" "$root/scripts/preexisting.py" "$stack"

echo "==> pulumi up ($stack)"
pulumi up --yes --stack "$stack"

echo "==> verifying every route through the gateway ($stack)"
"$root/scripts/verify-stack.sh" "$stack"
