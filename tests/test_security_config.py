"""Config keys of issues 5+6: denyDangerousTools, secrets, per-server deniedTools/allowedTools/env/secretEnv and
gateway.serviceType. Every error names the key (and the value, unless it is a secret); secrets never leak."""
from __future__ import annotations

import json

import pulumi
import pytest

from components.config import ConfigError, SecretValue, load_config, parse_config

SESSION_KEY = "s3ssion-key-" + "x" * 10
TOKEN = "ghp_do-not-print-me-123"


def _servers(*entries, **top):
    return {"servers": list(entries), **top}


def test_defaults_of_the_new_keys():
    config = parse_config({})
    assert config.deny_dangerous_tools is True
    assert dict(config.secrets) == {}
    assert config.gateway.service_type == "ClusterIP"
    for server in config.servers:
        assert (server.denied_tools, server.allowed_tools, dict(server.env), dict(server.secret_env)) == \
            ((), None, {}, {})


def test_new_keys_are_parsed():
    config = parse_config(_servers(
        {"name": "github", "replicas": 2, "deniedTools": ["create_issue"], "env": {"LOG_LEVEL": "debug"},
         "secretEnv": {"GITHUB_TOKEN": "githubToken"}},
        {"name": "slack", "allowedTools": ["list_channels", "post_message"]},
        denyDangerousTools="false", secrets={"sessionKey": SESSION_KEY, "githubToken": TOKEN},
        gateway={"serviceType": "LoadBalancer"}, auth={"allowAnonymous": True}))  # exposed and open: said so
    github, slack = config.servers
    assert config.deny_dangerous_tools is False
    assert config.gateway.service_type == "LoadBalancer"
    assert github.denied_tools == ("create_issue",) and github.allowed_tools is None
    assert dict(github.env) == {"LOG_LEVEL": "debug"}
    assert dict(github.secret_env) == {"GITHUB_TOKEN": "githubToken"}
    assert slack.allowed_tools == ("list_channels", "post_message") and slack.denied_tools == ()
    assert config.secrets["githubToken"].reveal() == TOKEN
    assert config.secrets["sessionKey"] == SecretValue(SESSION_KEY)


def test_secret_values_never_show_in_reprs():
    config = parse_config(_servers({"name": "github", "secretEnv": {"GITHUB_TOKEN": "githubToken"}},
                                   secrets={"githubToken": TOKEN}))
    for text in (repr(config), str(config), repr(config.secrets), str(config.secrets["githubToken"]),
                 f"{config.secrets['githubToken']}"):
        assert TOKEN not in text
    assert repr(config.secrets["githubToken"]) == "<secret>"
    with pytest.raises(AttributeError):
        config.secrets["githubToken"]._value = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.secrets["other"] = SecretValue("x")  # type: ignore[index]


