"""Print benchmark results as a Markdown table (pasteable into the README)."""
from __future__ import annotations

from typing import Sequence


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: bool = True) -> None:
    """Print `header` and `rows` as a Markdown table; cells are right-aligned when `numeric`, else left-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        cells = (cell.rjust(w) if numeric else cell.ljust(w) for cell, w in zip(row, widths))
        print("| " + " | ".join(cells) + " |")
