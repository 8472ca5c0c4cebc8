"""Validate rendered Kubernetes objects the way an API server would, without a cluster.

* Custom resources: the served version's ``openAPIV3Schema`` from the real CRD files, as JSON Schema with
  unknown fields rejected (strict field validation), CRD ``default`` values applied first (as the API server
  does before validating), ``x-kubernetes-list-type`` map/set uniqueness, and EVERY
  ``x-kubernetes-validations`` CEL rule evaluated with cel-python at its location, with the Kubernetes CEL
  extension functions that the CRDs use. A rule that cannot be compiled is reported as an error on every
  object of that kind (see ``uncompilable_rules()``). Transition rules (those using ``oldSelf``) are compiled
  but not evaluated: objects are validated as on create, where Kubernetes skips them too.
* Built-in kinds: kubernetes-validate's strict schemas for the pinned ``K8S_VERSION``.

Objects recorded under Pulumi mocks carry floats for every int and secret markers: ``validate_object`` turns them
into plain values first, with the renderer's ``render.values`` (``unwrap_secrets``, ``normalize_numbers``, and
``is_secret``, re-exported here for the tests).

API: ``crds_dir()``, ``validate_object(obj) -> list[str]``, ``assert_valid(obj)``, ``normalize_numbers(x)``,
``uncompilable_rules()``, ``rule_count()``.
"""
from __future__ import annotations

import copy
import functools
import json
import os
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import celpy
import celpy.celtypes as ct
import jsonschema
import yaml
from kubernetes_validate import utils as kv_utils
from referencing import Registry, Resource

from render.values import is_secret, normalize_numbers, unwrap_secrets  # noqa: F401 (re-exported)

K8S_VERSION = "1.33.0"  # Kubernetes version whose built-in schemas (kubernetes-validate, strict) are used
CRDS_ENV = "MCP_FEDERATION_CRDS_DIR"
REPO_ROOT = Path(__file__).resolve().parents[1]
# The CRD files the project's objects need (file names as upstream publishes them).
REQUIRED_CRD_FILES = (
    "agentgateway.dev_agentgatewaybackends.yaml",
    "agentgateway.dev_agentgatewayparameters.yaml",
    "agentgateway.dev_agentgatewaypolicies.yaml",
    "gateway.networking.k8s.io_gateways.yaml",
    "gateway.networking.k8s.io_httproutes.yaml",
    "gateway.networking.k8s.io_referencegrants.yaml",
)
BUILTIN_KINDS = ("Namespace", "ConfigMap", "Deployment", "Service", "Secret", "NetworkPolicy",
                 "PodDisruptionBudget")


class CrdsNotFoundError(RuntimeError):
    """No directory with the CRD files was found."""


class SchemaValidationError(AssertionError):
    """An object does not validate; the message lists every error."""


# --- locating and loading the CRDs ---------------------------------------------------------------------

def _crd_candidates() -> list[tuple[str, Path]]:
    env = os.environ.get(CRDS_ENV)
    if env:
        return [(f"${CRDS_ENV}", Path(env))]
    return [("../shared/crds next to the repository", REPO_ROOT.parent / "shared" / "crds"),
            ("<repo>/.crds (written by `make crds`)", REPO_ROOT / ".crds")]


def crds_dir() -> Path:
    """The directory holding the CRD YAML files: $MCP_FEDERATION_CRDS_DIR, else ../shared/crds, else .crds.

    Raises CrdsNotFoundError (never skips) when none of them has all of REQUIRED_CRD_FILES.
    """
    tried = []
    for label, path in _crd_candidates():
        missing = [name for name in REQUIRED_CRD_FILES if not (path / name).is_file()]
        if not missing:
            return path
        tried.append(f"{label} = {path} (missing {', '.join(missing)})")
    raise CrdsNotFoundError("CRD files not found; run `make crds` (downloads the pinned upstream CRDs into "
                            f".crds/) or set {CRDS_ENV} to a directory holding them. Tried: " + "; ".join(tried))


