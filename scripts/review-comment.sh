#!/usr/bin/env bash
# Post the tool review as the pull request's one sticky comment: the comment of github-actions[bot] that starts
# with the marker below is edited in place; without one, a new comment is created. Needs the gh CLI.
# Usage: scripts/review-comment.sh REPORT.md   (env: GH_TOKEN, GITHUB_REPOSITORY=owner/name, PR_NUMBER)
set -euo pipefail

MARKER='<!-- mcp-federation:tool-review -->'
BOT='github-actions[bot]'

usage() { echo "usage: $0 REPORT.md (env GH_TOKEN, GITHUB_REPOSITORY, PR_NUMBER)" >&2; exit 2; }
[ "$#" -eq 1 ] && [ -f "$1" ] || usage
[[ "${PR_NUMBER:-}" =~ ^[0-9]+$ ]] || { echo "review-comment: PR_NUMBER must be a number" >&2; exit 2; }
[[ "${GITHUB_REPOSITORY:-}" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || {
  echo "review-comment: GITHUB_REPOSITORY must be owner/name" >&2; exit 2; }
command -v gh >/dev/null || { echo "review-comment: the gh CLI is not on PATH" >&2; exit 2; }

body=$(mktemp)
trap 'rm -f "$body"' EXIT
{ printf '%s\n' "$MARKER"; cat "$1"; } > "$body"

# Every page of comments; the first of ours (jq runs per page, so no `first` across pages).
ids=$(gh api --paginate "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" \
  --jq ".[] | select(.user.login == \"$BOT\" and (.body | startswith(\"$MARKER\"))) | .id")
id=${ids%%$'\n'*}
if [ -n "$id" ]; then
  gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$id" -F "body=@$body" >/dev/null
  echo "review-comment: updated comment $id"
else
  gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" -F "body=@$body" >/dev/null
  echo "review-comment: created the review comment"
fi