BAD_CONFIGS = {
    "denyDangerousTools not a boolean": ({"denyDangerousTools": "no"},
                                         "denyDangerousTools: 'no' is not a boolean"),
    "deniedTools not a list": (_servers({"name": "github", "deniedTools": "delete_repo"}),
                               "servers[0].deniedTools: 'delete_repo' is not a list of tool names"),
    "deniedTools with a non-string": (_servers({"name": "github", "deniedTools": ["delete_repo", 3]}),
                                      "servers[0].deniedTools[1]: 3 is not a string"),
    "deniedTools duplicate": (_servers({"name": "github", "deniedTools": ["delete_repo", "delete_repo"]}),
                              "servers[0].deniedTools: delete_repo listed more than once"),
    "allowedTools with deniedTools": (_servers({"name": "github", "deniedTools": ["delete_repo"],
                                                "allowedTools": ["get_repo"]}),
                                      "servers[0].allowedTools: cannot be combined with deniedTools"),
    "allowedTools empty": (_servers({"name": "github", "allowedTools": []}),
                           "servers[0].allowedTools: is empty: it would hide every tool"),
    "env not an object": (_servers({"name": "github", "env": ["A=1"]}),
                          "servers[0].env: ['A=1'] is not an object of environment variables"),
    "env bad name": (_servers({"name": "github", "env": {"LOG-LEVEL": "x"}}),
                     "servers[0].env.LOG-LEVEL: 'LOG-LEVEL' is not an environment variable name"),
    "env reserved": (_servers({"name": "github", "env": {"MCP_SESSION_KEY": "x"}}),
                     "servers[0].env.MCP_SESSION_KEY: 'MCP_SESSION_KEY' is set by the component"),
    "env value not a string": (_servers({"name": "github", "env": {"LIMIT": 5}}),
                               "servers[0].env.LIMIT: 5 is not a string"),
    "secretEnv bad secret name": (_servers({"name": "github", "secretEnv": {"TOKEN": "github-token"}}),
                                  "servers[0].secretEnv.TOKEN: 'github-token' is not a name under the secrets key"),
    "secretEnv also in env": (_servers({"name": "github", "env": {"TOKEN": "x"}, "secretEnv": {"TOKEN": "tok"}},
                                       secrets={"tok": "value"}),
                              "servers[0].secretEnv.TOKEN: is also set in env"),
    "secretEnv unset secret": (_servers({"name": "github", "secretEnv": {"TOKEN": "githubToken"}}),
                               "servers[0].secretEnv.TOKEN: secret 'githubToken' is not set; run: "
                               "pulumi config set --secret --path 'secrets.githubToken' <value>"),
    "session key missing": (_servers({"name": "github", "replicas": 2}),
                            "secrets.sessionKey: is required because servers[0] ('github', replicas 2) share MCP "
                            "sessions across replicas; run: pulumi config set --secret --path 'secrets.sessionKey'"),
    "session key too short": (_servers({"name": "github", "replicas": 2}, secrets={"sessionKey": "short"}),
                              "secrets.sessionKey: is shorter than 16 characters"),
    "secrets not an object": ({"secrets": "hunter2"}, "secrets: is not an object of secret values"),
    "secret bad name": ({"secrets": {"github-token": "hunter2"}}, "secrets.github-token: is not a secret name"),
    "secret not a string": ({"secrets": {"port": 8080}}, "secrets.port: is not a non-empty string (got int;"),
    "secret empty": ({"secrets": {"token": ""}}, "secrets.token: is not a non-empty string (got str;"),
    "serviceType unknown": ({"gateway": {"serviceType": "Ingress"}},
                            "gateway.serviceType: 'Ingress' is not one of ClusterIP, LoadBalancer, NodePort"),
    "serviceType on an existing gateway": ({"gateway": {"create": False, "serviceType": "LoadBalancer"}},
                                           "gateway.serviceType: 'LoadBalancer' only applies when gateway.create"),
}


