"""Tools and their argument validation: the JSON Schema subset the catalogs use."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable


class ToolError(Exception):
    """Raised by a tool handler for a business-logic failure; becomes a result with isError: true."""


@dataclass(frozen=True)
class Tool:
    """One MCP tool: its catalog entry plus the handler that turns arguments into structured content."""

    name: str
    description: str
    input_schema: dict
    handler: Callable[[dict], dict] = field(repr=False, compare=False)
    dangerous: bool = False
    read_only: bool = False

    def listing(self) -> dict:
        """The tool as it appears in a tools/list result."""
        return {
            "name": self.name,
            "description": self.description,
            "inputSchema": self.input_schema,
            "annotations": {"readOnlyHint": self.read_only, "destructiveHint": self.dangerous},
        }


_PY_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def has_json_type(value: Any, json_type: str) -> bool:
    """True if `value` (as json.loads returns it) is of JSON Schema type `json_type`."""
    if isinstance(value, bool):
        return json_type == "boolean"
    if json_type == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if json_type == "number":
        return isinstance(value, (int, float))
    return isinstance(value, _PY_TYPES[json_type])


def json_type_name(value: Any) -> str:
    """The JSON Schema type name of `value`, for messages."""
    for name in ("boolean", "integer", "number", "string", "array", "object", "null"):
        if has_json_type(value, name):
            return name
    return type(value).__name__


def schema_errors(value: Any, schema: dict, where: str = "") -> list[str]:
    """Check `value` against the JSON Schema subset the catalogs use; return messages naming each bad argument.

    Supported keywords: type, enum, properties, required, additionalProperties (bool), items,
    minLength, maxLength, pattern, minimum, maximum, minItems, maxItems.
    """
    types = schema.get("type")
    if types is not None:
        types = (types,) if isinstance(types, str) else types
        for json_type in types:  # a loop, not any(<generator>): this runs for every argument of every call
            if has_json_type(value, json_type):
                break
        else:
            return [f"{_label(where)} must be of type {' or '.join(types)}, got {json_type_name(value)}"]
    errors: list[str] = []
    if "enum" in schema and not any(json_type_name(value) == json_type_name(e) and value == e
                                    for e in schema["enum"]):
        errors.append(f"{_label(where)} must be one of {json.dumps(schema['enum'])}, got {_short_json(value)}")
    if isinstance(value, str):  # the kinds below exclude each other, so each value takes one branch
        _string_errors(value, schema, where, errors)
    elif isinstance(value, dict):
        _object_errors(value, schema, where, errors)
    elif isinstance(value, list):
        _array_errors(value, schema, where, errors)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _number_errors(value, schema, where, errors)
    return errors


def _label(where: str) -> str:
    return f"argument '{where}'" if where else "arguments"


def _short_json(value: Any) -> str:
    """`value` as JSON for a message, cut to 100 characters (it may be large or deeply nested)."""
    try:
        text = json.dumps(value)
    except (RecursionError, ValueError):
        return f"a {json_type_name(value)}"
    return text if len(text) <= 100 else text[:97] + "..."


_pattern = lru_cache(maxsize=256)(re.compile)


def _string_errors(value: str, schema: dict, where: str, errors: list[str]) -> None:
    if len(value) < schema.get("minLength", 0):
        errors.append(f"{_label(where)} must be at least {schema['minLength']} characters long")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(f"{_label(where)} must be at most {schema['maxLength']} characters long")
    if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
        errors.append(f"{_label(where)} must match the pattern {schema['pattern']}")


def _number_errors(value: int | float, schema: dict, where: str, errors: list[str]) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{_label(where)} must be >= {schema['minimum']}, got {value}")
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(f"{_label(where)} must be <= {schema['maximum']}, got {value}")


def _array_errors(value: list, schema: dict, where: str, errors: list[str]) -> None:
    if len(value) < schema.get("minItems", 0):
        errors.append(f"{_label(where)} must have at least {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(f"{_label(where)} must have at most {schema['maxItems']} items")
    if "items" in schema:
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{where}[{i}]")


def _object_errors(value: dict, schema: dict, where: str, errors: list[str]) -> None:
    props = schema.get("properties", {})
    prefix = f"{where}." if where else ""
    for key in schema.get("required", ()):
        if key not in value:
            errors.append(f"missing required argument '{prefix}{key}'")
    for key, item in value.items():
        if key in props:
            errors += schema_errors(item, props[key], prefix + key)
        elif schema.get("additionalProperties", True) is False:
            errors.append(f"unexpected argument '{prefix}{key}'")
