#!/usr/bin/env bash
# Download the pinned upstream CRDs that tests/k8s_schema.py validates against.
#
#   scripts/fetch-crds.sh [DEST]          download into DEST (default .crds), verify, then replace DEST
#                                         (only if DEST is absent or holds nothing but the pinned files)
#   scripts/fetch-crds.sh --verify DIR    only check the files already in DIR against the pinned hashes
#   scripts/fetch-crds.sh --list          print the pinned URLs and hashes, download nothing
#
# Files come from the pinned commits (the tags are named for humans). Integrity: each file's SHA-256 is
# taken over its content WITHOUT leading comment, '---' and blank lines, so that the copies in
# ../shared/crds (which carry a prepended '# Source:' line) and the raw upstream files hash the same.
# Every failure (network, HTTP status, hash mismatch) stops the script with a non-zero exit status.
set -euo pipefail

AGENTGATEWAY_VERSION="v1.4.1"
AGENTGATEWAY_COMMIT="163ea2146acb7b82082acea30ed691b29079095f"
GATEWAY_API_VERSION="v1.6.1"
GATEWAY_API_COMMIT="8bb74df00e56ec8f944d48c25e6c1c9c2f6848e3"

AGENTGATEWAY_URL="https://raw.githubusercontent.com/agentgateway/agentgateway/${AGENTGATEWAY_COMMIT}/controller/install/helm/agentgateway-crds/templates"
GATEWAY_API_URL="https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/${GATEWAY_API_COMMIT}/config/crd/standard"

# <source: AGENTGATEWAY | GATEWAY_API> <file> <sha256 of the content without leading comment/separator/blank lines>
PINNED_FILES="
AGENTGATEWAY agentgateway.dev_agentgatewaybackends.yaml 4158b9b9d324505379bbba2b79c2bcdee7b3651b7ba0f621a78ef94c6e6285f1
AGENTGATEWAY agentgateway.dev_agentgatewayparameters.yaml e34091caaff8ced3ac351cca53365c49a062bff2189b6f35e7d5e70c9ea1ad6a
AGENTGATEWAY agentgateway.dev_agentgatewaypolicies.yaml 8ebe854a5cf340922e5d0f2f671e184c10fe4da90fda3c00e5044f595e749a7c
GATEWAY_API gateway.networking.k8s.io_gatewayclasses.yaml 53710048ba26f8620eed59d5e51b157ecf040daf5c6eef31a4b991e0808c4be5
GATEWAY_API gateway.networking.k8s.io_gateways.yaml 25b885f5870b8fff1ae82efa2628b2761cef3745900c2aecf8fb76629a01255a
GATEWAY_API gateway.networking.k8s.io_httproutes.yaml a424a0d6c953b162e71d1d97bb7e75012d8f1ac264e7274f2763d1b96ab39852
GATEWAY_API gateway.networking.k8s.io_referencegrants.yaml 8c645e9333cfa67790cc2a53e0c00076f88b2bd4230d2b49688c78bc34f9b2c3
"

die() {
    echo "fetch-crds: $*" >&2
    exit 1
}

content_sha256() {  # hash of a file without its leading comment, '---' and blank lines
    awk 'body || !/^(#.*|---[[:space:]]*|[[:space:]]*)$/ { body = 1; print }' "$1" | sha256sum | cut -d' ' -f1
}

check_file() {  # <path> <expected sha256>
    local actual
    [[ -s "$1" ]] || die "$1: missing or empty"
    actual="$(content_sha256 "$1")"
    [[ "$actual" == "$2" ]] || die "$1: content SHA-256 is $actual, expected $2 (not the pinned upstream file)"
}

base_url() {  # <source>
    case "$1" in
        AGENTGATEWAY) echo "$AGENTGATEWAY_URL" ;;
        GATEWAY_API) echo "$GATEWAY_API_URL" ;;
        *) die "unknown source $1" ;;
    esac
}

source_line() {  # <source> <file>
    if [[ "$1" == AGENTGATEWAY ]]; then
        echo "# Source: github.com/agentgateway/agentgateway, path controller/install/helm/agentgateway-crds/templates/$2, tag ${AGENTGATEWAY_VERSION} (commit ${AGENTGATEWAY_COMMIT})"
    else
        echo "# Source: github.com/kubernetes-sigs/gateway-api, path config/crd/standard/$2, tag ${GATEWAY_API_VERSION} (commit ${GATEWAY_API_COMMIT}), standard channel"
    fi
}

verify_dir() {  # <dir>
    local source file sha
    while read -r source file sha; do
        [[ -n "$file" ]] || continue
        check_file "$1/$file" "$sha"
    done <<<"$PINNED_FILES"
    echo "fetch-crds: all pinned CRD files in $1 match"
}

is_pinned_file() {  # <file name>
    local source file sha
    while read -r source file sha; do
        [[ -n "$file" && "$file" == "$1" ]] && return 0
    done <<<"$PINNED_FILES"
    return 1
}

check_replaceable() {  # <dest>: absent, or a directory holding only files this script writes (else stop)
    local entry
    [[ -e "$1" || -L "$1" ]] || return 0
    [[ -d "$1" && ! -L "$1" ]] || die "$1 exists and is not a directory: refusing to replace it"
    shopt -s nullglob dotglob
    for entry in "$1"/*; do
        if ! [[ -f "$entry" && ! -L "$entry" ]] || ! is_pinned_file "${entry##*/}"; then
            die "$1 holds ${entry##*/}, which this script did not write: refusing to replace it (give an empty or new DEST)"
        fi
    done
    shopt -u nullglob dotglob
}

fetch_into() {  # <dest>
    local dest="$1" staging source file sha url
    command -v curl >/dev/null || die "curl is required"
    staging="$(mktemp -d "${TMPDIR:-/tmp}/fetch-crds.XXXXXX")"
    trap 'rm -rf "$staging"' EXIT
    while read -r source file sha; do
        [[ -n "$file" ]] || continue
        url="$(base_url "$source")/${file}"
        echo "fetch-crds: $url"
        curl --fail --silent --show-error --location --proto '=https' --retry 3 --connect-timeout 20 \
            --output "$staging/$file.download" "$url" || die "download failed: $url"
        { source_line "$source" "$file"; cat "$staging/$file.download"; } >"$staging/$file"
        rm "$staging/$file.download"
        check_file "$staging/$file" "$sha"
    done <<<"$PINNED_FILES"
    check_replaceable "$dest"
    rm -rf "$dest"
    mkdir -p "$(dirname "$dest")"
    mv "$staging" "$dest"
    trap - EXIT
    echo "fetch-crds: wrote agentgateway ${AGENTGATEWAY_VERSION} and Gateway API ${GATEWAY_API_VERSION} CRDs to $dest"
}

list_pinned() {
    local source file sha
    while read -r source file sha; do
        [[ -n "$file" ]] || continue
        echo "$(base_url "$source")/${file}  sha256(content)=${sha}"
    done <<<"$PINNED_FILES"
}

main() {
    if [[ "${1:-}" == "--list" ]]; then
        list_pinned
    elif [[ "${1:-}" == "--verify" ]]; then
        [[ $# -eq 2 ]] || die "usage: $0 --verify DIR"
        verify_dir "$2"
    elif [[ $# -le 1 ]]; then
        fetch_into "${1:-.crds}"
    else
        die "usage: $0 [DEST] | --verify DIR | --list"
    fi
}

main "$@"
