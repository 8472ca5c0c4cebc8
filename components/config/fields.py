"""Building blocks of the config models: the base model, checked scalar types, and how a rule reports a problem.

Strict types: a string is never turned into a number or a boolean. Two forms are accepted because the Pulumi CLI
produces them: a whole float for an integer (the CLI re-encodes object values through Go's JSON, which has one number
type: pulumi/pulumi sdk/go/common/resource/config/value.go, `unmarshalObjectJSON`), and "true"/"false" for a
top-level boolean (a top-level value reaches the program as its YAML text: same file, `unmarshalValue`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Iterable, Optional, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Strict, StringConstraints, \
    ValidationError, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError, core_schema


class Model(BaseModel):
    """A config object: frozen, unknown keys refused, camelCase keys in the stack file, snake_case in Python."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, validate_by_name=False,
                              validate_by_alias=True, serialize_by_alias=True)


class OneOf(Model):
    """An object that sets exactly one of its keys (e.g. a JWKS: inline | remote)."""

    @model_validator(mode="after")
    def _exactly_one(self) -> "OneOf":
        if len(self.model_fields_set) != 1:
            keys = [info.alias or name for name, info in type(self).model_fields.items()]
            raise problem(f"must set exactly one of {' | '.join(keys)}")
        return self


def problem(message: str, **extra: Any) -> PydanticCustomError:
    """A config problem; `message` is everything after `key: ` (errors.py adds the key)."""
    return PydanticCustomError("config", "{message}", {"message": message, **extra})


def problems(model: str, found: Iterable[tuple[tuple, Union[str, PydanticCustomError], Any]]) -> None:
    """Raise every (location relative to the validated object, message or problem, value) at once, if any."""
    details = [InitErrorDetails(type=problem(message) if isinstance(message, str) else message, loc=loc, input=value)
               for loc, message, value in found]
    if details:
        raise ValidationError.from_exception_data(model, details)


def again(error: ErrorDetails) -> InitErrorDetails:
    """An error of a failed validation, to be raised again together with others."""
    kind = PydanticCustomError("config", "{message}", error["ctx"]) if error["type"] == "config" else error["type"]
    return InitErrorDetails(type=kind, loc=error["loc"], input=error.get("input"), ctx=error.get("ctx", {}))


PATTERN_HELP: dict[str, str] = {}  # pattern of a text() -> what a matching string is, for the error formatter


def text(pattern: Union[str, re.Pattern, None] = None, what: str = "", max_length: Optional[int] = None
         ) -> StringConstraints:
    """A string matching `pattern` as a whole, of at most `max_length` characters. Anchored here, as pydantic's
    `pattern` is a search; with pydantic's Rust regex engine `$` is the very end, so a trailing newline is refused."""
    if pattern is None:
        return StringConstraints(strict=True, max_length=max_length)
    source = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    anchored = "^(?:" + source.removeprefix("^").removesuffix("$") + ")$"
    if PATTERN_HELP.setdefault(anchored, what) != what:
        raise ValueError(f"pattern {source!r} is already described as {PATTERN_HELP[anchored]!r}")
    return StringConstraints(strict=True, pattern=anchored, max_length=max_length)


@dataclass(frozen=True)
class Range:
    """An integer in low..high; `why` explains the range (pydantic's own ge/le errors name only one bound)."""

    low: int
    high: int
    why: str = ""

    def check(self, value: int) -> int:
        if not self.low <= value <= self.high:
            raise problem(f"{value!r} is out of range {self.low}..{self.high}{self.why}")
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: Callable) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: Callable) -> dict:
        return {**handler(schema), "minimum": self.low, "maximum": self.high}


def _whole_number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _cli_boolean(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


# An integer; a whole float (the CLI's form) is accepted, a string or a boolean is not. Add a Range.
Int = Annotated[int, BeforeValidator(_whole_number), Strict()]
Str = Annotated[str, Strict()]
Bool = Annotated[bool, Strict()]
CliBool = Annotated[bool, BeforeValidator(_cli_boolean), Strict()]  # a top-level key: the CLI sends "true"/"false"


def _distinct(items: tuple) -> tuple:
    duplicates = sorted({item for item in items if items.count(item) > 1})
    if duplicates:
        raise problem(f"{', '.join(duplicates)} listed more than once")
    return items


Distinct = AfterValidator(_distinct)  # items listed more than once are an error


def list_of(what: str, empty: str = "", max_items: int = 0) -> BeforeValidator:
    """Refuse a non-list (`'<v>' is not a list of <what>`), an empty list (with message `empty`, if given) and more
    than `max_items` items, before the items are checked."""
    def check(value: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            raise problem(f"{value!r} is not a list of {what}")
        if empty and not value:
            raise problem(empty)
        if max_items and len(value) > max_items:
            raise problem(f"has {len(value)} items (at most {max_items})")
        return value
    return BeforeValidator(check)
