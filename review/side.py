"""Inventories of one side of a diff, each stack's result or its error, as JSON.

`python -m review.side --project-dir DIR [--dev-stacks-from-policy] --stack S...` runs from this checkout (so
`review` and `render` are this tree's) with DIR first on `sys.path`, so the program imports DIR's own `components`:
the inventory of each side is that side's program. `review diff` runs BOTH sides this way, each in its own child
process, so nothing the program does (exit early, print, patch modules) reaches the process that decides the
verdict. Prints one JSON object, on the stdout it started with (the program's own prints go to stderr):
`{"stacks": {"<stack>": {"inventory": {...}} | {"error": {"kind": "config"|"program", "message": "..."}}}}`, plus
`"devStacks": [...]` (DIR's policy pack's default dev stacks) with `--dev-stacks-from-policy`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from render.stack_config import StackConfigError
from review.inventory import InventoryError, stack_inventory


def collect(project_dir: Path, stacks: list[str], dev_stacks: tuple[str, ...]) -> dict:
    """Each stack's inventory, or its error: `config` (unknown stack, bad file or config, unusable catalog: the
    project's fault) or `program` (anything else the program raised). `components` must already resolve to
    `project_dir`'s."""
    from components.catalog import CatalogError
    from components.config import ConfigError

    results: dict[str, dict] = {}
    for stack in stacks:
        try:
            results[stack] = {"inventory": stack_inventory(stack, project_dir, dev_stacks)}
        except (StackConfigError, ConfigError, CatalogError) as exc:
            results[stack] = {"error": {"kind": "config", "message": str(exc)}}
        except InventoryError as exc:
            results[stack] = {"error": {"kind": "program", "message": str(exc)}}
        except Exception as exc:  # noqa: BLE001 - the program's own failure, reported with its type
            results[stack] = {"error": {"kind": "program", "message": f"{type(exc).__name__}: {exc}"}}
    return {"stacks": results}


def main(argv: list[str] | None = None) -> int:
    """Collect the inventories of the given stacks of `--project-dir` and print them as JSON."""
    parser = argparse.ArgumentParser(prog="python -m review.side")
    parser.add_argument("--project-dir", type=Path, required=True)
    parser.add_argument("--stack", action="append", default=[])
    parser.add_argument("--dev-stacks-from-policy", action="store_true",
                        help="also report DIR's policy pack's default dev stacks and flag the inventories with them")
    args = parser.parse_args(argv)
    result = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # whatever the program prints goes to stderr
    sys.path.insert(0, str(args.project_dir.resolve()))  # `components` (and the server files) of that project
    devs: tuple[str, ...] = ()
    if args.dev_stacks_from_policy:
        from policy.dangerous_tools import DEFAULT_DEV_STACKS  # DIR's policy pack (DIR is first on sys.path)

        devs = tuple(DEFAULT_DEV_STACKS)
    output = collect(args.project_dir.resolve(), args.stack, devs)
    if args.dev_stacks_from_policy:
        output["devStacks"] = list(devs)
    with result:
        json.dump(output, result)
    return 0


if __name__ == "__main__":
    from render.__main__ import _close_event_loops

    code = main()
    _close_event_loops()
    sys.exit(code)
