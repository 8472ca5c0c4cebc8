"""Secrets (issues 5+6): `secrets` config -> one Kubernetes Secret per server that needs one -> env via secretKeyRef.
The value is read (from the engine config map, as under the CLI) and appears only inside the Secret, marked as a
Pulumi secret: never in stack outputs, in any other resource, or in a repr."""
from __future__ import annotations

import json

import pytest

from components.config import ConfigError, SecretValue
from components.server_secret import ServerSecret, ServerSecretArgs
from tests.k8s_schema import assert_valid, is_secret, unwrap_secrets
from tests.pulumi_mocks import Declared, cli_config, mocks, restart, run_awaited, run_program  # noqa: F401
from tests.resource_types import DEPLOYMENT, SECRET

TOKEN = "ghp_Sup3rSecretTokenValue-0001"
SESSION_KEY = "session-key-Sup3rSecret-0002"
SERVERS = [{"name": "github", "replicas": 2, "env": {"LOG_LEVEL": "debug"},
            "secretEnv": {"GITHUB_TOKEN": "githubToken"}},
           {"name": "slack"}, {"name": "fetch"}]


def _declared_with_secrets(mocks) -> Declared:
    return run_program(mocks, cli_config("dev", {
        "mcp-federation:servers": SERVERS,
        "mcp-federation:secrets": {"githubToken": TOKEN, "sessionKey": SESSION_KEY}}))


def _env(declared: Declared, name: str) -> dict:
    (container,) = declared.one(DEPLOYMENT, name).inputs["spec"]["template"]["spec"]["containers"]
    return {entry["name"]: entry for entry in container["env"]}


def test_one_secret_for_the_server_that_needs_it_with_exactly_its_values(mocks):
    declared = _declared_with_secrets(mocks)
    (secret,) = declared.of_type(SECRET)
    assert secret.name == "github-secrets"
    assert declared.parent_type(secret) == "mcpfederation:components:ServerSecret"
    assert_valid(secret.inputs)
    assert secret.inputs["metadata"]["name"] == "github-secrets" and secret.inputs["metadata"]["namespace"] == "mcp"
    assert secret.inputs["type"] == "Opaque"
    assert is_secret(secret.inputs["stringData"])  # encrypted in the state, masked in previews
    assert unwrap_secrets(secret.inputs["stringData"]) == {"githubToken": TOKEN, "sessionKey": SESSION_KEY}


def test_env_refers_to_the_secret_by_name_and_key(mocks):
    declared = _declared_with_secrets(mocks)
    env = _env(declared, "github")
    assert env["GITHUB_TOKEN"] == {"name": "GITHUB_TOKEN", "valueFrom": {"secretKeyRef": {
        "name": "github-secrets", "key": "githubToken"}}}
    assert env["MCP_SESSION_KEY"] == {"name": "MCP_SESSION_KEY", "valueFrom": {"secretKeyRef": {
        "name": "github-secrets", "key": "sessionKey"}}}
    assert env["LOG_LEVEL"] == {"name": "LOG_LEVEL", "value": "debug"}
    assert set(_env(declared, "slack")) == {"PORT", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"}
    assert_valid(declared.one(DEPLOYMENT, "github").inputs)


def test_secret_values_are_nowhere_but_in_the_secret(mocks):
    declared = _declared_with_secrets(mocks)
    outputs = json.dumps(declared.outputs)
    assert TOKEN not in outputs and SESSION_KEY not in outputs
    for resource in declared.resources:
        if resource.typ == SECRET:
            continue
        text = json.dumps(resource.inputs)
        assert TOKEN not in text and SESSION_KEY not in text, (resource.typ, resource.name)
    # the check above can fail: the values are in the Secret's inputs
    assert TOKEN in json.dumps(declared.one(SECRET, "github-secrets").inputs)


def test_secrets_are_read_from_the_cli_environment(mocks, monkeypatch):
    """Under `pulumi up` the language host hands over the decrypted config (secret keys listed separately)."""
    config = {**cli_config("dev"), "mcp-federation:servers": json.dumps(SERVERS),
              "mcp-federation:secrets": json.dumps({"githubToken": TOKEN, "sessionKey": SESSION_KEY})}
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["mcp-federation:secrets"]))
    declared = run_program(mocks, {})
    (secret,) = declared.of_type(SECRET)
    assert unwrap_secrets(secret.inputs["stringData"])["githubToken"] == TOKEN
    assert TOKEN not in json.dumps(declared.outputs)


def test_a_referenced_but_unset_secret_declares_nothing_and_names_the_command(mocks):
    with pytest.raises(ConfigError) as caught:
        run_program(mocks, cli_config("dev", {"mcp-federation:servers": SERVERS}))
    assert caught.value.missing_secrets == ["githubToken", "sessionKey"]
    assert "pulumi config set --secret --path 'secrets.githubToken' <value>" in str(caught.value)
    assert mocks.created == []


def test_component_refuses_plain_text_and_unknown_keys(mocks):
    with pytest.raises(ValueError, match="ServerSecretArgs.values: token are not SecretValue"):
        ServerSecretArgs(namespace="mcp", values={"token": TOKEN})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="ServerSecretArgs.values: is empty"):
        ServerSecretArgs(namespace="mcp", values={})
    args = ServerSecretArgs(namespace="mcp", values={"token": SecretValue(TOKEN)})
    assert TOKEN not in repr(args)
    holder = {}

    def declare():
        holder["secret"] = ServerSecret("github", args)
        return [holder["secret"]], {}
    run_awaited(restart(mocks), declare)
    with pytest.raises(KeyError, match="no key 'other'"):
        holder["secret"].env_source("other")
