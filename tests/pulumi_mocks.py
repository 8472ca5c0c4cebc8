"""Pulumi mocks for the tests: the shared harness of render/harness.py, a pytest fixture, and the CLI's config.

The harness (RecordingMocks, Declared, restart, run_awaited, run_declarations, run_program) and the config
building (render/stack_config.py) are the ones the offline renderer (`python -m render`) uses, so the tests
and the renderer run the program the same way.
"""
from __future__ import annotations

from typing import Any

import pytest

from render.harness import (K8S_PROVIDER_TYPE, PROJECT, REPO_ROOT, Declared, RecordingMocks,  # noqa: F401
                            restart, run_awaited, run_declarations, run_program)
from render.stack_config import stack_config


@pytest.fixture
def mocks() -> RecordingMocks:
    """Fresh runtime state and a recorder for one test."""
    return restart(RecordingMocks())


def cli_config(stack: str = "dev", overrides: dict[str, Any] | None = None) -> dict[str, str]:
    """The flat config the CLI would pass for `stack`: Pulumi.yaml defaults/values, then Pulumi.<stack>.yaml,
    then `overrides`; `secure:` values are placeholders (render/stack_config.py)."""
    return stack_config(stack, REPO_ROOT, overrides).values
