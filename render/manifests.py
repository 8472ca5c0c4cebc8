"""Recorded Pulumi resources -> the Kubernetes objects as kubectl would apply them, one deterministic YAML text each.

* Only Kubernetes custom resources (`kubernetes:*`, not providers or components) become objects.
* Numbers recorded as whole floats (protobuf) become ints; keys are sorted below `apiVersion, kind, metadata`.
* Every Secret's `data`/`stringData` value is replaced by REDACTED; other values Pulumi marks secret can only
  hold render placeholders (the renderer never reads real secrets) and are kept, with a note.
* Objects are ordered so that `kubectl apply -f <dir>` creates what others depend on first.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable

import yaml
from pulumi.runtime import rpc

from render.harness import Declared
from render.values import normalize_numbers, unwrap_secrets

REDACTED = "REDACTED"
REDACTED_B64 = base64.b64encode(REDACTED.encode()).decode()
# kubectl-friendly apply order; kinds not listed come after, by name.
KIND_ORDER = ("Namespace", "ServiceAccount", "Secret", "ConfigMap", "Service", "Deployment", "StatefulSet",
              "PodDisruptionBudget", "NetworkPolicy", "AgentgatewayParameters", "Gateway", "ReferenceGrant",
              "AgentgatewayBackend", "AgentgatewayPolicy", "HTTPRoute")
TOP_KEYS = ("apiVersion", "kind", "metadata")


class RenderError(Exception):
    """The declared objects cannot be written as plain manifests (e.g. a value unknown before deployment)."""


@dataclass(frozen=True)
class Manifest:
    """One Kubernetes object and where it came from."""

    obj: dict
    urn: str
    notes: tuple[str, ...] = ()
    redacted: bool = False  # a Secret, whose data is written redacted
    auto_named: bool = False  # named by Pulumi at deployment; rendered with a content-hash suffix

    @property
    def kind(self) -> str:
        return self.obj["kind"]

    @property
    def name(self) -> str:
        return self.obj["metadata"]["name"]

    @property
    def namespace(self) -> str:
        return self.obj["metadata"].get("namespace", "")

    def sort_key(self) -> tuple:
        rank = KIND_ORDER.index(self.kind) if self.kind in KIND_ORDER else len(KIND_ORDER)
        return (rank, self.kind, self.namespace, self.name)


def content_hash_name(args: Any) -> str:
    """A deterministic stand-in for Pulumi's auto-name `<name>-<random suffix>`: the suffix hashes the inputs."""
    digest = hashlib.sha256(json.dumps(args.inputs, sort_keys=True, default=str).encode()).hexdigest()
    return f"{args.name}-{digest[:8]}"


