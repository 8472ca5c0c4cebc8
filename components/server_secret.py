"""ServerSecret: the Kubernetes Secret holding one server's secret config values, referenced by its env.

Values come from the `secrets` stack config (Pulumi secret config) and enter the Secret as Pulumi secrets
(`Output.secret`), so they are encrypted in the state and masked in previews; nothing else carries them (the
Deployment only refers to the Secret by name and key). The Secret has a fixed name: a changed value reaches the
pods on their next restart (`kubectl rollout restart deployment/<server>`), not by itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from .config import SecretValue
from .workload import server_labels


def server_secret_name(server: str) -> str:
    """The name of a server's Secret."""
    return f"{server}-secrets"


@dataclass(frozen=True)
class ServerSecretArgs:
    """The namespace and the Secret's keys with their values (key = the name under `secrets`)."""

    namespace: pulumi.Input[str]
    values: Mapping[str, SecretValue]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("ServerSecretArgs.values: is empty (a server without secrets needs no Secret)")
        plain = sorted(key for key, value in self.values.items() if not isinstance(value, SecretValue))
        if plain:
            raise ValueError(f"ServerSecretArgs.values: {', '.join(plain)} are not SecretValue (never pass plain text)")


class ServerSecret(pulumi.ComponentResource):
    """One Opaque Secret with the server's secret values; `env_source(key)` refers a container env var to a key."""

    secret_name: pulumi.Output[str]

    def __init__(self, name: str, args: ServerSecretArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mcpfederation:components:ServerSecret", name, None, opts)
        self.secret = k8s.core.v1.Secret(
            f"{name}-secrets",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=server_secret_name(name), namespace=args.namespace,
                                                labels=server_labels(name)),
            type="Opaque",
            string_data={key: pulumi.Output.secret(value.reveal()) for key, value in sorted(args.values.items())},
            opts=pulumi.ResourceOptions(parent=self))
        self.secret_name = self.secret.metadata.name
        self.keys = tuple(sorted(args.values))
        self.register_outputs({"secretName": self.secret_name})

    def env_source(self, key: str) -> k8s.core.v1.EnvVarSourceArgs:
        """A container env `valueFrom` reading `key` of this Secret."""
        if key not in self.keys:
            raise KeyError(f"ServerSecret: no key {key!r} (keys: {', '.join(self.keys)})")
        return k8s.core.v1.EnvVarSourceArgs(
            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=self.secret_name, key=key))
