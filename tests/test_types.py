"""The type checker (mypy, pinned in requirements-dev.txt) over the program's packages (components/, verify/, render/,
policy/, review/) and the mock servers' modules (server_code/, top-level modules on their own path), run by the test
command; and no `# type: ignore` without a reason on the same
line in them."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKED = tuple(p for p in ("components", "verify", "render", "policy", "review") if (REPO_ROOT / p).is_dir())
SERVER_CODE = REPO_ROOT / "server_code"  # no package: its modules import each other by bare name
BARE_IGNORE = re.compile(r"#\s*type:\s*ignore(\[[^\]]*\])?\s*$")


def test_mypy_finds_no_error():
    result = subprocess.run([sys.executable, "-m", "mypy", "--python-version", "3.11", "--follow-imports=silent",
                             "--ignore-missing-imports", "--no-error-summary", *CHECKED],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_no_error_in_the_mock_servers():
    result = subprocess.run([sys.executable, "-m", "mypy", "--python-version", "3.11", "--ignore-missing-imports",
                             "--no-error-summary", f"--cache-dir={REPO_ROOT / '.mypy_cache' / 'server_code'}",
                             *sorted(p.name for p in SERVER_CODE.glob("*.py"))],
                            cwd=SERVER_CODE, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr


def bare_ignores(paths: list[Path]) -> list[str]:
    """`file:line` of each `# type: ignore` that gives no reason after it on the same line."""
    return [f"{path}:{number}" for path in paths
            for number, line in enumerate(path.read_text().splitlines(), 1) if BARE_IGNORE.search(line)]


def test_no_type_ignore_without_a_reason(tmp_path):
    assert bare_ignores([path for checked in (*CHECKED, "server_code")
                         for path in sorted((REPO_ROOT / checked).rglob("*.py"))]) == []
    sample = tmp_path / "sample.py"
    sample.write_text("a = f()  # type: ignore[no-untyped-call]\nb = g()  # type: ignore[misc]  # g is untyped\n")
    assert bare_ignores([sample]) == [f"{sample}:1"]