def _iter_crds(directory: Path) -> Iterator[dict]:
    for path in sorted(directory.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            for document in yaml.safe_load_all(handle):
                if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                    yield document


# --- CEL: Kubernetes extension functions -----------------------------------------------------------------

_CEL_KEYWORDS = {"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function",
                 "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"}
_ESCAPABLE = re.compile(r"^[a-zA-Z_.\-/][a-zA-Z0-9_.\-/]*$")


def escape_property(name: str) -> str:
    """A schema property name as CEL sees it (Kubernetes escaping: ``namespace`` -> ``__namespace__``)."""
    if name in _CEL_KEYWORDS:
        return f"__{name}__"
    if not _ESCAPABLE.match(name):
        return name
    return (name.replace("__", "__underscores__").replace(".", "__dot__")
            .replace("-", "__dash__").replace("/", "__slash__"))


_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": Fraction(1, 10**9), "us": Fraction(1, 10**6), "µs": Fraction(1, 10**6),
                   "ms": Fraction(1, 1000), "s": Fraction(1), "m": Fraction(60), "h": Fraction(3600)}


def cel_duration(text: Any) -> ct.DurationType:
    """CEL ``duration()`` with Go's duration syntax (``1h30m``, ``500ms``); cel-python 0.5 misreads ``ms``."""
    if isinstance(text, ct.DurationType):
        return text
    raw = str(text)
    sign, body = (-1, raw[1:]) if raw.startswith("-") else (1, raw.lstrip("+"))
    if body == "0":
        return ct.DurationType(0)
    total, position = Fraction(0), 0
    for match in _GO_DURATION.finditer(body):
        if match.start() != position:
            break
        total += Fraction(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if position != len(body) or not body:
        raise ValueError(f"invalid duration {raw!r}")
    nanos = sign * int(total * 10**9)
    return ct.DurationType(nanos // 10**9, nanos % 10**9)


_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
_QUANTITY_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
                    "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": 1,
                    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}


@dataclass(frozen=True)
class Quantity:
    """A Kubernetes resource quantity (``quantity('1Gi')``), held as an exact fraction."""

    value: Fraction

    @classmethod
    def parse(cls, text: Any) -> "Quantity":
        match = _QUANTITY.match(str(text))
        if not match:
            raise ValueError(f"invalid quantity {str(text)!r}")
        suffix = match.group(2) or ""
        factor = Fraction(10) ** int(suffix[1:]) if suffix[:1] in ("e", "E") else Fraction(_QUANTITY_SUFFIX[suffix])
        return cls(Fraction(match.group(1)) * factor)


def _string_index_of(text: Any, sub: Any, offset: Any = 0) -> ct.IntType:
    return ct.IntType(str(text).find(str(sub), int(offset)))


def _string_last_index_of(text: Any, sub: Any, offset: Any = None) -> ct.IntType:
    if offset is None:
        return ct.IntType(str(text).rfind(str(sub)))
    return ct.IntType(str(text).rfind(str(sub), 0, int(offset) + len(str(sub))))


def _string_split(text: Any, separator: Any, limit: Any = -1) -> ct.ListType:
    limit = int(limit)
    if limit == 0:
        return ct.ListType([])
    parts = str(text).split(str(separator), limit - 1 if limit > 0 else -1)
    return ct.ListType([ct.StringType(part) for part in parts])


def _quantity_compare(left: Quantity, right: Quantity) -> int:
    return (left.value > right.value) - (left.value < right.value)


# Kubernetes CEL library functions used by the CRDs (strings, quantity) and the Go-compatible duration.
K8S_CEL_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "indexOf": _string_index_of,
    "lastIndexOf": _string_last_index_of,
    "split": _string_split,
    "duration": cel_duration,
    "quantity": Quantity.parse,
    "isQuantity": lambda text: ct.BoolType(_QUANTITY.match(str(text)) is not None),
    "isLessThan": lambda a, b: ct.BoolType(_quantity_compare(a, b) < 0),
    "isGreaterThan": lambda a, b: ct.BoolType(_quantity_compare(a, b) > 0),
    "compareTo": lambda a, b: ct.IntType(_quantity_compare(a, b)),
}
_CEL_MACROS = {"has", "all", "exists", "exists_one", "map", "filter"}


