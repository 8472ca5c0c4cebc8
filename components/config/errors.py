"""One error formatter: pydantic's errors in the project's style, `key.path[index].field: 'value' <reason>`, every
problem at once, "did you mean" for a misspelt key, and never the value of a secret. Pydantic names each location by
the keys as the stack file spells them (its aliases), so the formatter only words the reason."""
from __future__ import annotations

import difflib
import re
import typing
from typing import Any, Optional, Sequence

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .fields import PATTERN_HELP

PROJECT = "mcp-federation"
SECRET_KEYS = ("secrets",)  # values under these top-level keys are never shown
SET_SECRET_HINT = "set each with: pulumi config set --secret --path 'secrets.<name>' <value>"
# What follows 'is required' for these keys, and what their value must be when it has the wrong JSON type.
REQUIRED_WHY = {"tool": " (the tool the verifier calls after a deploy)",
                "issuer": " (the exact 'iss' of the tokens)",
                "audiences": ": list the 'aud' values the gateway accepts (without it, tokens minted for any other "
                             "application would be accepted)",
                "jwks": ": {inline: '<JWKS JSON>'} or {remote: {url: https://...}}",
                "url": " (e.g. https://idp.example.com/.well-known/jwks.json)"}
EXPECTED = {"secrets": f"an object of secret values ({SET_SECRET_HINT})",
            "env": "an object of environment variables", "secretEnv": "an object of environment variables"}
_TYPE_WORDS = {"string_type": "a string", "int_type": "an integer", "int_from_float": "an integer",
               "bool_type": "a boolean (true or false)", "model_type": "an object", "dict_type": "an object",
               "model_attributes_type": "an object", "list_type": "a list", "tuple_type": "a list"}
_SCALAR_TYPES = ("string_type", "int_type", "int_from_float", "bool_type")


def set_secret_command(name: str, value_hint: str = "<value>") -> str:
    """The command that sets secret `name`."""
    return f"pulumi config set --secret --path 'secrets.{name}' {value_hint}"


class ConfigError(ValueError):
    """Invalid stack configuration; `errors` lists every problem, each naming the key and the value (never the
    value of a secret). `missing_secrets` names the referenced secrets that are not set (sorted; may be empty)."""

    def __init__(self, errors: list[str], missing_secrets: Sequence[str] = ()):
        self.errors = list(errors)
        self.missing_secrets = sorted(set(missing_secrets))
        lines = "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(f"invalid {PROJECT} stack configuration ({len(self.errors)} problem(s)):\n{lines}")


def _model_in(annotation: Any) -> Optional[type[BaseModel]]:
    """The config model a value of `annotation` is or holds (through Annotated, Optional, tuple), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, map(_model_in, typing.get_args(annotation))), None)


def _spelt(root: type[BaseModel], loc: tuple) -> tuple[tuple, list[str]]:
    """`loc` with each key as the stack file spells it (pydantic names a field by its Python name when it validates
    the field's default), and the keys the object holding the last key takes."""
    model: Optional[type[BaseModel]] = root
    spelt, keys = [], []
    for part in loc:
        if isinstance(part, str) and model is not None:
            keys = [info.alias or name for name, info in model.model_fields.items()]
            info = {**model.model_fields, **dict(zip(keys, model.model_fields.values()))}.get(part)
            part, model = (info.alias or part, _model_in(info.annotation)) if info else (part, None)
        spelt.append(part)
    return tuple(spelt), keys


def key_path(loc: tuple) -> str:
    """`servers[1].name` for ('servers', 1, 'name')."""
    text = ""
    for part in loc:
        if part != "[key]":
            text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _reason(error: ErrorDetails, loc: tuple, keys: list[str], secret: bool) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    key = next((part for part in reversed(loc) if isinstance(part, str) and part != "[key]"), "")
    shown = "" if secret else f"{error.get('input')!r} "
    if kind == "config":
        return ctx["message"]
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), keys, n=1)
        return f"unknown key{f' (did you mean {close[0]!r}?)' if close else ''}; allowed: {', '.join(keys)}"
    if kind == "missing":
        return "is required" + REQUIRED_WHY.get(key, "")
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", ctx["expected"])
        return f"{shown}is not one of {', '.join(choices)}"
    if kind == "string_pattern_mismatch":
        return f"{shown}is not {PATTERN_HELP[ctx['pattern']]}"
    if kind == "string_too_long":
        return f"{shown}is longer than {ctx['max_length']} characters"
    if kind in _TYPE_WORDS:
        return f"{shown}is not {(kind not in _SCALAR_TYPES and EXPECTED.get(key)) or _TYPE_WORDS[kind]}"
    return f"{shown}{error['msg']}"  # pydantic's own words for anything not foreseen


def format_errors(root: type[BaseModel], exc: ValidationError) -> list[str]:
    """Every error of `exc` as `key: reason`; a misspelt top-level key is named `mcp-federation:<key>`."""
    lines = []
    for error in exc.errors(include_url=False):
        loc, keys = _spelt(root, tuple(error["loc"]))
        key = f"{PROJECT}:{loc[0]}" if len(loc) == 1 and error["type"] == "extra_forbidden" else key_path(loc)
        reason = _reason(error, loc, keys, bool(loc) and loc[0] in SECRET_KEYS)
        lines.append(f"{key}: {reason}" if key else reason)
    return lines


def missing_secrets(exc: ValidationError) -> list[str]:
    """The secrets the errors of `exc` name as referenced but not set."""
    return [e["ctx"]["secret"] for e in exc.errors() if e["type"] == "config" and "secret" in e.get("ctx", {})]
