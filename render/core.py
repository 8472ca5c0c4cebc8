"""Render one stack: build its config, run the real program under mocks, write one YAML file per object."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from render.harness import REPO_ROOT, Declared, RecordingMocks, restart, run_program
from render.manifests import Manifest, content_hash_name, file_names, manifests, to_yaml
from render.stack_config import StackConfig, program_path, stack_config, with_secret_placeholders

# Environment variables through which the CLI hands config (with decrypted secrets) to a program: never read here.
CLI_CONFIG_ENV = ("PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS")
MARKER = "# Rendered by `"  # first line of every file this tool writes (stale ones are removed on re-render)
UNSET_SECRET = "referenced but not set in the stack"  # why a secret got a placeholder (RenderResult.placeholders)

Log = Callable[[str], None]


class OutputError(Exception):
    """The output directory cannot be created or written; the message names it."""


def _stderr(message: str) -> None:
    print(f"render: {message}", file=sys.stderr, flush=True)


@dataclass
class RenderResult:
    """What one render wrote and which values it had to stand in for."""

    files: list[Path]
    manifests: list[Manifest]
    placeholders: dict[str, str] = field(default_factory=dict)  # config path -> why
    redacted: list[Path] = field(default_factory=list)           # files of Secrets whose data was redacted
    auto_named: list[Path] = field(default_factory=list)


class _NoCliConfig:
    """Hide the CLI's config environment variables while the program runs (they may hold decrypted secrets)."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.saved: dict[str, str] = {}

    def __enter__(self) -> None:
        for name in CLI_CONFIG_ENV:
            if name in os.environ:
                self.saved[name] = os.environ.pop(name)
                self.log(f"ignoring ${name}: the render uses the stack files only")

    def __exit__(self, *exc: object) -> None:
        os.environ.update(self.saved)


def run_stack(config: StackConfig, program: Path, log: Log) -> tuple[Declared, RecordingMocks, StackConfig]:
    """Run `program` with `config`; secrets the program reports as referenced but unset
    (`ConfigError.missing_secrets`) get placeholders and the program runs once more. ConfigError propagates."""
    from components.config import ConfigError  # the program's own error type

    mocks = RecordingMocks(auto_name=content_hash_name)
    for attempt in (1, 2):
        restart(mocks, stack=config.stack, project=config.project)
        try:
            declared = run_program(mocks, config.values, list(config.secret_keys), program=program)
            return declared, mocks, config
        except ConfigError as exc:
            missing = sorted(set(getattr(exc, "missing_secrets", None) or []))
            if attempt == 2 or not missing:
                raise
            log(f"secret(s) referenced but not set in the stack: {', '.join(missing)}; using placeholders")
            config = with_secret_placeholders(config, missing, UNSET_SECRET)
    raise AssertionError("unreachable")


def _remove_stale(out_dir: Path) -> None:
    for path in out_dir.glob("*.yaml"):
        try:
            first = path.open(encoding="utf-8").readline()
        except (OSError, UnicodeDecodeError):
            continue
        if first.startswith(MARKER):
            path.unlink()


def render_stack(stack: str, out_dir: Path, project_dir: Path = REPO_ROOT, log: Log = _stderr) -> RenderResult:
    """Render `stack` of the project in `project_dir` into `out_dir` (files from an earlier render are replaced).

    Raises StackConfigError (unknown stack, unreadable file), the program's ConfigError, RenderError, or
    OutputError (nothing is written unless every object could be rendered).
    """
    project_dir = Path(project_dir)
    config = stack_config(stack, project_dir)
    log(f"stack {stack!r}: {len(config.values)} config keys from Pulumi.yaml + Pulumi.{stack}.yaml")
    program = program_path(project_dir)
    log(f"running {program} under Pulumi mocks (no CLI, no cluster)")
    with _NoCliConfig(log):
        declared, mocks, config = run_stack(config, program, log)
    items = manifests(declared, mocks.auto_named)
    command = f"python -m render --stack {stack}"
    out_dir = Path(out_dir)
    texts = {out_dir / name: to_yaml(manifest, command) for manifest, name in zip(items, file_names(items))}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        _remove_stale(out_dir)
        for path, text in texts.items():
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write the output directory {out_dir}: {exc.strerror or exc}") from None
    result = RenderResult(files=[], manifests=items, placeholders=dict(config.placeholders))
    for manifest, path in zip(items, texts):
        result.files.append(path)
        if manifest.redacted:
            result.redacted.append(path)
        if manifest.auto_named:
            result.auto_named.append(path)
    log(f"wrote {len(result.files)} objects to {out_dir}")
    _warn(result, log)
    return result


def _warn(result: RenderResult, log: Log) -> None:
    if result.placeholders:
        log("WARNING: secret config replaced by placeholders (the real values are never read): "
            + "; ".join(f"{path} ({why})" for path, why in sorted(result.placeholders.items())))
    if result.redacted:
        log("WARNING: secret values redacted in: " + ", ".join(path.name for path in result.redacted))
    if result.auto_named:
        log("NOTE: auto-named by Pulumi at deployment, rendered with a content-hash suffix: "
            + ", ".join(path.name for path in result.auto_named))
