"""Hostile stack config (issue 13 item 7): whole-value pattern checks, percent-encoded dot segments, YAML alias
bombs, files that are not UTF-8, duplicate keys. Bad input is a clear error (exit 2 from `python -m render`)
naming the file or the key; never a traceback, never unbounded work."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.config import ConfigError, parse_config
from render.stack_config import StackConfigError, stack_config
from tests.pulumi_mocks import REPO_ROOT

CLI_TIMEOUT = 120


def _errors(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return caught.value.errors


@pytest.mark.parametrize("raw, key", [
    ({"namespace": "mcp\n"}, "namespace"),
    ({"image": "python:3.11-slim\n"}, "image"),
    ({"gateway": {"name": "mcp-gateway\n"}}, "gateway.name"),
    ({"gateway": {"namespace": "agentgateway-system\n"}}, "gateway.namespace"),
    ({"servers": [{"name": "github\n", "code": "github.py"}]}, "servers[0].name"),
    ({"servers": [{"name": "github", "path": "/mcp/github\n"}]}, "servers[0].path"),
    ({"servers": [{"name": "github", "code": "github.py\n"}]}, "servers[0].code"),
    ({"servers": [{"name": "github", "resources": {"limits": {"memory": "128Mi\n"}}}]},
     "servers[0].resources.limits.memory"),
    ({"servers": [{"name": "github", "env": {"LOG_LEVEL\n": "debug"}}]}, "servers[0].env.LOG_LEVEL\n"),
    ({"secrets": {"token\n": "x"}}, "secrets.token\n"),
    ({"aggregate": {"enabled": True, "name": "mcp-all\n"}}, "aggregate.name"),
])
def test_a_trailing_newline_never_passes_a_pattern_check(raw, key):
    errors = _errors(raw)
    assert any(error.startswith(f"{key}:") for error in errors), errors


@pytest.mark.parametrize("path", ["/mcp/%2e%2e/admin", "/mcp/%2E%2E", "/mcp/.%2e/x", "/mcp/%2e/x", "/mcp/%2E"])
def test_percent_encoded_dot_segments_are_rejected(path):
    errors = _errors({"servers": [{"name": "github", "path": path}]})
    assert errors == [f"servers[0].path: {path!r} must not contain '.' or '..' segments (also percent-encoded)"]


@pytest.mark.parametrize("key", ["mcpPath", "healthPath"])
@pytest.mark.parametrize("path", ["/a/../mcp", "/a/%2e%2e/mcp", "/%2E/mcp"])
def test_an_image_servers_paths_have_no_dot_segments(key, path):
    server = {"name": "remote", "type": "image", "image": "ghcr.io/example/mcp:1.0", "expectedTools": ["t"],
              key: path}
    errors = _errors({"servers": [server]})
    assert any(error.startswith(f"servers[0].{key}: {path!r}") for error in errors), errors


def _project(tmp_path: Path, stack_text: bytes | str, stack: str = "evil") -> Path:
    """A copy of the project files with one extra stack file."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO_ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    data = stack_text.encode() if isinstance(stack_text, str) else stack_text
    (project / f"Pulumi.{stack}.yaml").write_bytes(data)
    return project


ALIAS_BOMB = "\n".join(
    ["config:", "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    + ["  mcp-federation:namespace: *a9", ""])


def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path):
    project = _project(tmp_path, ALIAS_BOMB)
    started = time.monotonic()
    with pytest.raises(StackConfigError) as caught:
        stack_config("evil", project)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert str(project / "Pulumi.evil.yaml") in message and "aliases expand" in message


def test_a_few_small_aliases_are_still_fine(tmp_path):
    text = ("config:\n  mcp-federation:gateway: &gw {create: true, name: mcp-gateway}\n"
            "  mcp-federation:kubeContext: kind\n")
    config = stack_config("evil", _project(tmp_path, text))
    assert config.values["mcp-federation:kubeContext"] == "kind"


@pytest.mark.parametrize("data, what", [
    ("config:\n  mcp-federation:namespace: caf\u00e9\n".encode("latin-1"), "not UTF-8"),
    ("config:\n  mcp-federation:namespace: mcp\n".encode("utf-16"), "UTF-16"),
    ("config:\n  mcp-federation:namespace: mcp\n".encode("utf-16-le"), "UTF-16"),
])
def test_a_stack_file_that_is_not_utf8_is_a_clear_error(tmp_path, data, what):
    project = _project(tmp_path, data)
    with pytest.raises(StackConfigError) as caught:
        stack_config("evil", project)
    assert str(project / "Pulumi.evil.yaml") in str(caught.value) and what in str(caught.value)


def test_duplicate_yaml_keys_are_an_error_naming_the_key(tmp_path):
    text = "config:\n  mcp-federation:namespace: mcp\n  mcp-federation:namespace: other\n"
    with pytest.raises(StackConfigError) as caught:
        stack_config("evil", _project(tmp_path, text))
    assert "duplicate key 'mcp-federation:namespace'" in str(caught.value)
    (tmp_path / "nested").mkdir()
    nested = "config:\n  mcp-federation:gateway:\n    create: true\n    create: false\n"
    with pytest.raises(StackConfigError, match="duplicate key 'create'"):
        stack_config("evil", _project(tmp_path / "nested", nested))


def test_an_oversized_stack_file_is_refused(tmp_path):
    text = "config:\n  mcp-federation:kubeContext: '" + "x" * (2 * 1024 * 1024) + "'\n"
    with pytest.raises(StackConfigError, match="larger than"):
        stack_config("evil", _project(tmp_path, text))


@pytest.mark.parametrize("data, needle", [
    (ALIAS_BOMB.encode(), "aliases expand"),
    ("config:\n  mcp-federation:namespace: mcp\n".encode("utf-16"), "UTF-16"),
    (b"config:\n  mcp-federation:namespace: caf\xe9\n", "not UTF-8"),
    (b"config:\n  mcp-federation:namespace: a\n  mcp-federation:namespace: b\n", "duplicate key"),
])
def test_the_cli_exits_2_naming_the_file(tmp_path, data, needle):
    project = _project(tmp_path, data)
    shutil.copy(REPO_ROOT / "__main__.py", project / "__main__.py")
    done = subprocess.run([sys.executable, "-m", "render", "--stack", "evil", "--out", str(tmp_path / "out"),
                           "--project-dir", str(project)], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=CLI_TIMEOUT)
    assert done.returncode == 2, done.stderr
    assert "Pulumi.evil.yaml" in done.stderr and needle in done.stderr
    assert "Traceback" not in done.stderr


def test_a_recursive_alias_is_refused(tmp_path):
    text = "config:\n  mcp-federation:servers: &loop [*loop]\n"
    with pytest.raises(StackConfigError, match="aliases expand"):
        stack_config("evil", _project(tmp_path, text))
