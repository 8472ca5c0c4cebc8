"""Stack config parsing: defaults equal to Pulumi.yaml, lenient number/boolean forms, and every error named."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pulumi
import pytest
import yaml

from components.config import (
    CODE_DIR,
    ConfigError,
    FederationConfig,
    load_config,
    parse_config,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def project_defaults_from_pulumi_yaml() -> dict:
    config = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())["config"]
    return {key: spec["default"] for key, spec in config.items() if ":" not in key}


def test_parsing_the_pulumi_yaml_defaults_equals_parsing_nothing():
    assert parse_config(project_defaults_from_pulumi_yaml()) == parse_config({})


def test_defaults():
    config = parse_config({})
    assert isinstance(config, FederationConfig)
    assert (config.namespace, config.create_namespace, config.image, config.kube_context) == \
        ("mcp", True, "python:3.11-slim", None)
    assert (config.gateway.create, config.gateway.name, config.gateway.namespace, config.gateway.port) == \
        (True, "mcp-gateway", "agentgateway-system", 80)
    assert [(s.name, s.path, s.code, s.replicas, s.port, s.image) for s in config.servers] == [
        ("fetch", "/mcp/fetch", "fetch.py", 1, 8080, "python:3.11-slim"),
        ("github", "/mcp/github", "github.py", 1, 8080, "python:3.11-slim"),
        ("slack", "/mcp/slack", "slack.py", 1, 8080, "python:3.11-slim"),
    ]
    assert config.servers[0].resources.to_k8s() == {"requests": {"cpu": "50m", "memory": "64Mi"},
                                                     "limits": {"cpu": "500m", "memory": "128Mi"}}
    assert config.code_dir == CODE_DIR


def test_config_objects_are_frozen():
    config = parse_config({})
    with pytest.raises(ValueError, match="frozen"):
        config.namespace = "other"  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        config.servers[0].replicas = 5  # type: ignore[misc]


def test_numbers_and_booleans_in_the_forms_the_cli_delivers():
    """A top-level value reaches the program as its YAML text ("false"); an object goes through Go's JSON, which
    may turn 8080 into 8080.0-like floats on the way (pulumi/pulumi sdk/go/common/resource/config/value.go)."""
    config = parse_config({
        "createNamespace": "false",
        "denyDangerousTools": " True ",
        "kubeContext": "kind-x",
        "gateway": {"create": False, "port": 8080.0},
        "secrets": {"sessionKey": "k" * 16},
        "servers": [{"name": "github", "replicas": 2.0, "port": 9000},
                    {"name": "slack", "replicas": 3, "path": "/tools/slack", "image": "python:3.12-slim",
                     "resources": {"limits": {"memory": "256Mi"}}}],
    })
    assert config.create_namespace is False and config.deny_dangerous_tools is True
    assert config.kube_context == "kind-x"
    assert config.gateway.create is False and config.gateway.port == 8080
    github, slack = config.servers
    assert (github.replicas, github.port) == (2, 9000)
    assert type(github.replicas) is int and type(config.gateway.port) is int
    assert (slack.replicas, slack.path, slack.image) == (3, "/tools/slack", "python:3.12-slim")
    assert slack.resources.to_k8s() == {"requests": {"cpu": "50m", "memory": "64Mi"},
                                        "limits": {"cpu": "500m", "memory": "256Mi"}}


@pytest.mark.parametrize("raw, expected", [
    ({"servers": [{"name": "github", "replicas": "2"}]}, "servers[0].replicas: '2' is not an integer"),
    ({"gateway": {"port": "80"}}, "gateway.port: '80' is not an integer"),
    ({"gateway": {"create": "false"}}, "gateway.create: 'false' is not a boolean (true or false)"),
    ({"servers": [{"name": "github\n"}]}, "servers[0].name: 'github\\n' is not a DNS label"),
    ({"namespace": "mcp\n"}, "namespace: 'mcp\\n' is not a DNS label"),
])
def test_no_silent_coercion_and_no_trailing_newline(raw, expected):
    """Strict types: a string is never taken as a number or (inside an object) a boolean; a pattern matches the
    whole value, so a trailing newline is refused."""
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert [error[:len(expected)] for error in caught.value.errors] == [expected]


def test_partial_gateway_object_keeps_the_other_defaults():
    gateway = parse_config({"gateway": {"name": "shared-gw"}}).gateway
    assert (gateway.create, gateway.name, gateway.namespace, gateway.port) == \
        (True, "shared-gw", "agentgateway-system", 80)


def test_adding_a_server_is_one_entry_plus_one_file(tmp_path):
    code_dir = tmp_path / "server_code"
    shutil.copytree(CODE_DIR, code_dir)
    (code_dir / "jira.py").write_text((CODE_DIR / "fetch.py").read_text())
    config = parse_config({"servers": [{"name": "fetch"}, {"name": "jira"}]}, code_dir=code_dir)
    assert [(s.name, s.path, s.code) for s in config.servers] == [("fetch", "/mcp/fetch", "fetch.py"),
                                                                   ("jira", "/mcp/jira", "jira.py")]


def _servers(*entries):
    return {"servers": list(entries)}


# (config, the exact error line it must produce). One case per rule.
BAD_CONFIGS = {
    "duplicate name": (_servers({"name": "github"}, {"name": "github", "path": "/other"}),
                       "servers[1].name: 'github' is already used by servers[0]"),
    "duplicate path": (_servers({"name": "github"}, {"name": "gh2", "path": "/mcp/github", "code": "github.py"}),
                       "servers[1].path: '/mcp/github' is already used by servers[0]"),
    "name not a DNS label": (_servers({"name": "Git_Hub", "code": "github.py"}),
                             "servers[0].name: 'Git_Hub' is not a DNS label"),
    "name too long": (_servers({"name": "a" * 64, "code": "github.py"}),
                      f"servers[0].name: '{'a' * 64}' is longer than 63 characters"),
    "name missing": (_servers({"path": "/mcp/x", "code": "github.py"}), "servers[0].name: is required"),
    "name not a string": (_servers({"name": 7, "code": "github.py"}), "servers[0].name: 7 is not a string"),
    "path without leading slash": (_servers({"name": "github", "path": "mcp/github"}),
                                   "servers[0].path: 'mcp/github' is not a URL path starting with '/'"),
    "path with //": (_servers({"name": "github", "path": "/mcp//github"}),
                     "servers[0].path: '/mcp//github' is not a URL path starting with '/'"),
    "path with ..": (_servers({"name": "github", "path": "/mcp/../github"}),
                     "servers[0].path: '/mcp/../github' must not contain '.' or '..' segments"),
    "path with trailing slash": (_servers({"name": "github", "path": "/mcp/github/"}),
                                 "servers[0].path: '/mcp/github/' is not a URL path"),
    "missing code file": (_servers({"name": "jira"}), "servers[0].code: 'jira.py' does not exist in"),
    "code not a file name": (_servers({"name": "github", "code": "../etc/passwd.py"}),
                             "servers[0].code: '../etc/passwd.py' is not a Python file name"),
    "code is the core": (_servers({"name": "core", "code": "mcp_core.py"}),
                         "servers[0].code: 'mcp_core.py' is the shared core, not a server"),
    "replicas below 1": (_servers({"name": "github", "replicas": 0}),
                         "servers[0].replicas: 0 is out of range 1..100"),
    "replicas not whole": (_servers({"name": "github", "replicas": 1.5}),
                           "servers[0].replicas: 1.5 is not an integer"),
    "replicas a word": (_servers({"name": "github", "replicas": "two"}),
                        "servers[0].replicas: 'two' is not an integer"),
    "replicas a boolean": (_servers({"name": "github", "replicas": True}),
                           "servers[0].replicas: True is not an integer"),
    "privileged port": (_servers({"name": "github", "port": 80}),
                        "servers[0].port: 80 is out of range 1024..65535 (non-root containers cannot bind"),
    "typo in a server key": (_servers({"name": "github", "replica": 2}),
                             "servers[0].replica: unknown key (did you mean 'replicas'?)"),
    "server not an object": (_servers("github"), "servers[0]: 'github' is not an object"),
    "servers not a list": ({"servers": {"name": "github"}},
                           "servers: {'name': 'github'} is not a list of server objects"),
    "no servers": ({"servers": []}, "servers: is empty: declare at least one server"),
    "bad quantity": (_servers({"name": "github", "resources": {"limits": {"memory": "lots"}}}),
                     "servers[0].resources.limits.memory: 'lots' is not a Kubernetes quantity"),
    "typo in resources": (_servers({"name": "github", "resources": {"limit": {}}}),
                          "servers[0].resources.limit: unknown key (did you mean 'limits'?)"),
    "image latest": ({"image": "python:latest"}, "image: 'python:latest' is not a pinned image reference"),
    "image untagged": ({"image": "python"}, "image: 'python' is not a pinned image reference"),
    "server image untagged": (_servers({"name": "github", "image": "python"}),
                              "servers[0].image: 'python' is not a pinned image reference"),
    "namespace not a DNS label": ({"namespace": "MCP"}, "namespace: 'MCP' is not a DNS label"),
    "createNamespace not a boolean": ({"createNamespace": "yes"},
                                      "createNamespace: 'yes' is not a boolean (true or false)"),
    "kubeContext not a string": ({"kubeContext": 3}, "kubeContext: 3 is not a string"),
    "gateway not an object": ({"gateway": "mcp-gateway"}, "gateway: 'mcp-gateway' is not an object"),
    "gateway.create not a boolean": ({"gateway": {"create": "maybe"}},
                                     "gateway.create: 'maybe' is not a boolean"),
    "gateway.port out of range": ({"gateway": {"port": 70000}}, "gateway.port: 70000 is out of range 1..65535"),
    "gateway typo": ({"gateway": {"namepsace": "x"}}, "gateway.namepsace: unknown key (did you mean 'namespace'?)"),
    "top-level typo": ({"namspace": "x"}, "mcp-federation:namspace: unknown key (did you mean 'namespace'?)"),
}


@pytest.mark.parametrize("raw, expected", BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_bad_config_is_rejected_with_the_key_and_value(raw, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert any(error.startswith(expected) for error in caught.value.errors), caught.value.errors
    assert expected in str(caught.value)
    assert len(caught.value.errors) == 1, caught.value.errors  # one mistake, one error


def test_all_errors_are_reported_together():
    raw = {"namespace": "Bad_NS", "gateway": {"port": "x"},
           "servers": [{"name": "Git_Hub", "code": "github.py"}, {"name": "slack", "replicas": 0},
                       {"name": "jira"}]}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    keys = [error.split(":", 1)[0] for error in caught.value.errors]
    assert keys == ["namespace", "gateway.port", "servers[0].name", "servers[1].replicas", "servers[2].code"]
    assert re.search(r"\(5 problem\(s\)\)", str(caught.value))


@pytest.fixture
def runtime_config():
    """Set the engine's config map the way the CLI / mocks deliver it (strings, JSON for objects); restore after."""
    def set_config(values: dict) -> None:
        pulumi.runtime.set_all_config(values)
    yield set_config
    pulumi.runtime.set_all_config({})


