#!/usr/bin/env python3
"""Local JWT authentication for the dev stack (kind), without an IdP.

    .venv/bin/python scripts/dev_auth.py keys .dev-auth
        writes .dev-auth/private-key.pem (mode 0600, never commit it) and .dev-auth/jwks.json (the public key),
        and prints the `mcp-federation:auth` block to put into Pulumi.dev.yaml (an inline JWKS: public data).
    .venv/bin/python scripts/dev_auth.py token .dev-auth [--groups mcp-writers,mcp-github] [--ttl 3600]
        prints a signed token for that issuer and audience (use it as `Authorization: Bearer <token>`).

The token carries what agentgateway v1.4.1 requires: a `kid` header and an `exp` claim (research
agentgateway-auth.md §1), plus `iss`, `aud`, `sub`, `iat` and the groups claim as a list.
Exit codes: 0 done, 2 usage error or an unreadable or unwritable key directory.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://dev-auth.mcp-federation.local"
AUDIENCE = "mcp-federation-dev"
PRIVATE_KEY_FILE = "private-key.pem"
JWKS_FILE = "jwks.json"
ALGORITHM = "RS256"


def _b64url_uint(value: int) -> str:
    data = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: rsa.RSAPrivateKey) -> dict:
    """The public JWK of `key`; `kid` is its RFC 7638 thumbprint."""
    numbers = key.public_key().public_numbers()
    members = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    thumbprint = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    kid = base64.urlsafe_b64encode(thumbprint).rstrip(b"=").decode()
    return {**members, "kid": kid, "alg": ALGORITHM, "use": "sig"}


def auth_block(jwks: dict) -> str:
    """The stack-file lines that turn on Strict authentication with this JWKS (inline: public data)."""
    return "\n".join([
        "  mcp-federation:auth:",
        "    mode: Strict",
        "    providers:",
        f"      - issuer: {ISSUER}",
        f"        audiences: [{AUDIENCE}]",
        "        jwks:",
        f"          inline: '{json.dumps(jwks, separators=(',', ':'))}'",
    ])


def write_new_file(path: Path, data: bytes, mode: int) -> None:
    """Put `data` at `path` as a new file with exactly `mode`: written to a temporary file created next to it
    (O_CREAT|O_EXCL|O_NOFOLLOW, 0600: no existing file's mode and no symlink is reused), then renamed over `path`
    (os.replace swaps a symlink itself, never writes through it)."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            os.fchmod(handle.fileno(), mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def keys(directory: Path) -> int:
    """Write a new key pair and print the auth block."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    private_path = directory / PRIVATE_KEY_FILE
    jwks = {"keys": [public_jwk(key)]}
    try:
        directory.mkdir(parents=True, exist_ok=True)
        write_new_file(private_path, pem, 0o600)
        write_new_file(directory / JWKS_FILE, (json.dumps(jwks, indent=2) + "\n").encode(), 0o644)
    except OSError as exc:
        print(f"dev_auth: cannot write the key pair into {directory}: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {private_path} (keep it local) and {directory / JWKS_FILE}; put this into Pulumi.dev.yaml "
          "(replacing mcp-federation:auth), then run `scripts/deploy.sh dev`:", file=sys.stderr)
    print(auth_block(jwks))
    return 0


def token(directory: Path, groups: list[str], subject: str, ttl: int) -> int:
    """Print a signed token for the dev issuer and audience."""
    try:
        key = serialization.load_pem_private_key((directory / PRIVATE_KEY_FILE).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        print(f"dev_auth: cannot read {directory / PRIVATE_KEY_FILE}: {exc} (run `keys` first)", file=sys.stderr)
        return 2
    if not isinstance(key, rsa.RSAPrivateKey):
        print(f"dev_auth: {directory / PRIVATE_KEY_FILE} is not an RSA key", file=sys.stderr)
        return 2
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now, "exp": now + ttl, "groups": groups}
    print(jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": public_jwk(key)["kid"]}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/dev_auth.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    keys_parser = commands.add_parser("keys", help="write a key pair and print the auth block for Pulumi.dev.yaml")
    keys_parser.add_argument("directory", type=Path)
    token_parser = commands.add_parser("token", help="print a signed token")
    token_parser.add_argument("directory", type=Path)
    token_parser.add_argument("--groups", default="", help="comma-separated groups claim (default: none)")
    token_parser.add_argument("--sub", default="dev-user")
    token_parser.add_argument("--ttl", type=int, default=3600, help="seconds until exp (1..86400)")
    args = parser.parse_args(argv)
    if args.command == "keys":
        return keys(args.directory)
    if not 1 <= args.ttl <= 86400:
        parser.error("--ttl must be 1..86400")
    return token(args.directory, [g for g in args.groups.split(",") if g], args.sub, args.ttl)


if __name__ == "__main__":
    sys.exit(main())
