"""Review what agents gain or lose: a per-stack tool inventory and a tool-level diff against a git ref.

`python -m review inventory --stack S [--json]`, `python -m review diff --base REF [--head-dir DIR] [--stack S]...
[--json] [--fail-on-dangerous]` (or `make review BASE=origin/main`). Modules: `inventory` (one stack's routes and
tools, from the real program under mocks, as `render` runs it), `side` (the inventories of one checkout, run as a
child process for each side of a diff), `validate` (a side's output checked before it is used), `gitref` (ref,
dirty check, temporary worktree), `diff` (two inventories -> changes), `compare` (the whole diff), `report`
(Markdown), `__main__` (the CLI).
"""
