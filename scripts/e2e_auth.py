#!/usr/bin/env python3
"""Turn on caller authentication in a stack file for the e2e job's auth pass (.github/workflows/e2e.yml).

    python scripts/dev_auth.py keys DIR            (a fresh key pair: DIR/private-key.pem and DIR/jwks.json)
    python scripts/e2e_auth.py enable STACK_FILE DIR --tool-group github:create_issue:mcp-writers
    python scripts/dev_auth.py token DIR --groups mcp-writers

`enable` writes `mcp-federation:auth` (mode Strict, one provider: scripts/dev_auth.py's issuer and audience, the
JWKS of DIR inline) and `servers[<name>].toolGroups.<tool>: [<group>]` into the stack file (issue 12's config
keys), so tokens from `dev_auth.py token DIR` are accepted and only a token with the group sees the tool. It is
idempotent (a re-run changes nothing). The JWKS is public data; the private key stays in DIR.
Exit codes: 0 done, 2 usage or input error (the message names the bad value).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dev_auth import AUDIENCE, ISSUER, JWKS_FILE  # noqa: E402  (the issuer and audience the tokens carry)

PROJECT = "mcp-federation"


class UsageError(Exception):
    """Bad arguments or files; the message names the bad value."""


def _tool_group(text: str) -> tuple[str, str, str]:
    parts = text.split(":")
    if len(parts) != 3 or not all(parts):
        raise UsageError(f"--tool-group {text!r}: expected SERVER:TOOL:GROUP")
    return parts[0], parts[1], parts[2]


def _leading_comments(text: str) -> str:
    """The comment lines a stack file starts with (the editor's schema modeline among them): yaml.safe_dump
    writes no comments, so they are put back in front."""
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line if line.endswith("\n") else line + "\n")
    return "".join(lines)


def enable_auth(stack_file: Path, directory: Path, tool_groups: list[str]) -> dict:
    """Rewrite `stack_file` with Strict JWT auth (the inline JWKS of `directory`) and the tool groups."""
    try:
        text = stack_file.read_text(encoding="utf-8")
        document = yaml.safe_load(text) or {}
        jwks = json.loads((directory / JWKS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read the stack file or {directory / JWKS_FILE}: {exc}")
    config = document.setdefault("config", {})
    servers = config.get(f"{PROJECT}:servers")
    if not isinstance(servers, list):
        raise UsageError(f"{stack_file}: no {PROJECT}:servers list")
    by_name = {server.get("name"): server for server in servers if isinstance(server, dict)}
    for server, tool, group in map(_tool_group, tool_groups):
        if server not in by_name:
            raise UsageError(f"--tool-group {server}:{tool}:{group}: no server {server!r} in {stack_file}")
        groups = by_name[server].setdefault("toolGroups", {}).setdefault(tool, [])
        if group not in groups:  # idempotent: a re-run does not list the group twice
            groups.append(group)
    config[f"{PROJECT}:auth"] = {"mode": "Strict", "providers": [
        {"issuer": ISSUER, "audiences": [AUDIENCE], "jwks": {"inline": json.dumps(jwks, sort_keys=True)}}]}
    stack_file.write_text(_leading_comments(text) + yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return document


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/e2e_auth.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    enable = commands.add_parser("enable", help="write Strict auth and tool groups into a stack file")
    enable.add_argument("stack_file", type=Path)
    enable.add_argument("dir", type=Path, help="the directory of `scripts/dev_auth.py keys`")
    enable.add_argument("--tool-group", action="append", default=[], metavar="SERVER:TOOL:GROUP")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    try:
        enable_auth(args.stack_file, args.dir, args.tool_group)
    except UsageError as exc:
        print(f"e2e_auth: {exc}", file=sys.stderr)
        return 2
    print(f"{args.stack_file}: auth Strict ({ISSUER}), tool groups {', '.join(args.tool_group) or 'none'}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
