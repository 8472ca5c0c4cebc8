"""The official MCP conformance suite (npm @modelcontextprotocol/conformance, pinned in tests/conformance/)
against every mock server, as real processes on loopback: the server scenarios that apply to a tools-only
server without SSE. `make conformance-deps` (a prerequisite of `make test`) installs it with `npm ci`."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.server_process import REPO_ROOT, start_server

SUITE_DIR = REPO_ROOT / "tests" / "conformance"
SUITE_CLI = SUITE_DIR / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
SERVERS = ("fetch", "github", "slack")
# Applicable server scenarios (`conformance list`); the others need resources, prompts, logging, SSE, sampling.
SCENARIOS = ("server-initialize", "ping", "tools-list", "dns-rebinding-protection")
RUN_TIMEOUT_SECONDS = 120


def suite_command() -> list[str]:
    """`node <suite>`; fails (never skips) when Node or the pinned suite is missing."""
    node = shutil.which("node")
    assert node, "node is not installed: the MCP conformance suite needs Node.js (apt-get install nodejs npm)"
    assert SUITE_CLI.is_file(), f"{SUITE_CLI} is missing: run `make conformance-deps` (npm ci in {SUITE_DIR})"
    return [node, str(SUITE_CLI)]


def test_suite_is_pinned_exactly():
    package = json.loads((SUITE_DIR / "package.json").read_text())
    lock = json.loads((SUITE_DIR / "package-lock.json").read_text())
    version = package["dependencies"]["@modelcontextprotocol/conformance"]
    assert version[0].isdigit(), f"pin an exact version, not {version!r}"
    assert lock["packages"]["node_modules/@modelcontextprotocol/conformance"]["version"] == version


@pytest.fixture(scope="module", params=SERVERS)
def server(request, tmp_path_factory):
    proc = start_server(request.param, env={"MCP_SESSION_KEY": "conformance-key-0123456789"},
                        tmp_dir=tmp_path_factory.mktemp(request.param))
    try:
        yield proc
    finally:
        proc.stop()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_official_conformance_scenario_passes(server, scenario, tmp_path):
    result = subprocess.run([*suite_command(), "server", "--url", server.url, "--scenario", scenario,
                             "--output-dir", str(tmp_path)], cwd=SUITE_DIR, capture_output=True, text=True,
                            timeout=RUN_TIMEOUT_SECONDS)
    checks = [json.loads(path.read_text()) for path in tmp_path.glob("*/checks.json")]
    assert len(checks) == 1, f"no results written:\n{result.stdout}\n{result.stderr}"
    failed = [c for c in checks[0] if c["status"] not in ("SUCCESS", "INFO")]
    assert checks[0] and not failed and result.returncode == 0, (
        f"{scenario} against {server.name}: {json.dumps(failed, indent=1)}\n{result.stdout}\n{result.stderr}")
