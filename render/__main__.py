"""`python -m render --stack STACK --out DIR`: write the Kubernetes objects a stack declares, one YAML file each.

Exit codes: 0 written; 2 usage error, unknown stack, unreadable project/stack file, invalid stack config or an
unwritable output directory;
1 the program failed otherwise, or its objects cannot be rendered.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from render.harness import REPO_ROOT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m render",
        description="Run the real Pulumi program offline (mocks: no CLI, no cluster) with a stack's config and "
                    "write every Kubernetes object it declares as YAML, one file per object, in apply order. "
                    "Secrets are placeholders; Secret data is redacted.")
    parser.add_argument("--stack", required=True, help="stack name: Pulumi.<stack>.yaml must exist")
    parser.add_argument("--out", required=True, type=Path, help="output directory (earlier renders are replaced)")
    parser.add_argument("--project-dir", type=Path, default=REPO_ROOT,
                        help="directory with Pulumi.yaml and __main__.py (default: this repository)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, render, report; returns the exit code."""
    args = _parser().parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))  # the program imports `components`
    from components.config import ConfigError
    from render.core import OutputError, render_stack
    from render.manifests import RenderError
    from render.stack_config import StackConfigError

    try:
        render_stack(args.stack, args.out, args.project_dir)
    except (StackConfigError, OutputError) as exc:
        print(f"render: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"render: stack {args.stack!r}: {exc}", file=sys.stderr)
        return 2
    except RenderError as exc:
        print(f"render: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the program's own failure, reported with its type
        print(f"render: the program failed for stack {args.stack!r}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


def _close_event_loops() -> None:
    """Close the asyncio loops the Pulumi runtime left open while the interpreter is intact (otherwise their
    finalizers may print 'Invalid file descriptor' tracebacks at exit)."""
    import asyncio
    import gc

    for obj in gc.get_objects():
        if isinstance(obj, asyncio.AbstractEventLoop) and not obj.is_closed() and not obj.is_running():
            obj.close()


if __name__ == "__main__":
    code = main()
    _close_event_loops()
    sys.exit(code)