def _tidy(value: Any, where: str) -> Any:
    """Keys sorted and None values dropped, recursively; an unknown value (not resolvable offline) is an error
    naming `where`."""
    if isinstance(value, str) and value == rpc.UNKNOWN:
        raise RenderError(f"{where or 'the object'}: the value is unknown until deployment, so it cannot be rendered")
    if isinstance(value, list):
        return [_tidy(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: _tidy(value[key], f"{where}.{key}") for key in sorted(value) if value[key] is not None}
    return value


def _type_parts(typ: str) -> tuple[str, str]:
    """`kubernetes:apps/v1:Deployment` -> ("apps/v1", "Deployment"); `core/v1` is "v1"."""
    _, group_version, kind = typ.split(":", 2)
    return (group_version[len("core/"):] if group_version.startswith("core/") else group_version), kind


def _redact_secret(obj: dict) -> tuple[dict, tuple[str, ...]]:
    if obj.get("kind") != "Secret":
        return obj, ()
    keys = sorted({*(obj.get("data") or {}), *(obj.get("stringData") or {})})
    redacted = dict(obj)
    if "data" in obj:
        redacted["data"] = {key: REDACTED_B64 for key in obj["data"]}
    if "stringData" in obj:
        redacted["stringData"] = {key: REDACTED for key in obj["stringData"]}
    note = (f"data redacted ({', '.join(keys) or 'no keys'}): every value is {REDACTED}; "
            "create the real Secret from your secret store (pulumi up fills it from the stack's secret config)")
    return redacted, (note,)


def to_manifest(declared: Declared, resource: Any, auto_named: dict[tuple[str, str], str]) -> Manifest:
    """The clean Kubernetes object of one recorded resource."""
    urn = declared.urn(resource)
    api_version, kind = _type_parts(resource.typ)
    # Pulumi marks a whole top-level field secret when anything in it is (e.g. all of `metadata`), so unwrapped
    # values are kept: they come from secret config, which the renderer only ever fills with placeholders.
    secret_paths: list[str] = []
    raw = unwrap_secrets({"apiVersion": api_version, "kind": kind, **resource.inputs}, secret_paths)
    metadata = dict(raw.get("metadata") or {})
    notes: list[str] = []
    generated = auto_named.get((resource.typ, resource.name))
    if generated:
        metadata["name"] = generated
        notes.append(f"metadata.name is auto-named by Pulumi at deployment ('{resource.name}-' plus a random "
                     f"suffix); rendered as {generated!r} (suffix = hash of the inputs) so files are stable")
    raw["metadata"] = metadata
    try:
        cleaned = _tidy(normalize_numbers(raw), "")
    except RenderError as exc:
        raise RenderError(f"{urn}: {exc}") from None
    cleaned, secret_notes = _redact_secret(cleaned)
    outside = [path.lstrip(".") for path in secret_paths if not path.startswith((".data", ".stringData"))]
    if outside:
        notes.append(f"Pulumi marks {', '.join(outside)} secret: values from secret config there are render "
                     "placeholders, never the real secrets")
    ordered = {key: cleaned[key] for key in TOP_KEYS if key in cleaned}
    ordered.update({key: cleaned[key] for key in sorted(cleaned) if key not in TOP_KEYS})
    return Manifest(obj=ordered, urn=urn, notes=tuple(notes) + secret_notes, redacted=bool(secret_notes),
                    auto_named=bool(generated))


def manifests(declared: Declared, auto_named: dict[tuple[str, str], str]) -> list[Manifest]:
    """Every Kubernetes object the run declared, in apply order; two objects with one identity are an error."""
    result = sorted((to_manifest(declared, r, auto_named) for r in declared.kubernetes_objects()),
                    key=Manifest.sort_key)
    seen: dict[tuple, str] = {}
    for manifest in result:
        identity = (manifest.obj["apiVersion"], manifest.kind, manifest.namespace, manifest.name)
        if identity in seen:
            raise RenderError(f"{manifest.urn} and {seen[identity]} are the same Kubernetes object "
                              f"{manifest.kind} {manifest.namespace}/{manifest.name}")
        seen[identity] = manifest.urn
    return result


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-")


def file_names(items: Iterable[Manifest]) -> list[str]:
    """`<NN>-<kind>-<namespace>-<name>.yaml` (no namespace part for cluster-scoped objects), in list order."""
    items = list(items)
    width = max(2, len(str(len(items) - 1)))
    names = []
    for index, manifest in enumerate(items):
        parts = [f"{index:0{width}d}", manifest.kind, manifest.namespace, manifest.name]
        names.append("-".join(_slug(part) for part in parts if part) + ".yaml")
    return names


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks (readable diffs of embedded files); no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def to_yaml(manifest: Manifest, command: str) -> str:
    """The file text: a comment naming the command and the Pulumi resource (plus notes), then the object."""
    header = [f"# Rendered by `{command}` (offline, under Pulumi mocks). Do not edit: re-render instead.",
              f"# Pulumi resource: {manifest.urn}"]
    header += [f"# NOTE: {note}" for note in manifest.notes]
    body = yaml.dump(manifest.obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1_000_000)
    return "\n".join(header) + "\n" + body