@functools.lru_cache(maxsize=1)
def _cel_environment() -> tuple[celpy.Environment, frozenset]:
    env = celpy.Environment()
    builtin = celpy.evaluation.base_functions
    return env, frozenset(builtin) | frozenset(K8S_CEL_FUNCTIONS) | _CEL_MACROS


def _called_functions(tree: Any) -> set[str]:
    """Names of the functions a CEL parse tree calls (global ``f(x)`` and member ``x.f(y)`` forms)."""
    names = set()
    for node in tree.iter_subtrees():
        if node.data == "ident_arg":
            names.add(str(node.children[0]))
        elif node.data == "member_dot_arg":
            names.add(str(node.children[1]))
    return names


@dataclass
class CelRule:
    """One x-kubernetes-validations entry, compiled (or with the reason it could not be)."""

    kind: str
    location: str
    rule: str
    message: str
    program: Optional[Any] = None
    compile_error: Optional[str] = None

    @property
    def is_transition_rule(self) -> bool:
        return re.search(r"\boldSelf\b", self.rule) is not None


def compile_rule(kind: str, location: str, entry: dict) -> CelRule:
    """Compile a CEL rule with the Kubernetes functions; a failure is kept on the rule, never dropped."""
    rule = entry.get("rule", "")
    message = entry.get("message") or f"failed rule: {rule}"
    compiled = CelRule(kind, location, rule, message)
    env, known = _cel_environment()
    try:
        tree = env.compile(rule)
        unknown = _called_functions(tree) - known
        if unknown:
            raise ValueError(f"undeclared function(s) {', '.join(sorted(unknown))}")
        if "messageExpression" in entry:
            raise ValueError("messageExpression is not supported by this validator")
        compiled.program = env.program(tree, functions=K8S_CEL_FUNCTIONS)
    except Exception as exc:  # noqa: BLE001 - any compile failure is reported, with its cause
        compiled.compile_error = f"{type(exc).__name__}: {exc}"
    return compiled


def to_cel(value: Any, schema: dict) -> Any:
    """A JSON value as a CEL value, escaping property names of schema-declared objects as Kubernetes does."""
    if isinstance(value, bool):
        return ct.BoolType(value)
    if isinstance(value, int):
        return ct.IntType(value)
    if isinstance(value, float):
        return ct.DoubleType(value)
    if isinstance(value, str):
        return ct.StringType(value)
    if isinstance(value, list):
        return ct.ListType([to_cel(item, schema.get("items") or {}) for item in value])
    if isinstance(value, dict):
        properties = schema.get("properties")
        if properties is not None:
            return ct.MapType({ct.StringType(escape_property(key)): to_cel(item, properties.get(key) or {})
                               for key, item in value.items()})
        extra = schema.get("additionalProperties")
        extra = extra if isinstance(extra, dict) else {}
        return ct.MapType({ct.StringType(key): to_cel(item, extra) for key, item in value.items()})
    return value


# --- structural schema -> JSON Schema ------------------------------------------------------------------------

_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("int32")
def _is_int32(value: Any) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@_FORMATS.checks("int64")
def _is_int64(value: Any) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


_K8S_KEYS = ("x-kubernetes-validations", "x-kubernetes-list-type", "x-kubernetes-list-map-keys",
             "x-kubernetes-map-type", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string",
             "x-kubernetes-embedded-resource", "nullable", "description")


def to_json_schema(schema: dict) -> dict:
    """Convert a structural OpenAPI v3 schema to JSON Schema that rejects unknown fields (strict mode)."""
    out = {key: value for key, value in schema.items() if key not in _K8S_KEYS}
    if "properties" in schema:
        out["properties"] = {name: to_json_schema(sub) for name, sub in schema["properties"].items()}
    for key in ("items", "not"):
        if isinstance(schema.get(key), dict):
            out[key] = to_json_schema(schema[key])
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = to_json_schema(schema["additionalProperties"])
    for key in ("anyOf", "allOf", "oneOf"):
        if key in schema:
            out[key] = [to_json_schema(sub) for sub in schema[key]]
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    preserve = schema.get("x-kubernetes-preserve-unknown-fields")
    if schema.get("type") == "object" and not preserve and "additionalProperties" not in schema:
        out["additionalProperties"] = False
    if schema.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    if schema.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


