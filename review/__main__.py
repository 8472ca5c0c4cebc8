"""`python -m review inventory|diff`: what agents can see and call, per stack, and what a change does to it.

Exit codes: 0 done; 1 `--fail-on-dangerous` and a change makes a dangerous tool callable in a non-dev stack;
2 usage error (unknown ref or stack, uncommitted inputs under --fail-on-dangerous, bad config at either side,
named); 3 the review could not be made: the program failed otherwise, or a side's child process exited non-zero,
timed out or exited without complete inventories (at the side named).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from render.harness import REPO_ROOT

GITHUB_COMMENT_LIMIT = 65536


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m review",
        description="The tool surface of each stack (routes, tools, reachable/restricted/denied, dangerous, "
                    "read-only), from the real program run offline under mocks; and its change against a git ref.")
    commands = parser.add_subparsers(dest="command", required=True)
    inventory = commands.add_parser("inventory", help="every route and tool of one stack")
    inventory.add_argument("--stack", required=True, help="stack name: Pulumi.<stack>.yaml must exist")
    inventory.add_argument("--json", action="store_true", help="JSON (schema mcp-federation/tool-inventory v1)")
    change = commands.add_parser("diff", help="what changes for agents between a git ref and the working tree")
    change.add_argument("--base", required=True, help="git ref to compare with (e.g. origin/main)")
    change.add_argument("--head-dir", type=Path, default=None, metavar="DIR",
                        help="project directory of the head side (default: this checkout's working tree), e.g. a "
                             "pull request's checkout reviewed by a trusted checkout of the base; REF is still "
                             "resolved in this checkout's repository")
    change.add_argument("--stack", action="append", default=[],
                        help="stack to compare (repeatable; default: every stack of either side)")
    change.add_argument("--json", action="store_true", help="JSON (schema mcp-federation/tool-review v1)")
    change.add_argument("--fail-on-dangerous", action="store_true",
                        help="exit 1 when a change makes a dangerous tool callable in a non-dev stack")
    change.add_argument("--max-chars", type=int, default=None,
                        help=f"cut the Markdown report to this size (a GitHub comment: {GITHUB_COMMENT_LIMIT})")
    return parser


def _error(message: str) -> None:
    print(f"review: {message}", file=sys.stderr)


def _inventory(args: argparse.Namespace) -> int:
    from components.catalog import CatalogError
    from components.config import ConfigError
    from render.stack_config import StackConfigError
    from review.compare import dev_stacks
    from review.inventory import InventoryError, stack_inventory
    from review.report import inventory_markdown

    try:
        inventory = stack_inventory(args.stack, REPO_ROOT, dev_stacks())
    except (StackConfigError, ConfigError, CatalogError) as exc:
        _error(f"stack {args.stack!r}: bad config: {exc}")
        return 2
    except InventoryError as exc:
        _error(str(exc))
        return 3
    print(json.dumps(inventory, indent=2) if args.json else inventory_markdown(inventory))
    return 0


def _diff(args: argparse.Namespace) -> int:
    from review.compare import ProgramFailure, run_diff
    from review.gitref import UsageError
    from review.report import diff_markdown, fit

    try:
        review = run_diff(args.base, args.stack, args.fail_on_dangerous, args.head_dir)
    except UsageError as exc:
        _error(str(exc))
        return 2
    except ProgramFailure as exc:
        _error(f"the program failed: {exc}")
        return 3
    print(json.dumps(review, indent=2) if args.json else fit(diff_markdown(review), args.max_chars), end="\n"
          if args.json else "")
    blocking = [d for d in review["dangerousMadeReachable"] if not d["devStack"]]
    # A non-dev stack whose file the change removes would deploy with the project's defaults (or config kept
    # elsewhere), which the review cannot see: it needs the same explicit approval.
    removed = [s["stack"] for s in review["stacks"] if s["status"] == "removed" and not s["devStack"]]
    if args.fail_on_dangerous and (blocking or removed):
        for item in blocking:
            _error(f"dangerous tool {item['name']!r} becomes callable in stack {item['stack']!r} on route "
                   f"{item['route']!r} ({item['path']})"
                   + (": the change removes its dangerous mark" if item["dangerousMarkRemoved"] else ""))
        for stack in removed:
            _error(f"stack {stack!r} loses its stack file: what its deploy would expose cannot be reviewed")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run one command; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "diff" and args.max_chars is not None and args.max_chars < 200:
        _error("--max-chars must be at least 200")
        return 2
    sys.path.insert(0, str(REPO_ROOT))  # the program imports `components`
    try:
        return _inventory(args) if args.command == "inventory" else _diff(args)
    except Exception as exc:  # noqa: BLE001 - the program's own failure: exit 3, never 1 (1 means dangerous)
        _error(f"the program failed: {type(exc).__name__}: {exc}")
        return 3


if __name__ == "__main__":
    from render.__main__ import _close_event_loops

    code = main()
    _close_event_loops()
    sys.exit(code)
