"""Command line: `python -m verify (--plan PLAN.json | --stack NAME) --gateway-url URL [--json] [--deadline S]
[--timeout S] [--token-env NAME | --token-file PATH] [--restricted-token-env NAME | --restricted-token-file PATH]`.

Tokens are named by an environment variable or a file, never given on the command line (where `ps` and shell
history would show them); no output, --json report or error message ever contains them.
Exit codes: 0 every route passed, 1 at least one route failed, 2 usage or configuration error.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Callable
from urllib.parse import urlsplit

from verify.credentials import CredentialError, Credentials, token_from_env, token_from_file
from verify.plan import PlanError, RoutePlan, load_plan_file, load_plan_from_stack
from verify.report import render_json, render_table
from verify.runner import verify_routes

EXIT_PASSED, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


class ArgumentError(ValueError):
    """Bad command-line value (exit code 2)."""


def gateway_url(text: str) -> str:
    """Validate `http(s)://HOST[:PORT][/base]`; return it without a trailing slash."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ArgumentError(f"--gateway-url {text!r}: scheme must be http or https")
    if not parts.hostname:
        raise ArgumentError(f"--gateway-url {text!r}: no host")
    try:
        parts.port  # noqa: B018 - raises ValueError for a non-numeric or out-of-range port
    except ValueError as exc:
        raise ArgumentError(f"--gateway-url {text!r}: bad port ({exc})") from None
    if parts.query or parts.fragment:
        raise ArgumentError(f"--gateway-url {text!r}: must not have a query or fragment")
    return text.rstrip("/")


def _seconds(name: str, minimum: float, strict: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number of seconds, got {text!r}") from None
        if value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"{name} must be {'>' if strict else '>='} {minimum:g}, got {text!r}")
        return value
    return parse


class _Parser(argparse.ArgumentParser):
    """argparse that never echoes stray command-line values (someone may paste a token there by mistake)."""

    def parse_args(self, args=None, namespace=None):  # noqa: ANN001 - argparse's signature
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            options = [extra.split("=", 1)[0] for extra in extras if extra.startswith("-")]
            values = len(extras) - len(options)
            self.error("unrecognized arguments: " + ", ".join(options + ([f"{values} value(s) (not shown)"]
                                                                         if values else [])))
        return parsed


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (argparse itself exits 2 on usage errors)."""
    parser = _Parser(
        prog="python -m verify", allow_abbrev=False,
        description="Prove that every route of the gateway answers MCP with the planned tools.",
        epilog="Exit codes: 0 all routes passed, 1 a route failed, 2 usage or configuration error.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--plan", metavar="PLAN.json", help="verification plan file (a JSON list of routes)")
    source.add_argument("--stack", metavar="NAME",
                        help="read the plan with `pulumi stack output verificationPlan --json --stack NAME`")
    parser.add_argument("--gateway-url", required=True, metavar="URL", help="gateway base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--json", action="store_true", help="print a machine-readable JSON report")
    parser.add_argument("--deadline", type=_seconds("--deadline", 0, False), default=120.0, metavar="SECONDS",
                        help="keep retrying failing routes for this long (default 120; 0 = one attempt)")
    parser.add_argument("--timeout", type=_seconds("--timeout", 0, True), default=10.0, metavar="SECONDS",
                        help="timeout of each HTTP request (default 10); the run ends by deadline + timeout "
                             "at the latest")
    token = parser.add_mutually_exclusive_group()
    token.add_argument("--token-env", metavar="NAME",
                       help="environment variable holding the token for routes with auth.required (sent where "
                            "the plan's auth.location says; default Authorization: Bearer)")
    token.add_argument("--token-file", metavar="PATH", help="file holding that bearer token")
    restricted = parser.add_mutually_exclusive_group()
    restricted.add_argument("--restricted-token-env", metavar="NAME",
                            help="environment variable holding a valid token in none of the plan's groups: "
                                 "group-restricted tools must be neither listed nor callable for it")
    restricted.add_argument("--restricted-token-file", metavar="PATH", help="file holding that restricted token")
    return parser


def _credentials(args: argparse.Namespace, routes: list[RoutePlan]) -> Credentials:
    """The tokens named on the command line; a plan that requires auth needs --token-env/--token-file."""
    token = (token_from_env(args.token_env, "--token-env") if args.token_env
             else token_from_file(args.token_file, "--token-file") if args.token_file else None)
    restricted = (token_from_env(args.restricted_token_env, "--restricted-token-env") if args.restricted_token_env
                  else token_from_file(args.restricted_token_file, "--restricted-token-file")
                  if args.restricted_token_file else None)
    needing = [route.name for route in routes if route.auth_required]
    if needing and token is None:
        raise CredentialError(f"route(s) {', '.join(needing)} require authentication (auth.required in the plan): "
                              "pass --token-env NAME or --token-file PATH")
    if token is not None and token == restricted:
        raise CredentialError("the restricted token is the same as the verifier's token")
    return Credentials(token=token, restricted_token=restricted)


def _load(args: argparse.Namespace) -> list[RoutePlan]:
    return load_plan_file(args.plan) if args.plan else load_plan_from_stack(args.stack)


def main(argv: list[str] | None = None) -> int:
    """Run the verifier; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        url = gateway_url(args.gateway_url)
        routes = _load(args)
        credentials = _credentials(args, routes)
    except (ArgumentError, PlanError, CredentialError) as exc:
        print(f"verify: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    started = time.monotonic()
    results = verify_routes(routes, url, deadline=args.deadline, timeout=args.timeout, credentials=credentials,
                            progress=lambda line: print(credentials.redact(line), file=sys.stderr, flush=True))
    elapsed = time.monotonic() - started
    report = render_json(results, url, elapsed) if args.json else render_table(results, elapsed)
    sys.stdout.write(credentials.redact(report))
    sys.stdout.flush()
    return EXIT_PASSED if all(result.passed for result in results) else EXIT_FAILED
