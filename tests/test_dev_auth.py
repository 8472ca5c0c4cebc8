"""The documented way to turn authentication on in the dev stack (README "Authentication"): scripts/dev_auth.py
writes a key pair and prints the auth block; with that block the dev stack renders valid objects with one Strict
check on its Gateway, and a token the script mints verifies against the inline JWKS as agentgateway checks it
(kid, exp, iss, aud; a real JWT library)."""
from __future__ import annotations

import json
import subprocess
import sys

import jwt
import pytest
import yaml

from render.core import run_stack
from render.stack_config import stack_config
from tests.k8s_schema import assert_valid
from tests.pulumi_mocks import REPO_ROOT
from tests.resource_types import POLICY

SCRIPT = REPO_ROOT / "scripts" / "dev_auth.py"


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    directory = tmp_path_factory.mktemp("dev-auth")
    done = run_script("keys", str(directory))
    assert done.returncode == 0, done.stderr
    return directory, done.stdout


def test_keys_print_a_stack_block_with_only_the_public_key(keys):
    directory, block = keys
    assert (directory / "private-key.pem").stat().st_mode & 0o077 == 0
    assert "PRIVATE KEY" not in block
    auth = yaml.safe_load("config:\n" + block)["config"]["mcp-federation:auth"]
    (jwk,) = json.loads(auth["providers"][0]["jwks"]["inline"])["keys"]
    assert {"kty", "kid", "n", "e"} <= set(jwk) and "d" not in jwk
    assert json.loads((directory / "jwks.json").read_text()) == {"keys": [jwk]}


def test_the_dev_stack_with_that_block_declares_one_strict_check(keys):
    _, block = keys
    auth = yaml.safe_load("config:\n" + block)["config"]["mcp-federation:auth"]
    declared, _, _ = run_stack(stack_config("dev", REPO_ROOT, {"mcp-federation:auth": auth}),
                               REPO_ROOT / "__main__.py", log=lambda _message: None)
    for resource in declared.kubernetes_objects():
        assert_valid(resource.inputs)
    (policy,) = [r for r in declared.of_type(POLICY) if "traffic" in r.inputs["spec"]]
    assert policy.inputs["spec"]["targetRefs"][0]["kind"] == "Gateway"
    assert policy.inputs["spec"]["traffic"]["jwtAuthentication"]["providers"][0]["jwks"] == \
        {"inline": auth["providers"][0]["jwks"]["inline"]}
    assert all(entry["auth"]["required"] for entry in declared.outputs["verificationPlan"])


def decode_token(token: str, provider: dict) -> dict:
    """The claims of `token` verified as agentgateway verifies it against a provider with an inline JWKS: the key
    named by `kid`, the header's algorithm, issuer, audience, and exp/iss/aud required."""
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWKSet.from_json(provider["jwks"]["inline"])[header["kid"]]
    return jwt.decode(token, key.key, algorithms=[header["alg"]], issuer=provider["issuer"],
                      audience=provider["audiences"][0], options={"require": ["exp", "iss", "aud"]})


def test_a_minted_token_verifies_against_the_inline_jwks(keys):
    directory, block = keys
    auth = yaml.safe_load("config:\n" + block)["config"]["mcp-federation:auth"]
    provider = auth["providers"][0]
    done = run_script("token", str(directory), "--groups", "mcp-writers,mcp-github", "--ttl", "600")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    claims = decode_token(token, provider)
    assert claims["groups"] == ["mcp-writers", "mcp-github"] and claims["exp"] - claims["iat"] == 600
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWKSet.from_json(provider["jwks"]["inline"])[header["kid"]]
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, key.key, algorithms=[header["alg"]], audience="another-app")


def test_token_without_keys_is_a_usage_error(tmp_path):
    done = run_script("token", str(tmp_path))
    assert done.returncode == 2 and "run `keys` first" in done.stderr


def test_keys_replace_an_existing_readable_key_file_with_a_private_one(tmp_path):
    """O_CREAT|O_TRUNC kept an existing file's mode: a 0644 key file stayed world-readable with the new key in it."""
    old = tmp_path / "private-key.pem"
    old.write_text("old key\n")
    old.chmod(0o644)
    assert run_script("keys", str(tmp_path)).returncode == 0
    assert old.stat().st_mode & 0o777 == 0o600
    assert old.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (tmp_path / "jwks.json").stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jwks.json", "private-key.pem"]  # no temporary left


def test_keys_never_write_through_a_symlink(tmp_path):
    directory, elsewhere = tmp_path / "keys", tmp_path / "elsewhere"
    directory.mkdir()
    elsewhere.mkdir()
    for name in ("private-key.pem", "jwks.json"):
        (elsewhere / name).write_text("not yours\n")
        (directory / name).symlink_to(elsewhere / name)
    assert run_script("keys", str(directory)).returncode == 0
    for name in ("private-key.pem", "jwks.json"):
        assert (elsewhere / name).read_text() == "not yours\n"
        assert not (directory / name).is_symlink()
    assert (directory / "private-key.pem").stat().st_mode & 0o777 == 0o600


def test_keys_into_an_unwritable_place_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("")
    done = run_script("keys", str(tmp_path / "file" / "keys"))
    assert done.returncode == 2 and done.stderr.startswith(f"dev_auth: cannot write the key pair into {tmp_path}")
