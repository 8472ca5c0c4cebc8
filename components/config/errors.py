"""One error formatter: pydantic's errors in the project's style, `key.path[index].field: 'value' <reason>`, every
problem at once, "did you mean" for a misspelt key, and never the value of a secret."""
from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Any, Optional, Sequence

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from .fields import Hint

PROJECT = "mcp-federation"
SECRET_KEYS = ("secrets",)  # values under these top-level keys are never shown


class ConfigError(ValueError):
    """Invalid stack configuration; `errors` lists every problem, each naming the key and the value (never the
    value of a secret). `missing_secrets` names the referenced secrets that are not set (sorted; may be empty)."""

    def __init__(self, errors: list[str], missing_secrets: Sequence[str] = ()):
        self.errors = list(errors)
        self.missing_secrets = sorted(set(missing_secrets))
        lines = "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(f"invalid {PROJECT} stack configuration ({len(self.errors)} problem(s)):\n{lines}")


def _models_in(annotation: Any) -> list[Any]:
    """The types a value of `annotation` may hold, unwrapping Annotated/Optional/Union."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _models_in(arg) if t is not type(None)]
    return [annotation]


def _item_type(annotation: Any) -> Any:
    """The type of one item (list/tuple) or one value (mapping) of `annotation`."""
    for candidate in _models_in(annotation):
        args = [arg for arg in typing.get_args(candidate) if arg is not Ellipsis]
        if args:
            return args[-1]
    return None


def _field_at(root: type[BaseModel], loc: tuple, keys: Optional[list] = None
              ) -> tuple[Optional[type[BaseModel]], Optional[FieldInfo]]:
    """The model holding the last key of `loc`, and that key's field (None for an unknown key). `keys`, if given,
    receives the parts of `loc` as the stack file spells them (a field's alias, not its Python name)."""
    annotation: Any = root
    parent, field = None, None
    for part in loc:
        if keys is not None:
            keys.append(part)
        if part == "[key]":
            continue
        models = [t for t in _models_in(annotation) if isinstance(t, type) and issubclass(t, BaseModel)]
        if models and isinstance(part, str):
            parent = models[0]
            names = {**{name: name for name in parent.model_fields},
                     **{info.alias or name: name for name, info in parent.model_fields.items()}}
            if part not in names:
                return parent, None
            field = parent.model_fields[names[part]]
            annotation = field.annotation
            if keys is not None:
                keys[-1] = field.alias or names[part]
        else:
            parent, field, annotation = None, None, _item_type(annotation)
    return parent, field


def key_path(loc: tuple) -> str:
    """`servers[1].name` for ('servers', 1, 'name')."""
    text = ""
    for part in loc:
        if part == "[key]":
            continue
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _hint(field: Optional[FieldInfo]) -> Hint:
    return next((m for m in (field.metadata if field else ()) if isinstance(m, Hint)), Hint())


def _unknown_key(root: type[BaseModel], loc: tuple) -> str:
    parent, _ = _field_at(root, loc)
    allowed = [info.alias or name for name, info in parent.model_fields.items()] if parent else []
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key{hint}; allowed: {', '.join(allowed)}"


_TYPE_WORDS = {"string_type": "a string", "int_type": "an integer", "int_from_float": "an integer",
               "bool_type": "a boolean (true or false)", "model_type": "an object", "dict_type": "an object",
               "model_attributes_type": "an object", "list_type": "a list", "tuple_type": "a list"}


def _reason(root: type[BaseModel], error: ErrorDetails, secret: bool) -> str:
    kind, value, loc = error["type"], error.get("input"), error["loc"]
    shown = "" if secret else f"{value!r} "
    if kind == "config":
        return error["ctx"]["message"]
    if kind == "extra_forbidden":
        return _unknown_key(root, loc)
    field = _field_at(root, loc)[1]
    if kind == "missing":
        return "is required" + _hint(field).required
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", error["ctx"]["expected"])
        return f"{shown}is not one of {', '.join(choices)}"
    if kind in _TYPE_WORDS:
        expected = _hint(field).expected if kind not in ("string_type", "int_type", "int_from_float", "bool_type") \
            else ""
        return f"{shown}is not {expected or _TYPE_WORDS[kind]}"
    return f"{shown}{error['msg']}"  # pydantic's own words for anything not foreseen


def format_errors(root: type[BaseModel], exc: ValidationError) -> list[str]:
    """Every error of `exc` as `key: reason`; a misspelt top-level key is named `mcp-federation:<key>`."""
    lines = []
    for error in exc.errors(include_url=False):
        spelt: list = []
        _field_at(root, tuple(error["loc"]), spelt)
        loc = tuple(spelt)
        key = f"{PROJECT}:{loc[0]}" if len(loc) == 1 and error["type"] == "extra_forbidden" else key_path(loc)
        secret = bool(loc) and loc[0] in SECRET_KEYS
        lines.append(f"{key}: {_reason(root, error, secret)}" if key else _reason(root, error, secret))
    return lines


def missing_secrets(exc: ValidationError) -> list[str]:
    """The secrets the errors of `exc` name as referenced but not set."""
    return [e["ctx"]["secret"] for e in exc.errors() if e["type"] == "config" and "secret" in e.get("ctx", {})]
