"""`review diff` of every stack next to rendering every stack once: wall time, same run, interleaved, medians.

Target (issue 15): the diff of all stacks takes at most 2x the time of rendering them once. Both sides are
measured as a user runs them, as fresh processes: the diff is `python -m review diff --base REF` (temporary
worktree, both sides' programs for every stack); rendering once is measured two ways: one `python -m render`
per stack (the CLI renders one stack) and, stricter, one process that renders every stack (render_stack in a
loop, so the interpreter and imports are paid once). The runs alternate, so load from other work on the machine
hits both alike; the load average is printed before and after.

    .venv/bin/python bench/review_diff.py [--runs 5] [--base HEAD]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from render.stack_config import list_stacks  # noqa: E402
from table import print_table  # noqa: E402  (bench/table.py)

TIMEOUT = 600
RENDER_ALL = ("import sys; from pathlib import Path; from render.core import render_stack\n"
              "for stack in sys.argv[2:]:\n"
              "    render_stack(stack, Path(sys.argv[1]) / stack, log=lambda message: None)\n")


def timed(command: list[str]) -> float:
    """Seconds `command` takes (run in the repository; it must succeed)."""
    began = time.perf_counter()
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--base", default="HEAD", help="git ref the diff compares with (default HEAD)")
    args = parser.parse_args()
    stacks = list_stacks(REPO_ROOT)
    python = sys.executable
    print(f"stacks: {', '.join(stacks)}; {args.runs} runs each, interleaved, after one warm-up of each; "
          f"{os.cpu_count()} CPUs; load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    results: dict[str, list[float]] = {"diff": [], "render_cli": [], "render_one_process": []}
    with tempfile.TemporaryDirectory(prefix="bench-review-") as out:
        commands = {
            "diff": [python, "-m", "review", "diff", "--base", args.base],
            "render_cli": None,
            "render_one_process": [python, "-c", RENDER_ALL, str(Path(out) / "all"), *stacks],
        }
        for run in range(args.runs + 1):
            for name in results:
                if name == "render_cli":
                    seconds = sum(timed([python, "-m", "render", "--stack", stack, "--out", str(Path(out) / stack)])
                                  for stack in stacks)
                else:
                    seconds = timed(commands[name])  # type: ignore[arg-type]
                if run:  # run 0 warms the file cache and the bytecode
                    results[name].append(seconds)
    median = {name: statistics.median(values) for name, values in results.items()}
    print_table(("measure", "median s", "runs (s)", "diff ÷ this"), [
        (label, f"{median[name]:.2f}", " ".join(f"{v:.2f}" for v in results[name]),
         f"{median['diff'] / median[name]:.2f}x")
        for name, label in (("diff", f"review diff --base {args.base} (all stacks)"),
                            ("render_cli", "render, one CLI run per stack"),
                            ("render_one_process", "render, all stacks in one process"))], numeric=False)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    worst = median["diff"] / median["render_one_process"]
    print(f"target: diff <= 2x rendering every stack once; stricter baseline (one process): {worst:.2f}x "
          f"({'met' if worst <= 2 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
