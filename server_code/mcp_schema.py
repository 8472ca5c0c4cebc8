"""Tools and their argument validation: the JSON Schema subset the catalogs use."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
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


Validator = Callable[[Any, str], "list[str]"]  # (value, its name in messages: "" for the arguments) -> messages
_Check = Callable[[Any, str, "list[str]"], None]  # appends messages for one kind of value


def schema_errors(value: Any, schema: dict, where: str = "") -> list[str]:
    """Check `value` against the JSON Schema subset the catalogs use; return messages naming each bad argument.

    Supported keywords: type, enum, properties, required, additionalProperties (bool), items,
    minLength, maxLength, pattern, minimum, maximum, minItems, maxItems.
    """
    return compile_schema(schema)(value, where)


def compile_schema(schema: dict) -> Validator:
    """The validator of `schema` (what `schema_errors` checks), built once per tool: each keyword is looked up and
    each pattern compiled here, not for every argument of every call."""
    declared = schema.get("type")
    types: tuple[str, ...] = (declared,) if isinstance(declared, str) else tuple(declared or ())
    is_typed = _type_test(types) if declared is not None else None
    enum = schema.get("enum")
    checks: dict[type, _Check] = {}  # the kinds below exclude each other, so each value takes one check
    for kinds, build in (((str,), _string_check), ((dict,), _object_check), ((list,), _array_check),
                         ((int, float), _number_check)):
        check = build(schema)
        if check is not None:
            checks.update(dict.fromkeys(kinds, check))

    def validate(value: Any, where: str = "") -> list[str]:
        if is_typed is not None and not is_typed(value):
            return [f"{_label(where)} must be of type {' or '.join(types)}, got {json_type_name(value)}"]
        errors: list[str] = []
        if enum is not None and not any(json_type_name(value) == json_type_name(e) and value == e for e in enum):
            errors.append(f"{_label(where)} must be one of {json.dumps(enum)}, got {_short_json(value)}")
        check = checks.get(type(value))
        if check is None and checks and not isinstance(value, bool):  # a subclass (json.loads makes none)
            check = next((c for kind, c in checks.items() if isinstance(value, kind)), None)
        if check is not None:
            check(value, where, errors)
        return errors

    return validate


def _type_test(types: tuple) -> Callable[[Any], bool]:
    if types == ("string",):
        return lambda value: isinstance(value, str)
    if types == ("object",):
        return lambda value: isinstance(value, dict)
    return lambda value: any(has_json_type(value, json_type) for json_type in types)


def _label(where: str) -> str:
    return f"argument '{where}'" if where else "arguments"


def _short_json(value: Any) -> str:
    """`value` as JSON for a message, cut to 100 characters (it may be large or deeply nested)."""
    try:
        text = json.dumps(value)
    except (RecursionError, ValueError):
        return f"a {json_type_name(value)}"
    return text if len(text) <= 100 else text[:97] + "..."


def _string_check(schema: dict) -> _Check | None:
    if not {"minLength", "maxLength", "pattern"} & schema.keys():
        return None
    min_length, max_length = schema.get("minLength", 0), schema.get("maxLength")
    pattern = re.compile(schema["pattern"]) if "pattern" in schema else None

    def check(value: str, where: str, errors: list[str]) -> None:
        if len(value) < min_length:
            errors.append(f"{_label(where)} must be at least {min_length} characters long")
        if max_length is not None and len(value) > max_length:
            errors.append(f"{_label(where)} must be at most {max_length} characters long")
        if pattern is not None and not pattern.search(value):
            errors.append(f"{_label(where)} must match the pattern {pattern.pattern}")
    return check


def _number_check(schema: dict) -> _Check | None:
    if not {"minimum", "maximum"} & schema.keys():
        return None
    minimum, maximum = schema.get("minimum"), schema.get("maximum")

    def check(value: int | float, where: str, errors: list[str]) -> None:
        if minimum is not None and value < minimum:
            errors.append(f"{_label(where)} must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            errors.append(f"{_label(where)} must be <= {maximum}, got {value}")
    return check


def _array_check(schema: dict) -> _Check | None:
    if not {"minItems", "maxItems", "items"} & schema.keys():
        return None
    min_items, max_items = schema.get("minItems", 0), schema.get("maxItems")
    items = compile_schema(schema["items"]) if "items" in schema else None

    def check(value: list, where: str, errors: list[str]) -> None:
        if len(value) < min_items:
            errors.append(f"{_label(where)} must have at least {min_items} items")
        if max_items is not None and len(value) > max_items:
            errors.append(f"{_label(where)} must have at most {max_items} items")
        if items is not None:
            for i, item in enumerate(value):
                errors += items(item, f"{where}[{i}]")
    return check


def _object_check(schema: dict) -> _Check | None:
    if not {"properties", "required", "additionalProperties"} & schema.keys():
        return None
    properties = {key: compile_schema(sub) for key, sub in schema.get("properties", {}).items()}
    required = tuple(schema.get("required", ()))
    closed = schema.get("additionalProperties", True) is False

    def check(value: dict, where: str, errors: list[str]) -> None:
        prefix = f"{where}." if where else ""
        for key in required:
            if key not in value:
                errors.append(f"missing required argument '{prefix}{key}'")
        for key, item in value.items():
            validate = properties.get(key)
            if validate is not None:
                found = validate(item, prefix + key)
                if found:
                    errors += found
            elif closed:
                errors.append(f"unexpected argument '{prefix}{key}'")
    return check
