"""Fake command-line tools for the script tests: each fake logs `<tool> <argv>` to $FAKE_DIR/calls.log and then
does what its shell text says; PATH holds only the fakes and the basic utilities a script may use."""
from __future__ import annotations

import shutil
from pathlib import Path


def install_fakes(tmp_path: Path, fake_tool: str, tools: tuple[str, ...], utilities: tuple[str, ...]) -> dict:
    """Write `fake_tool` (a shell script) as each of `tools` into tmp_path/bin, link the real `utilities` there,
    and return the environment that runs a script against them (PATH, FAKE_DIR and HOME = tmp_path)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in tools:
        (bin_dir / tool).write_text(fake_tool)
        (bin_dir / tool).chmod(0o755)
    for utility in utilities:
        (bin_dir / utility).symlink_to(shutil.which(utility))
    return {"PATH": str(bin_dir), "FAKE_DIR": str(tmp_path), "HOME": str(tmp_path)}


def calls(fake_dir: Path) -> list[str]:
    """The `<tool> <argv>` lines the fakes logged, in order."""
    log = fake_dir / "calls.log"
    return log.read_text().splitlines() if log.exists() else []