@functools.lru_cache(maxsize=None)
def _builtin_definitions() -> Resource:
    contents = kv_utils.schema_contents(f"kubernetes-json-schema/v{K8S_VERSION}-local-strict/_definitions.json",
                                        K8S_VERSION)
    return Resource.from_contents(contents)


_OBJECT_META_REF = {"$ref": "https://kubernetes.io/api/_definitions.json#/$defs/"
                            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}


@dataclass
class CrdVersion:
    """One served version of a CRD, ready to validate against."""

    kind: str
    api_version: str
    schema: dict
    validator: jsonschema.protocols.Validator
    rules: dict = field(default_factory=dict)  # id(schema node) -> [CelRule]


def _compile_rules(kind: str, schema: dict, location: str, table: dict) -> None:
    rules = [compile_rule(kind, location or "<root>", entry) for entry in schema.get("x-kubernetes-validations", [])]
    if rules:
        table[id(schema)] = rules
    for name, sub in (schema.get("properties") or {}).items():
        _compile_rules(kind, sub, f"{location}.{name}" if location else name, table)
    if isinstance(schema.get("additionalProperties"), dict):
        _compile_rules(kind, schema["additionalProperties"], f"{location}[*]", table)
    if isinstance(schema.get("items"), dict):
        _compile_rules(kind, schema["items"], f"{location}[]", table)


def _build_version(crd: dict, version: dict) -> CrdVersion:
    kind = crd["spec"]["names"]["kind"]
    schema = version["schema"]["openAPIV3Schema"]
    json_schema = to_json_schema(schema)
    json_schema["properties"]["metadata"] = _OBJECT_META_REF
    registry = _builtin_definitions() @ Registry()
    validator = jsonschema.Draft202012Validator(json_schema, registry=registry, format_checker=_FORMATS)
    compiled = CrdVersion(kind, f"{crd['spec']['group']}/{version['name']}", schema, validator)
    _compile_rules(kind, schema, "", compiled.rules)
    return compiled


@functools.lru_cache(maxsize=None)
def load_crds(directory: Optional[Path] = None) -> dict[tuple[str, str], CrdVersion]:
    """Every served version of every CRD in the directory, keyed by (apiVersion, kind)."""
    versions = {}
    for crd in _iter_crds(directory or crds_dir()):
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                built = _build_version(crd, version)
                versions[(built.api_version, built.kind)] = built
    return versions


def _all_rules(directory: Optional[Path] = None) -> list[CelRule]:
    return [rule for version in load_crds(directory).values() for rules in version.rules.values() for rule in rules]


def rule_count(directory: Optional[Path] = None) -> int:
    """Number of CEL rule occurrences across the served versions of the CRDs."""
    return len(_all_rules(directory))


def uncompilable_rules(directory: Optional[Path] = None) -> list[CelRule]:
    """The CEL rules that could not be compiled (each is reported as an error when its kind is validated)."""
    return [rule for rule in _all_rules(directory) if rule.compile_error]


# --- validation ------------------------------------------------------------------------------------------

def apply_defaults(value: Any, schema: dict) -> None:
    """Fill in the schema's ``default`` values in place, as the API server does before validating."""
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name, sub in properties.items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
        for name, item in value.items():
            if name in properties:
                apply_defaults(item, properties[name])
            elif isinstance(schema.get("additionalProperties"), dict):
                apply_defaults(item, schema["additionalProperties"])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"])


def _format_path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<root>"


def _check_list_keys(schema: dict, value: list, path: list) -> Iterator[str]:
    if schema.get("x-kubernetes-list-type") != "map":
        return
    keys = schema.get("x-kubernetes-list-map-keys") or []
    seen = set()
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            continue
        key = tuple(json.dumps(item.get(name), sort_keys=True) for name in keys)
        if key in seen:
            shown = ", ".join(f"{name}={item.get(name)!r}" for name in keys)
            yield f"{_format_path([*path, index])}: duplicate entry with {shown} (list-type map)"
        seen.add(key)