@pytest.mark.parametrize("raw, expected", BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_bad_config_is_rejected_with_the_key(raw, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert any(error.startswith(expected) for error in caught.value.errors), caught.value.errors
    assert len(caught.value.errors) == 1, caught.value.errors  # one mistake, one error


def test_secret_values_are_never_in_errors():
    raw = _servers({"name": "github", "replicas": 2, "secretEnv": {"A": "missing"}},
                   secrets={"sessionKey": "hunter2", "bad-name": TOKEN, "number": 12345678})
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    message = str(caught.value)
    assert "hunter2" not in message and TOKEN not in message and "12345678" not in message
    assert [e.split(":")[0] for e in caught.value.errors] == ["secrets.bad-name", "secrets.number"]


def test_missing_secrets_are_listed_sorted_and_all_errors_collected():
    raw = _servers({"name": "github", "replicas": 2, "secretEnv": {"GITHUB_TOKEN": "githubToken"}},
                   {"name": "slack", "secretEnv": {"SLACK_TOKEN": "slackToken", "ALSO": "githubToken"}},
                   namespace="Bad_NS")
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert caught.value.missing_secrets == ["githubToken", "sessionKey", "slackToken"]
    assert [e.split(":")[0] for e in caught.value.errors] == [
        "namespace", "servers[0].secretEnv.GITHUB_TOKEN", "servers[1].secretEnv.SLACK_TOKEN",
        "servers[1].secretEnv.ALSO", "secrets.sessionKey"]
    # with the secrets filled in (as the offline renderer does with placeholders) the config is valid
    filled = {**raw, "namespace": "mcp",
              "secrets": {name: f"placeholder-{name}-0123456789" for name in caught.value.missing_secrets}}
    assert len(parse_config(filled).secrets) == 3


def test_no_missing_secrets_on_other_errors():
    with pytest.raises(ConfigError) as caught:
        parse_config({"namespace": "Bad"})
    assert caught.value.missing_secrets == []


def test_session_key_not_required_for_one_replica():
    assert parse_config(_servers({"name": "github", "replicas": 1})).secrets == {}


@pytest.fixture
def engine_config():
    """Set the engine config map and its secret keys the way the language host does; restore afterwards."""
    def set_config(values: dict, secret_keys: list[str]) -> None:
        pulumi.runtime.set_all_config(values, secret_keys)
    yield set_config
    pulumi.runtime.set_all_config({}, [])


def test_load_config_reads_path_set_secrets_from_the_engine(engine_config):
    """`pulumi config set --secret --path 'secrets.githubToken' …` reaches the program as the JSON object under
    `mcp-federation:secrets`, decrypted, with that key listed as secret."""
    engine_config({"mcp-federation:secrets": json.dumps({"githubToken": TOKEN, "sessionKey": SESSION_KEY}),
                   "mcp-federation:servers": json.dumps([{"name": "github", "replicas": 2,
                                                          "secretEnv": {"GITHUB_TOKEN": "githubToken"}}])},
                  ["mcp-federation:secrets"])
    config = load_config()
    assert config.secrets["githubToken"].reveal() == TOKEN
    assert TOKEN not in repr(config)


def test_load_config_keeps_missing_secrets_and_never_echoes_bad_secret_json(engine_config):
    engine_config({"mcp-federation:secrets": '{"githubToken": "' + TOKEN,
                   "mcp-federation:servers": json.dumps([{"name": "github", "replicas": 3}])},
                  ["mcp-federation:secrets"])
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert TOKEN not in str(caught.value)
    assert caught.value.errors[0].startswith("secrets: <secret> is not valid JSON")
    assert caught.value.missing_secrets == ["sessionKey"]


@pytest.mark.parametrize("key, value", [
    ("servers", [{"name": "github", "env": {"GITHUB_TOKEN": TOKEN}}]),
    ("kubeContext", TOKEN),
    ("auth", {"mode": "Strict", "providers": [{"issuer": TOKEN, "audiences": ["x"], "jwks": {"inline": "{}"}}]}),
])
def test_a_secret_outside_the_secrets_key_is_refused_naming_the_key_not_the_value(engine_config, key, value):
    """`pulumi config set --secret --path 'servers[0].env.GITHUB_TOKEN' …` marks the whole servers key secret; read
    as plain config, the value would land unmasked in the Deployment, the state, preview diffs and errors."""
    text = value if isinstance(value, str) else json.dumps(value)
    engine_config({f"mcp-federation:{key}": text}, [f"mcp-federation:{key}"])
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert caught.value.errors == [
        f"mcp-federation:{key}: holds a value set with --secret, but only the `secrets` key may hold secrets (a "
        "secret elsewhere would be deployed and shown as plain text): set each with: pulumi config set --secret "
        "--path 'secrets.<name>' <value>, and name it in a server's secretEnv"]
    assert TOKEN not in str(caught.value)


def test_secret_keys_from_the_language_hosts_environment_count_too(engine_config, monkeypatch):
    """The language host lists the secret keys in PULUMI_CONFIG_SECRET_KEYS (pulumi-language-python main.go)."""
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["mcp-federation:kubeContext"]))
    engine_config({"mcp-federation:kubeContext": TOKEN}, [])
    with pytest.raises(ConfigError, match="mcp-federation:kubeContext: holds a value set with --secret") as caught:
        load_config()
    assert TOKEN not in str(caught.value)
