"""scripts/e2e-tools.sh with fake go/curl on PATH: pinned versions, pinned checksums, idempotence, usage errors."""
from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fake_tools import calls, install_fakes

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "e2e-tools.sh"
BASH = shutil.which("bash")
UTILITIES = ("sh", "cat", "grep", "mkdir", "chmod", "cut", "sha256sum", "tar", "mktemp", "rm", "install",
             "basename", "dirname", "printf", "pwd")

# go: `go install sigs.k8s.io/kind@V` writes a kind that prints "kind V go1.26.4 linux/amd64" into $GOBIN.
# curl: `-o DEST URL` writes "content of URL"; `URL.sha256` prints its SHA-256 (or $FAKE_DIR/bad-sum's text), as a
# server that changed the binary would change the checksum beside it.
FAKE_TOOL = r'''#!/bin/sh
tool="$(basename "$0")"
echo "$tool $*" >> "$FAKE_DIR/calls.log"
case "$tool" in
  go)
    version="${3#*@}"
    printf '#!/bin/sh\necho "kind %s go1.26.4 linux/amd64"\n' "$version" > "$GOBIN/kind"; chmod +x "$GOBIN/kind" ;;
  curl)
    for last; do :; done
    case "$last" in
      *.sha256|*.sha256sum)
        if [ -f "$FAKE_DIR/bad-sum" ]; then cat "$FAKE_DIR/bad-sum"; exit 0; fi
        printf 'content of %s' "${last%.sha256*}" | sha256sum | cut -d' ' -f1 ;;
      *) while [ "$1" != "-o" ]; do shift; done; printf 'content of %s' "$last" > "$2" ;;
    esac ;;
esac
exit 0
'''


@pytest.fixture
def fake(tmp_path):
    return tmp_path, install_fakes(tmp_path, FAKE_TOOL, ("go", "curl"), UTILITIES)


KUBECTL_URL = "https://dl.k8s.io/release/v1.36.1/bin/linux/amd64/kubectl"
# The official SHA-256 values (sources in the script's header).
OFFICIAL = {"KUBECTL_SHA256": "629d3f410e09bf49b64ae7079f7f0bda1191efed311f7d37fdbab0ad5b0ec2b7",
            "HELM_SHA256": "e9b88b4ee95b18c706839c28d3a0220e5bc470e9cd9262410c90793c45ff8b7c"}


def run(env: dict, *args: str, script: Path = SCRIPT) -> subprocess.CompletedProcess:
    return subprocess.run([BASH, str(script), *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def script_pinning(tmp_path: Path, **sums: str) -> Path:
    """A copy of the script with some pinned SHA-256 values replaced (the fake curl cannot serve the real binary)."""
    text = SCRIPT.read_text()
    for name, value in sums.items():
        assert f'{name}="{OFFICIAL[name]}"' in text
        text = text.replace(f'{name}="{OFFICIAL[name]}"', f'{name}="{value}"')
    copy = tmp_path / "e2e-tools.sh"
    copy.write_text(text)
    return copy


def test_the_checksums_are_the_official_ones():
    text = SCRIPT.read_text()
    for name, value in OFFICIAL.items():
        assert f'{name}="{value}"' in text


def installed(bin_dir: Path, tool: str, version_line: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / tool).write_text(f"#!/bin/sh\necho '{version_line}'\n")
    (bin_dir / tool).chmod(0o755)


def test_kind_is_go_installed_at_the_pinned_version_and_kubectl_is_checksum_checked(fake):
    fake_dir, env = fake
    target = fake_dir / "tools"
    installed(target, "helm", "v4.2.3+g1234")
    served = hashlib.sha256(f"content of {KUBECTL_URL}".encode()).hexdigest()
    done = run(env, str(target), script=script_pinning(fake_dir, KUBECTL_SHA256=served))
    assert done.returncode == 0, done.stderr
    log = calls(fake_dir)
    assert log[0] == "go install sigs.k8s.io/kind@v0.32.0"
    assert log[1:] == [f"curl -fsSL --retry 3 -o {target / 'kubectl'} {KUBECTL_URL}"]  # no checksum file fetched
    assert (target / "kubectl").read_text() == f"content of {KUBECTL_URL}"
    assert "helm v4.2.3: already installed" in done.stderr


def test_a_second_run_installs_nothing(fake):
    fake_dir, env = fake
    target = fake_dir / "tools"
    for tool, line in (("kind", "kind v0.32.0 go1.26.4 linux/amd64"), ("kubectl", "Client Version: v1.36.1"),
                       ("helm", "v4.2.3+g1234")):
        installed(target, tool, line)
    done = run(env, str(target))
    assert done.returncode == 0, done.stderr
    assert calls(fake_dir) == []


def test_another_version_is_replaced(fake):
    fake_dir, env = fake
    target = fake_dir / "tools"
    installed(target, "kind", "kind v0.31.0 go1.25.1 linux/amd64")
    installed(target, "kubectl", "Client Version: v1.36.1")
    installed(target, "helm", "v4.2.3+g1234")
    assert run(env, str(target)).returncode == 0
    assert calls(fake_dir) == ["go install sigs.k8s.io/kind@v0.32.0"]


def test_a_binary_that_is_not_the_official_one_stops_with_exit_2(fake):
    """The server also serves a checksum file that matches its (changed) binary: the pinned value still refuses it."""
    fake_dir, env = fake
    target = fake_dir / "tools"
    installed(target, "kind", "kind v0.32.0 go1.26.4 linux/amd64")
    done = run(env, str(target))
    assert done.returncode == 2
    assert f"SHA-256 mismatch for {KUBECTL_URL} (pinned {OFFICIAL['KUBECTL_SHA256']})" in done.stderr
    assert not (target / "kubectl").exists()  # not left behind


def test_helm_is_checked_against_its_pinned_checksum(fake):
    fake_dir, env = fake
    target = fake_dir / "tools"
    installed(target, "kind", "kind v0.32.0 go1.26.4 linux/amd64")
    installed(target, "kubectl", "Client Version: v1.36.1")
    done = run(env, str(target))
    assert done.returncode == 2
    assert ("SHA-256 mismatch for https://get.helm.sh/helm-v4.2.3-linux-amd64.tar.gz "
            f"(pinned {OFFICIAL['HELM_SHA256']})") in done.stderr


def test_usage_and_missing_tools_exit_2(fake):
    fake_dir, env = fake
    assert run(env).returncode == 2
    (fake_dir / "bin" / "go").unlink()
    done = run(env, str(fake_dir / "tools"))
    assert done.returncode == 2 and "'go' is not on PATH" in done.stderr
    assert calls(fake_dir) == []
