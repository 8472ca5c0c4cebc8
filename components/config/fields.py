"""Building blocks of the config models: the base model, checked scalar types, and how a rule reports a problem.

Every type here reports in the project's message style (the value, then why it is wrong); errors.py adds the key.
Strict types: a string is never turned into a number or a boolean. Two forms are accepted because the Pulumi CLI
produces them: a whole float for an integer (the CLI re-encodes object values through Go's JSON, which has one number
type: pulumi/pulumi sdk/go/common/resource/config/value.go, `unmarshalObjectJSON`), and "true"/"false" for a
top-level boolean (a top-level value reaches the program as its YAML text: same file, `unmarshalValue`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Iterable, Optional

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Strict, ValidationError, \
    model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError, core_schema


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


def problems(model: str, found: Iterable[tuple[tuple, str, Any]]) -> None:
    """Raise every (location relative to the validated object, message, value) at once, if any."""
    details = [InitErrorDetails(type=problem(message), loc=loc, input=value) for loc, message, value in found]
    if details:
        raise ValidationError.from_exception_data(model, details)


@dataclass(frozen=True)
class Hint:
    """Field metadata read by the error formatter: `required` follows 'is required' when the key is missing;
    `expected` completes '<value> is not ...' when the value has the wrong JSON type."""

    required: str = ""
    expected: str = ""


@dataclass(frozen=True)
class Text:
    """A string matching `pattern` (whole string: `$` alone would accept a trailing newline) and `max_len`."""

    pattern: Optional[re.Pattern] = None
    what: str = ""
    max_len: Optional[int] = None

    def check(self, value: str) -> str:
        if self.pattern is not None and not self.pattern.fullmatch(value):
            raise problem(f"{value!r} is not {self.what}")
        if self.max_len is not None and len(value) > self.max_len:
            raise problem(f"{value!r} is longer than {self.max_len} characters")
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: Callable) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: Callable) -> dict:
        result = handler(schema)
        if self.pattern is not None:
            result["pattern"] = "^(?:" + self.pattern.pattern.removeprefix("^").removesuffix("$") + ")$"
        if self.max_len is not None:
            result["maxLength"] = self.max_len
        return result


@dataclass(frozen=True)
class Range:
    """An integer in low..high; `hint` says why."""

    low: int
    high: int
    hint: str = ""

    def check(self, value: int) -> int:
        if not self.low <= value <= self.high:
            raise problem(f"{value!r} is out of range {self.low}..{self.high}{self.hint}")
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


def distinct(what: str) -> AfterValidator:
    """Items listed more than once are an error."""
    def check(items: tuple) -> tuple:
        duplicates = sorted({item for item in items if items.count(item) > 1})
        if duplicates:
            raise problem(f"{', '.join(duplicates)} listed more than once")
        return items
    return AfterValidator(check)


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