def test_load_config_reads_the_engine_config_map(runtime_config):
    runtime_config({"mcp-federation:namespace": "tools", "mcp-federation:createNamespace": "false",
                    "mcp-federation:servers": json.dumps([{"name": "github", "replicas": 2}]),
                    "mcp-federation:secrets": json.dumps({"sessionKey": "k" * 16}),
                    "kubernetes:context": "ignored-foreign-key"})
    config = load_config()
    assert (config.namespace, config.create_namespace) == ("tools", False)
    assert [(s.name, s.replicas) for s in config.servers] == [("github", 2)]


def test_load_config_rejects_an_unknown_project_key_and_bad_json(runtime_config):
    runtime_config({"mcp-federation:replicas": "2", "mcp-federation:servers": "[{name: github}"})
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert caught.value.errors[0].startswith("servers: '[{name: github}' is not valid JSON")
    assert any(e.startswith("mcp-federation:replicas: unknown key") for e in caught.value.errors)


def test_load_config_reads_the_cli_environment(runtime_config, monkeypatch):
    """Under `pulumi up` the language host passes the stack config as JSON in PULUMI_CONFIG."""
    runtime_config({})
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({
        "mcp-federation:image": "python:3.12-slim", "mcp-federation:gateway": json.dumps({"port": 8080}),
        "pulumi:disable-default-providers": json.dumps(["kubernetes"])}))
    config = load_config()
    assert (config.image, config.gateway.port) == ("python:3.12-slim", 8080)
    assert [s.image for s in config.servers] == ["python:3.12-slim"] * 3


