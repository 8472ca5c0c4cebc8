#!/usr/bin/env python3
"""Keys, tokens and the stack config of the e2e job's auth pass (.github/workflows/e2e.yml), made in the job.

    python scripts/e2e_auth.py keys DIR
        a fresh RSA key: DIR/private-key.pem (mode 0600) and DIR/jwks.json (the public key as a JWKS, `kid` set)
    python scripts/e2e_auth.py token DIR --groups mcp-writers [--ttl 900]
        prints a signed token (RS256, `kid` header; iss, aud, sub, iat, nbf, exp and the groups claim as a list)
    python scripts/e2e_auth.py enable STACK_FILE DIR --tool-group github:create_issue:mcp-writers
        writes into the stack file: `auth` Strict with one provider (issuer, audience, the inline JWKS of DIR) and
        `servers[<name>].toolGroups.<tool>: [<group>]` (issue 12's config keys)

The issuer and audience are fixed test values (ISSUER, AUDIENCE): the token and the stack config always agree.
agentgateway v1.4.1 needs `kid` and `exp` in every token (research agentgateway-auth.md §1). The private key never
leaves DIR; tokens go to stdout only (the workflow masks them). Exit codes: 0 done, 2 usage or input error.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import jwt
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://e2e-issuer.mcp-federation.invalid"
AUDIENCE = "mcp-federation-e2e"
GROUPS_CLAIM = "groups"  # issue 12's default groupsClaim
ALGORITHM = "RS256"
PRIVATE_KEY = "private-key.pem"
JWKS = "jwks.json"
PROJECT = "mcp-federation"
MAX_TTL_SECONDS = 24 * 3600


class UsageError(Exception):
    """Bad arguments or files; the message names the bad value."""


def _b64url_uint(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def public_jwk(key: rsa.RSAPrivateKey) -> dict:
    """The public JWK of `key`; its `kid` is the RFC 7638 thumbprint (stable for the key)."""
    numbers = key.public_key().public_numbers()
    members = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    thumbprint = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    kid = base64.urlsafe_b64encode(thumbprint).rstrip(b"=").decode()
    return {**members, "kid": kid, "use": "sig", "alg": ALGORITHM}


def make_keys(directory: Path) -> dict:
    """Write a new private key (0600) and its JWKS into `directory`; return the JWKS."""
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(directory / PRIVATE_KEY, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    jwks = {"keys": [public_jwk(key)]}
    (directory / JWKS).write_text(json.dumps(jwks, sort_keys=True) + "\n")
    return jwks


def _private_key(directory: Path) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key((directory / PRIVATE_KEY).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{directory / PRIVATE_KEY}: no usable private key ({exc}); run `keys {directory}` first")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UsageError(f"{directory / PRIVATE_KEY}: not an RSA key")
    return key


def mint_token(directory: Path, groups: list[str], ttl: int, subject: str = "e2e", now: int | None = None) -> str:
    """A token the stack's provider accepts, whose groups claim is `groups`."""
    if not 1 <= ttl <= MAX_TTL_SECONDS:
        raise UsageError(f"--ttl {ttl}: must be 1..{MAX_TTL_SECONDS} seconds")
    key = _private_key(directory)
    issued = int(time.time()) if now is None else now
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": issued, "nbf": issued, "exp": issued + ttl,
              GROUPS_CLAIM: list(groups)}
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": public_jwk(key)["kid"]})


def _tool_group(text: str) -> tuple[str, str, str]:
    parts = text.split(":")
    if len(parts) != 3 or not all(parts):
        raise UsageError(f"--tool-group {text!r}: expected SERVER:TOOL:GROUP")
    return parts[0], parts[1], parts[2]


def enable_auth(stack_file: Path, directory: Path, tool_groups: list[str]) -> dict:
    """Rewrite `stack_file` with Strict JWT auth (the inline JWKS of `directory`) and the tool groups."""
    try:
        document = yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}
        jwks = json.loads((directory / JWKS).read_text())
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read the stack file or {directory / JWKS}: {exc}")
    config = document.setdefault("config", {})
    config[f"{PROJECT}:auth"] = {"mode": "Strict", "providers": [
        {"issuer": ISSUER, "audiences": [AUDIENCE], "jwks": {"inline": json.dumps(jwks, sort_keys=True)}}]}
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
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
    return document


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="e2e_auth.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    keys = commands.add_parser("keys")
    keys.add_argument("dir", type=Path)
    token = commands.add_parser("token")
    token.add_argument("dir", type=Path)
    token.add_argument("--groups", default="", help="comma-separated groups ('' for none)")
    token.add_argument("--ttl", type=int, default=900)
    token.add_argument("--subject", default="e2e")
    enable = commands.add_parser("enable")
    enable.add_argument("stack_file", type=Path)
    enable.add_argument("dir", type=Path)
    enable.add_argument("--tool-group", action="append", default=[], metavar="SERVER:TOOL:GROUP")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    try:
        if args.command == "keys":
            make_keys(args.dir)
            print(f"wrote {args.dir / PRIVATE_KEY} and {args.dir / JWKS}", file=sys.stderr)
        elif args.command == "token":
            groups = [g for g in args.groups.split(",") if g]
            print(mint_token(args.dir, groups, args.ttl, args.subject))
        else:
            enable_auth(args.stack_file, args.dir, args.tool_group)
            print(f"{args.stack_file}: auth Strict ({ISSUER}), tool groups {args.tool_group}", file=sys.stderr)
    except UsageError as exc:
        print(f"e2e_auth: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
