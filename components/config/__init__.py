"""Typed, validated stack configuration of the federation (pydantic models, one module per section).

`load_config()` (the running stack's config) or `parse_config(dict)` returns a frozen `FederationConfig`, or raises
`ConfigError` listing every problem at once, each naming the key and the value. It runs before any resource is
declared. `load_config` reads the engine's whole config map rather than `pulumi.Config`, so that a misspelt
`mcp-federation:<key>` in a stack file is an error instead of being silently ignored.

The models' defaults are the ones in `Pulumi.yaml`'s `config:` block: the CLI applies those, but under unit-test
mocks the SDK applies none (tests/test_config.py checks that both agree).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Collection, Mapping

from pydantic import ValidationError

from .auth import AuthConfig, ProviderConfig, RemoteJwksConfig
from .errors import PROJECT, SECRET_KEYS, SET_SECRET_HINT, ConfigError, format_errors, missing_secrets
from .federation import SESSION_KEY_SECRET, FederationConfig, SecretValue, needs_session_key
from .gateway import AggregateConfig
from .servers import CODE_DIR, CODE_SERVER_ENV, CORE_FILE, PORT_ENV, SESSION_KEY_ENV, ImageServerConfig, \
    ResourcesConfig, ServerConfig, ServerGroups

__all__ = ["AggregateConfig", "AuthConfig", "CODE_DIR", "CODE_SERVER_ENV", "CORE_FILE", "ConfigError",
           "DEFAULT_RESOURCES", "FederationConfig", "ImageServerConfig", "PORT_ENV", "ProviderConfig",
           "RemoteJwksConfig", "SESSION_KEY_ENV", "SESSION_KEY_SECRET", "SecretValue", "ServerConfig", "ServerGroups",
           "load_config", "misplaced_secrets", "needs_session_key", "parse_config", "raw_project_config"]

DEFAULT_RESOURCES = ResourcesConfig().to_k8s()


def parse_config(raw: Mapping[str, Any], code_dir: Path = CODE_DIR) -> FederationConfig:
    """Validate a plain mapping of project config keys (missing keys take their defaults)."""
    try:
        return FederationConfig.model_validate(dict(raw), context={"code_dir": code_dir})
    except ValidationError as exc:
        raise ConfigError(format_errors(FederationConfig, exc), missing_secrets(exc)) from None


_STRUCTURED_KEYS = ("gateway", "servers", "secrets", "aggregate", "auth")  # the CLI and the mocks send JSON text


def raw_project_config(all_config: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Pick this project's keys out of the engine's flat `<namespace>:<key>` config map (JSON values decoded)."""
    errors: list[str] = []
    raw = {}
    for full_key, value in all_config.items():
        namespace, _, key = full_key.partition(":")
        if namespace != PROJECT:
            continue
        if key in _STRUCTURED_KEYS and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                shown = "<secret>" if key in SECRET_KEYS else repr(value)
                errors.append(f"{key}: {shown} is not valid JSON ({exc.msg})")
                continue
        if value is not None:
            raw[key] = value
    return raw, errors


def misplaced_secrets(keys: Collection[str], secret_keys: Collection[str]) -> list[str]:
    """An error for each of this project's keys other than `secrets` that holds a value set with `--secret` (any
    part of it): the program would read it as plain text, and it would reach resources, state, preview diffs and
    error messages unmasked. Names the key, never the value."""
    return [f"{PROJECT}:{key}: holds a value set with --secret, but only the `secrets` key may hold secrets (a "
            f"secret elsewhere would be deployed and shown as plain text): {SET_SECRET_HINT}, and name it in a "
            "server's secretEnv"
            for full_key in sorted(set(keys) & set(secret_keys))
            for namespace, _, key in [full_key.partition(":")] if namespace == PROJECT and key not in SECRET_KEYS]


def load_config(code_dir: Path = CODE_DIR) -> FederationConfig:
    """Read and validate the running stack's config (the CLI's, or the one set by tests under mocks)."""
    from pulumi.runtime import config as runtime_config  # the engine's full map, so typos in keys are caught

    all_config = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    # The keys holding secrets: the language host passes them in PULUMI_CONFIG_SECRET_KEYS, and its exec shim hands
    # them to set_all_config (pulumi/pulumi sdk/python/cmd/pulumi-language-python/main.go, pulumiConfigSecretKeysVar;
    # sdk/python/cmd/pulumi-language-python-exec); both are read, as either may be the one that is set.
    secret_keys = {*runtime_config.get_config_secret_keys_env(),
                   *(key for key in all_config if runtime_config.is_config_secret(key))}
    misplaced = misplaced_secrets(all_config, secret_keys)
    if misplaced:  # nothing else is validated: a message about such a value could show it
        raise ConfigError(misplaced)
    raw, errors = raw_project_config(all_config)
    try:
        config = parse_config(raw, code_dir)
    except ConfigError as exc:
        raise ConfigError(errors + exc.errors, exc.missing_secrets) from None
    if errors:
        raise ConfigError(errors)
    return config
