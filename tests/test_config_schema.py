"""The stack files' JSON Schema (schemas/stack-config.json): generated from the config models, current, named by
every stack file, valid for every stack file, and strict about misspelt keys; Pulumi.yaml's config block agrees with
the models."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from components.config import FederationConfig, parse_config
from components.config.schema import SCHEMA_FILE, main, project_config_block, render, stale

REPO_ROOT = Path(__file__).resolve().parent.parent
STACK_FILES = sorted(REPO_ROOT.glob("Pulumi.*.yaml"))
MODELINE = "# yaml-language-server: $schema=./schemas/stack-config.json"


def errors_of(document: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    return sorted(f"{'.'.join(map(str, error.absolute_path))}: {error.message}"
                  for error in validator.iter_errors(document))


def test_the_committed_schema_is_current():
    assert not stale(SCHEMA_FILE), "schemas/stack-config.json is stale: run `make schema`"
    assert SCHEMA_FILE.read_text() == render()


def test_a_stale_schema_is_caught(tmp_path):
    written = tmp_path / "stack-config.json"
    assert main([str(written)]) == 0 and not stale(written)
    schema = json.loads(written.read_text())
    del schema["properties"]["config"]["properties"]["mcp-federation:aggregate"]  # as before a key was added
    written.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    assert stale(written)
    assert stale(tmp_path / "missing.json")


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=[path.name for path in STACK_FILES])
def test_every_stack_file_names_the_schema_and_is_valid(stack_file):
    assert stack_file.read_text().splitlines()[0] == MODELINE
    assert errors_of(yaml.safe_load(stack_file.read_text())) == []


def test_the_schema_rejects_a_misspelt_key_in_a_stack_file():
    document = yaml.safe_load((REPO_ROOT / "Pulumi.prod.yaml").read_text())
    bad = copy.deepcopy(document)
    bad["config"]["mcp-federation:namspace"] = "mcp"
    bad["config"]["mcp-federation:servers"][0]["replica"] = 2
    bad["config"]["mcp-federation:gateway"]["port"] = "80"
    errors = errors_of(bad)
    assert "config: 'mcp-federation:namspace' does not match any of the regexes: '^(?!mcp-federation:)" \
        "[A-Za-z0-9_.-]+:'" in errors, errors
    assert any(e.startswith("config.mcp-federation:servers.0: Additional properties are not allowed ('replica'")
               for e in errors), errors
    assert "config.mcp-federation:gateway.port: '80' is not of type 'integer'" in errors, errors
    assert len(errors) == 3, errors


def test_the_schema_accepts_what_the_program_accepts():
    """Encrypted secrets, other namespaces' keys and whole floats: as the CLI and the models take them."""
    document = {"secretsprovider": "passphrase", "encryptionsalt": "v1:abc", "config": {
        "kubernetes:context": "kind-mcp", "mcp-federation:secrets": {"sessionKey": {"secure": "v1:xyz"}},
        "mcp-federation:gateway": {"port": 8080.0}}}
    assert errors_of(document) == []
    assert parse_config({"gateway": {"port": 8080.0}}).gateway.port == 8080


def test_pulumi_yaml_defaults_are_the_models_defaults():
    """Each key's Pulumi.yaml default (what the CLI applies) means what leaving the key out means under mocks."""
    nothing = parse_config({})
    for key, spec in project_config_block().items():
        field = next(name for name, info in FederationConfig.model_fields.items() if info.alias == key)
        assert getattr(parse_config({key: spec["default"]}), field) == getattr(nothing, field), key


def test_pulumi_yaml_declares_exactly_the_models_keys_with_their_types():
    declared = project_config_block()
    schema = json.loads(SCHEMA_FILE.read_text())["properties"]["config"]["properties"]
    assert sorted(declared) == sorted(info.alias for info in FederationConfig.model_fields.values())
    for key, spec in declared.items():
        generated = schema[f"mcp-federation:{key}"]
        types = {generated.get("type")} | {part.get("type") for part in generated.get("anyOf", [])}
        if "$ref" in generated:
            types.add("object")
        assert spec["type"] in types, (key, spec["type"], generated)
        assert generated["description"] == spec["description"]


def test_the_schema_accepts_a_partial_resources_object_as_the_program_does():
    """A resources key left out keeps its default (one limit set, the others default) in the program and the schema."""
    servers = [{"name": "github", "resources": {"limits": {"memory": "256Mi"}}}]
    assert errors_of({"config": {"mcp-federation:servers": servers}}) == []
    assert parse_config({"servers": servers}).servers[0].resources.to_k8s() == {
        "requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
