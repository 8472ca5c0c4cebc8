"""Plain values from what the Pulumi SDK records (resource inputs under mocks, outputs on the wire).

Two differences from the object the API server receives, undone here (shared by the renderer and the tests):
* a value marked secret is wrapped: `{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
  "value": <value>}` (pulumi/runtime/rpc.py); Pulumi wraps a whole top-level input (all of `stringData`,
  all of `metadata`) when anything inside it is secret;
* numbers travel as protobuf doubles, so `8080` is recorded as `8080.0`.
"""
from __future__ import annotations

from typing import Any, Optional

from pulumi.runtime import rpc


def is_secret(value: Any) -> bool:
    """True for a value the SDK marked secret."""
    return rpc.is_rpc_secret(value)


def unwrap_secrets(value: Any, found: Optional[list[str]] = None, where: str = "") -> Any:
    """`value` with every secret marker replaced by the value it wraps, recursively.

    If `found` is given, the path of each marker (`.metadata`, `.spec.env[0]`; "" for `value` itself) is
    appended to it.
    """
    if is_secret(value):
        if found is not None:
            found.append(where)
        return unwrap_secrets(value.get("value"), found, where)
    if isinstance(value, list):
        return [unwrap_secrets(item, found, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: unwrap_secrets(item, found, f"{where}.{key}") for key, item in value.items()}
    return value


def normalize_numbers(value: Any) -> Any:
    """Whole floats (8080.0) become ints, recursively; other values (0.5, True, "1.0") are kept."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [normalize_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: normalize_numbers(item) for key, item in value.items()}
    return value
