"""How pulumi-kubernetes decides that a `pulumi.com/waitFor` annotation is satisfied, re-implemented from its
source (pulumi/pulumi-kubernetes, provider/pkg/...) so tests can run our annotations against sample statuses.

- `metadata/overrides.go` `ReadyCondition`: the value is a JSON array of expressions (all must hold), or one.
- `jsonpath/jsonpath.go` `Parse`: strip `jsonpath=`; split on `=` but keep `==`; more than one `=` left is an
  error; the path must be wrapped in `{...}` (first `}` ends it) and gets a `$` prefix; RFC 9535
  (github.com/theory/jsonpath; here the jsonpath-rfc9535 package). `Matches`: nothing selected is "not yet";
  only the FIRST selected value counts; a non-primitive with a value to compare is an error; the comparison is
  `fmt.Sprint(value) == expected`.
- `await/condition/kubectl.go` `checkCondition`: `.status.conditions` only; the first condition of the type
  decides; not satisfied while its `observedGeneration` < `metadata.generation`; status compared
  case-insensitively.
"""
from __future__ import annotations

import json
import re
from typing import Any

import jsonpath_rfc9535

_BRACKETS = re.compile(r"\{\s*(.*?)\s*\}")
_PLACEHOLDER = "\ufffd"


class AwaitError(ValueError):
    """The provider would reject the annotation (pulumi up fails with this message)."""


def _go_sprint(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _jsonpath(expression: str, obj: dict) -> bool:
    raw = expression.removeprefix("jsonpath=")
    parts = raw.replace("==", _PLACEHOLDER).split("=")
    if len(parts) > 2:
        raise AwaitError(f"format should be {{.path}}=value or {{.path}}, got {raw!r}")
    path = parts[0].replace(_PLACEHOLDER, "==")
    expected = parts[1].replace(_PLACEHOLDER, "==") if len(parts) == 2 else ""
    if len(parts) == 2 and not expected:
        raise AwaitError(f"{path}= requires a value")
    match = _BRACKETS.search(path)
    if match is None:
        raise AwaitError(f"{path} should be wrapped in brackets {{ ... }}")
    query = match.group(1) if match.group(1).startswith("$") else "$" + match.group(1)
    try:
        values = [node.value for node in jsonpath_rfc9535.find(query, obj)]
    except jsonpath_rfc9535.JSONPathError as exc:
        raise AwaitError(f"parsing {path!r}: {exc}") from exc
    if not values:
        return False
    first = values[0]
    if isinstance(first, (list, dict)):
        if not expected:
            return True
        raise AwaitError(f"{path!r} has a non-primitive value ({first!r})")
    return not expected or _go_sprint(first) == expected


def _condition(expression: str, obj: dict) -> bool:
    spec = expression.removeprefix("condition=")
    condition_type, _, status = spec.partition("=")
    status = status or "True"
    generation = obj.get("metadata", {}).get("generation")
    for condition in obj.get("status", {}).get("conditions", []):
        if condition.get("type", "").lower() != condition_type.lower() or "status" not in condition:
            continue
        observed = condition.get("observedGeneration")
        if generation is not None and observed is not None and observed < generation:
            return False
        return condition["status"].lower() == status.lower()
    return False


def expressions(annotation: str) -> list[str]:
    """The expressions of an annotation value, as ReadyCondition reads them."""
    try:
        values = json.loads(annotation)
    except ValueError:
        values = None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        values = [annotation]
    if not values:
        raise AwaitError("at least one condition must be specified")
    return values


def satisfied(annotation: str, obj: dict) -> bool:
    """Whether `pulumi up` would consider `obj` ready under the waitFor `annotation`."""
    results = []
    for expression in expressions(annotation):
        if expression.startswith("jsonpath="):
            results.append(_jsonpath(expression, obj))
        elif expression.startswith("condition="):
            results.append(_condition(expression, obj))
        else:
            raise AwaitError(f'expected a "jsonpath=" or "condition=" prefix, got {expression!r}')
    return all(results)
