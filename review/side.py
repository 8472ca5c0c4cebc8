"""Inventories of one side of a diff, each stack's result or its error, as JSON.

`python -m review.side --project-dir DIR --dev-stack dev --stack S...` runs from this checkout (so `review` and
`render` are this tree's) with DIR first on `sys.path`, so the program imports DIR's own `components`: the
inventory of a git ref is that ref's program, not the working tree's. Prints one JSON object:
`{"stacks": {"<stack>": {"inventory": {...}} | {"error": {"kind": "config"|"program", "message": "..."}}}}`.
"""
from __future__ import annotations

import argparse
import json
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
    parser.add_argument("--dev-stack", action="append", default=[])
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.project_dir.resolve()))  # `components` (and the server files) of that project
    json.dump(collect(args.project_dir.resolve(), args.stack, tuple(args.dev_stack)), sys.stdout)
    return 0


if __name__ == "__main__":
    from render.__main__ import _close_event_loops

    code = main()
    _close_event_loops()
    sys.exit(code)
