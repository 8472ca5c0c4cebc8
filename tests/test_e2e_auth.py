"""scripts/e2e_auth.py, the e2e job's auth pass: the stack file it writes makes the real program declare Strict
authentication with the job's JWKS and a group-restricted tool, and a token from scripts/dev_auth.py (what the job
mints) verifies against the JWKS that ends up in the stack (a real JWT library)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import yaml

from render.core import run_stack
from render.stack_config import stack_config
from tests.k8s_schema import assert_valid
from tests.pulumi_mocks import REPO_ROOT
from tests.resource_types import POLICY
from tests.test_dev_auth import decode_token

SCRIPTS = REPO_ROOT / "scripts"


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPTS / script), *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO_ROOT)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    directory = tmp_path_factory.mktemp("e2e-auth")
    assert run("dev_auth.py", "keys", str(directory)).returncode == 0
    return directory


@pytest.fixture
def project(tmp_path):
    """A copy of the project files the stack config is read from (the job edits Pulumi.dev.yaml in place)."""
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(REPO_ROOT / name, tmp_path / name)
    return tmp_path


def enable(project, keys, *groups: str) -> subprocess.CompletedProcess:
    return run("e2e_auth.py", "enable", str(project / "Pulumi.dev.yaml"), str(keys),
               *[arg for group in groups for arg in ("--tool-group", group)])


def test_the_enabled_dev_stack_declares_strict_auth_and_the_restricted_tool(project, keys):
    done = enable(project, keys, "github:create_issue:mcp-writers")
    assert done.returncode == 0, done.stderr
    declared, _, _ = run_stack(stack_config("dev", project), REPO_ROOT / "__main__.py", log=lambda _message: None)
    for resource in declared.kubernetes_objects():
        assert_valid(resource.inputs)
    (jwt_policy,) = [r for r in declared.of_type(POLICY) if "traffic" in r.inputs["spec"]]
    (provider,) = jwt_policy.inputs["spec"]["traffic"]["jwtAuthentication"]["providers"]
    assert jwt_policy.inputs["spec"]["traffic"]["jwtAuthentication"]["mode"] == "Strict"
    assert json.loads(provider["jwks"]["inline"]) == json.loads((keys / "jwks.json").read_text())
    plan = {entry["name"]: entry for entry in declared.outputs["verificationPlan"]}
    assert all(entry["auth"]["required"] for entry in plan.values())
    assert plan["github"]["toolGroups"] == {"create_issue": ["mcp-writers"]}


def test_a_token_the_job_mints_verifies_against_the_jwks_in_the_stack(project, keys):
    assert enable(project, keys).returncode == 0
    (provider,) = yaml.safe_load((project / "Pulumi.dev.yaml").read_text())["config"]["mcp-federation:auth"]["providers"]
    for groups, expected in (("mcp-writers", ["mcp-writers"]), ("", [])):  # the job's two tokens
        done = run("dev_auth.py", "token", str(keys), "--groups", groups, "--ttl", "3600")
        assert done.returncode == 0, done.stderr
        assert decode_token(done.stdout.strip(), provider)["groups"] == expected


def test_enable_is_idempotent_and_leaves_the_rest_alone(project, keys):
    before = yaml.safe_load((project / "Pulumi.dev.yaml").read_text())["config"]
    assert enable(project, keys, "github:create_issue:mcp-writers").returncode == 0
    first = (project / "Pulumi.dev.yaml").read_text()
    assert enable(project, keys, "github:create_issue:mcp-writers").returncode == 0
    assert (project / "Pulumi.dev.yaml").read_text() == first
    after = yaml.safe_load(first)["config"]
    assert {k: v for k, v in after.items() if k not in ("mcp-federation:auth", "mcp-federation:servers")} == \
        {k: v for k, v in before.items() if k not in ("mcp-federation:auth", "mcp-federation:servers")}
    assert [s["name"] for s in after["mcp-federation:servers"]] == [s["name"] for s in before["mcp-federation:servers"]]
    leading = [line for line in (REPO_ROOT / "Pulumi.dev.yaml").read_text().splitlines() if line.startswith("#")]
    assert first.splitlines()[:2] == leading[:2]  # the schema modeline and the stack's comment are kept
    assert first.startswith("# yaml-language-server: $schema=")


@pytest.mark.parametrize("args, message", [
    (("--tool-group", "nosuch:tool:group"), "no server 'nosuch'"),
    (("--tool-group", "github:create_issue"), "expected SERVER:TOOL:GROUP"),
])
def test_bad_input_exits_2_naming_it(project, keys, args, message):
    done = run("e2e_auth.py", "enable", str(project / "Pulumi.dev.yaml"), str(keys), *args)
    assert done.returncode == 2 and message in done.stderr


def test_missing_keys_or_command_exit_2(project, tmp_path):
    done = run("e2e_auth.py", "enable", str(project / "Pulumi.dev.yaml"), str(tmp_path / "none"))
    assert done.returncode == 2 and "jwks.json" in done.stderr
    assert run("e2e_auth.py").returncode == 2