def _evaluate_rules(version: CrdVersion, schema: dict, value: Any, path: list) -> Iterator[str]:
    for rule in version.rules.get(id(schema), ()):
        where = _format_path(path)
        if rule.compile_error:
            yield f"{where}: CEL rule could not be compiled ({rule.compile_error}): {rule.rule}"
            continue
        if rule.is_transition_rule:
            continue  # needs oldSelf: Kubernetes evaluates transition rules on update only
        try:
            result = rule.program.evaluate({"self": to_cel(value, schema)})
        except Exception as exc:  # noqa: BLE001 - an evaluation error fails the rule, as in Kubernetes
            yield f"{where}: {rule.message} (CEL rule failed to evaluate: {exc}; rule: {rule.rule})"
            continue
        if isinstance(result, Exception):
            yield f"{where}: {rule.message} (CEL rule failed to evaluate: {result}; rule: {rule.rule})"
        elif result is not True and result != ct.BoolType(True):
            yield f"{where}: {rule.message}"


def _walk(version: CrdVersion, schema: dict, value: Any, path: list) -> Iterator[str]:
    """CEL rules and list-map keys at every location of the value, depth first."""
    if value is None:
        return
    yield from _evaluate_rules(version, schema, value, path)
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            if name in properties:
                yield from _walk(version, properties[name], item, [*path, name])
            elif isinstance(extra, dict):
                yield from _walk(version, extra, item, [*path, name])
    elif isinstance(value, list):
        yield from _check_list_keys(schema, value, path)
        if isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                yield from _walk(version, schema["items"], item, [*path, index])


def _validate_custom(version: CrdVersion, obj: dict) -> list[str]:
    obj = copy.deepcopy(obj)
    apply_defaults(obj, version.schema)
    errors = [f"{_format_path(error.absolute_path)}: {error.message}"
              for error in sorted(version.validator.iter_errors(obj), key=lambda e: list(map(str, e.path)))]
    errors.extend(_walk(version, version.schema, obj, []))
    return errors


@functools.lru_cache(maxsize=None)
def _builtin_validator(kind: str, api_version: str) -> jsonschema.protocols.Validator:
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema_dir = f"kubernetes-json-schema/v{K8S_VERSION}-local-strict"
    schema = kv_utils.schema_contents(f"{schema_dir}/{kind.lower()}-{group_version}.json", K8S_VERSION)
    registry = _builtin_definitions() @ Registry()
    return jsonschema.Draft202012Validator(schema, registry=registry, format_checker=_FORMATS)


def _validate_builtin(obj: dict) -> list[str]:
    try:
        validator = _builtin_validator(obj["kind"], obj["apiVersion"])
    except FileNotFoundError:
        return [f"<root>: no Kubernetes {K8S_VERSION} schema for {obj['apiVersion']} {obj['kind']}"]
    return [f"{_format_path(error.absolute_path)}: {error.message}"
            for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.path)))]


def validate_object(obj: dict) -> list[str]:
    """Every schema/CEL error of one Kubernetes object (a dict with apiVersion and kind), as
    ``"<Kind> <name>: <field path>: <message>"`` strings; empty when it validates."""
    obj = normalize_numbers(unwrap_secrets(obj))
    if not isinstance(obj, dict) or not obj.get("apiVersion") or not obj.get("kind"):
        return [f"<root>: not a Kubernetes object (apiVersion and kind are required): {obj!r:.200}"]
    kind, api_version = obj["kind"], obj["apiVersion"]
    name = (obj.get("metadata") or {}).get("name", "<unnamed>")
    version = load_crds().get((api_version, kind))
    if version is not None:
        errors = _validate_custom(version, obj)
    elif kind in BUILTIN_KINDS:
        errors = _validate_builtin(obj)
    else:
        errors = [f"<root>: unknown kind {api_version} {kind} (no CRD in {crds_dir()} and not a checked "
                  f"built-in kind: {', '.join(BUILTIN_KINDS)})"]
    return [f"{kind} {name}: {error}" for error in errors]


def assert_valid(obj: dict) -> None:
    """Raise SchemaValidationError listing every error of the object, if any."""
    errors = validate_object(obj)
    if errors:
        raise SchemaValidationError(f"{len(errors)} validation error(s):\n  " + "\n  ".join(errors))

