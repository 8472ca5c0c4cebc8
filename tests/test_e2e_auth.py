"""scripts/e2e_auth.py: the e2e job's keys, tokens and auth stack config, checked with a real JWT library."""
from __future__ import annotations

import json
import stat
import subprocess
import sys

import jwt
import pytest
import yaml

from tests.server_process import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "e2e_auth.py"
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          cwd=REPO_ROOT)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    directory = tmp_path_factory.mktemp("e2e-auth")
    done = run("keys", str(directory))
    assert done.returncode == 0, done.stderr
    return directory


def test_keys_are_a_private_pem_only_the_owner_reads_and_a_public_jwks(keys):
    assert stat.S_IMODE((keys / "private-key.pem").stat().st_mode) == 0o600
    (jwk,) = json.loads((keys / "jwks.json").read_text())["keys"]
    assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and jwk["kid"]
    assert not set(PRIVATE_MEMBERS) & set(jwk)  # public data only: it goes into a stack file


def decode(token: str, keys) -> tuple[dict, dict]:
    (jwk,) = json.loads((keys / "jwks.json").read_text())["keys"]
    claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"], audience="mcp-federation-e2e",
                        issuer="https://e2e-issuer.mcp-federation.invalid", options={"require": ["exp", "iat"]})
    return jwt.get_unverified_header(token), claims


def test_a_token_verifies_against_the_jwks_with_kid_exp_and_groups(keys):
    done = run("token", str(keys), "--groups", "mcp-writers,mcp-github", "--ttl", "600")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token not in done.stderr
    header, claims = decode(token, keys)
    assert header["kid"] == json.loads((keys / "jwks.json").read_text())["keys"][0]["kid"]
    assert claims["groups"] == ["mcp-writers", "mcp-github"] and claims["exp"] - claims["iat"] == 600


def test_a_restricted_token_has_an_empty_groups_list(keys):
    _, claims = decode(run("token", str(keys)).stdout.strip(), keys)
    assert claims["groups"] == []


def test_another_key_does_not_verify(keys, tmp_path):
    assert run("keys", str(tmp_path)).returncode == 0
    with pytest.raises(jwt.InvalidSignatureError):
        decode(run("token", str(tmp_path)).stdout.strip(), keys)


def test_enable_writes_strict_auth_with_the_inline_jwks_and_tool_groups(keys, tmp_path):
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text((REPO_ROOT / "Pulumi.dev.yaml").read_text())
    done = run("enable", str(stack), str(keys), "--tool-group", "github:create_issue:mcp-writers")
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(stack.read_text())["config"]
    (provider,) = config["mcp-federation:auth"]["providers"]
    assert config["mcp-federation:auth"]["mode"] == "Strict"
    assert provider["issuer"] == "https://e2e-issuer.mcp-federation.invalid"
    assert provider["audiences"] == ["mcp-federation-e2e"]
    assert json.loads(provider["jwks"]["inline"]) == json.loads((keys / "jwks.json").read_text())
    github = next(s for s in config["mcp-federation:servers"] if s["name"] == "github")
    assert github["toolGroups"] == {"create_issue": ["mcp-writers"]}
    first = stack.read_text()
    assert run("enable", str(stack), str(keys), "--tool-group", "github:create_issue:mcp-writers").returncode == 0
    assert stack.read_text() == first  # a re-run changes nothing
    # everything else is unchanged
    before = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text())["config"]
    assert {k: v for k, v in config.items() if k not in ("mcp-federation:auth", "mcp-federation:servers")} == \
        {k: v for k, v in before.items() if k != "mcp-federation:servers"}


@pytest.mark.parametrize("args, message", [
    (("token", "/nonexistent-dir"), "no usable private key"),
    (("token", "{keys}", "--ttl", "0"), "--ttl 0"),
    (("enable", "{stack}", "{keys}", "--tool-group", "nosuch:tool:group"), "no server 'nosuch'"),
    (("enable", "{stack}", "{keys}", "--tool-group", "github:create_issue"), "expected SERVER:TOOL:GROUP"),
    (("frobnicate",), "invalid choice"),
])
def test_bad_input_exits_2_naming_it(keys, tmp_path, args, message):
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text((REPO_ROOT / "Pulumi.dev.yaml").read_text())
    done = run(*[a.format(keys=keys, stack=stack) for a in args])
    assert done.returncode == 2 and message in done.stderr
