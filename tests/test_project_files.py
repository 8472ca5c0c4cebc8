"""Pulumi.yaml and the stack files: the real JSON schemas, plus the rules the CLI enforces in Go (pulumi.md §3.1)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT = "mcp-federation"
SCHEMAS_ENV = "MCP_FEDERATION_SCHEMAS_DIR"
STACK_FILES = sorted(REPO_ROOT.glob("Pulumi.*.yaml"))


SHARED_SCHEMAS = REPO_ROOT.parent / "shared" / "schemas"
VENDORED_SCHEMAS = REPO_ROOT / "tests" / "schemas"
SCHEMA_FILES = ("pulumi-project.json", "pulumi-stack.derived.json")


def schemas_dir() -> Path:
    """$MCP_FEDERATION_SCHEMAS_DIR, else ../shared/schemas, else the copies in tests/schemas (a plain clone)."""
    candidates = [Path(os.environ[SCHEMAS_ENV])] if os.environ.get(SCHEMAS_ENV) else \
        [SHARED_SCHEMAS, VENDORED_SCHEMAS]
    for path in candidates:
        if all((path / name).is_file() for name in SCHEMA_FILES):
            return path
    raise FileNotFoundError(f"Pulumi schemas not found in {', '.join(map(str, candidates))}; set {SCHEMAS_ENV}")


def test_vendored_schemas_match_shared():
    """The plain-clone copies in tests/schemas are the same files as ../shared/schemas (where that exists)."""
    if not SHARED_SCHEMAS.is_dir():
        pytest.skip(f"{SHARED_SCHEMAS} is missing: nothing to compare the copies with")
    for name in SCHEMA_FILES:
        assert (VENDORED_SCHEMAS / name).read_bytes() == (SHARED_SCHEMAS / name).read_bytes(), name


def schema_errors(document: Any, schema_file: str) -> list[str]:
    schema = json.loads((schemas_dir() / schema_file).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def project_rule_errors(project: dict) -> list[str]:
    """What `Project.Validate()` and the config loader check beyond the schema, plus this project's own rules:
    every project key is typed, described and has a default (so no stack is ever missing a value)."""
    errors = []
    for key, spec in (project.get("config") or {}).items():
        foreign = ":" in key and not key.startswith(f"{project['name']}:")
        if not isinstance(spec, dict):
            continue
        if "default" in spec and "value" in spec:
            errors.append(f"{key}: has both 'default' and 'value'")
        if spec.get("type") == "array" and "items" not in spec:
            errors.append(f"{key}: type array needs 'items'")
        if foreign and ("default" in spec or "type" in spec):
            errors.append(f"{key}: a key of another namespace takes 'value', not 'type'/'default'")
        if not foreign:
            for needed in ("type", "description", "default"):
                if needed not in spec:
                    errors.append(f"{key}: missing '{needed}'")
    return errors


_TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()) or (isinstance(v, str) and v.strip().lstrip("-").isdigit()),
    "boolean": lambda v: isinstance(v, bool) or v in ("true", "false"),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def stack_value_errors(project: dict, stack: dict) -> list[str]:
    """The CLI's type check of stack values against the project's declared types (`validateStackConfigValue`),
    plus: every `<project>:` key of the stack must be declared (a typo would otherwise be silently ignored)."""
    declared = project.get("config") or {}
    errors = []
    for full_key, value in (stack.get("config") or {}).items():
        namespace, _, key = full_key.partition(":")
        if namespace != project["name"]:
            continue
        spec = declared.get(key)
        if not isinstance(spec, dict):
            errors.append(f"{full_key}: not declared in Pulumi.yaml")
            continue
        if not _TYPE_CHECKS[spec["type"]](value):
            errors.append(f"{full_key}: {value!r} is not of type {spec['type']}")
        elif spec["type"] == "array" and "type" in spec.get("items", {}):
            bad = [item for item in value if not _TYPE_CHECKS[spec["items"]["type"]](item)]
            if bad:
                errors.append(f"{full_key}: items {bad!r} are not of type {spec['items']['type']}")
    return errors


@pytest.fixture(scope="module")
def project() -> dict:
    return yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())


def test_pulumi_yaml_validates_against_the_project_schema(project):
    assert schema_errors(project, "pulumi-project.json") == []


def test_pulumi_yaml_follows_the_cli_rules(project):
    assert project_rule_errors(project) == []


def test_project_name_and_runtime(project):
    assert project["name"] == PROJECT
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert project["config"]["pulumi:disable-default-providers"] == {"value": ["kubernetes"]}


def test_there_is_a_stack_per_environment():
    assert [path.name for path in STACK_FILES] == ["Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.staging.yaml"]


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=lambda p: p.name)
def test_stack_file_validates_and_type_checks(project, stack_file):
    stack = yaml.safe_load(stack_file.read_text())
    assert schema_errors(stack, "pulumi-stack.derived.json") == []
    assert stack_value_errors(project, stack) == []


def test_the_checks_catch_bad_files(project):
    bad_project = {**project, "runtime": {"name": "python", "extra": 1}, "config": {
        "servers": {"type": "array", "description": "d", "default": []},
        "kubernetes:context": {"type": "string", "default": "kind"},
        "replicas": {"type": "integer", "default": 1, "value": 2, "description": "d"},
        "namespace": {"type": "string", "default": "mcp"}}}
    assert any(e.startswith("['runtime']") for e in schema_errors(bad_project, "pulumi-project.json"))
    assert project_rule_errors(bad_project) == [
        "servers: type array needs 'items'",
        "kubernetes:context: a key of another namespace takes 'value', not 'type'/'default'",
        "replicas: has both 'default' and 'value'",
        "namespace: missing 'description'"]
    bad_stack = {"config": {"namespace": "x", f"{PROJECT}:createNamespace": "yes", f"{PROJECT}:servers": {"a": 1},
                            f"{PROJECT}:namspace": "mcp"}, "secretsProvider": "passphrase"}
    assert len(schema_errors(bad_stack, "pulumi-stack.derived.json")) == 2  # unnamespaced key, typo'd field
    assert stack_value_errors(project, bad_stack) == [
        f"{PROJECT}:createNamespace: 'yes' is not of type boolean",
        f"{PROJECT}:servers: {{'a': 1}} is not of type array",
        f"{PROJECT}:namspace: not declared in Pulumi.yaml"]