# A rule that reads other keys still runs when some other key is invalid (all problems at once), but a key that is
# itself invalid is not also reported by a rule that reads it.
CROSS_KEY_CASES = {
    "duplicate name beside a bad replicas": (
        _servers({"name": "github"}, {"name": "github", "path": "/other", "replicas": 0}),
        ["servers[1].replicas: 0 is out of range 1..100", "servers[1].name: 'github' is already used by servers[0]"]),
    "open gateway beside a bad port": (
        {"gateway": {"serviceType": "LoadBalancer", "port": 0}},
        ["gateway.port: 0 is out of range 1..65535", "auth.mode: 'none' leaves the gateway open"]),
    "unset secret beside a bad replicas": (
        _servers({"name": "github", "replicas": 0, "secretEnv": {"TOKEN": "tok"}}),
        ["servers[0].replicas: 0 is out of range 1..100", "servers[0].secretEnv.TOKEN: secret 'tok' is not set"]),
    "no group rule error for a bad auth.mode": (
        {"servers": [{"name": "github", "allowedGroups": ["g"]}], "auth": {"mode": "Strictt"}},
        ["auth.mode: 'Strictt' is not one of Strict, Optional, Permissive, none"]),
}


@pytest.mark.parametrize("raw, expected", CROSS_KEY_CASES.values(), ids=CROSS_KEY_CASES.keys())
def test_rules_across_keys_run_beside_other_errors(raw, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert len(caught.value.errors) == len(expected), caught.value.errors
    assert all(error.startswith(start) for error, start in zip(caught.value.errors, expected)), caught.value.errors
