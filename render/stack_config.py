"""The flat config map the Pulumi CLI hands the program for one stack, built offline (no CLI, no backend).

What the CLI does, and so what this does:
* `Pulumi.yaml` `config:`: a project key (`namespace`) becomes `<project>:namespace` with its `default`; a key of
  another namespace (`pulumi:disable-default-providers`) keeps its name and its `value`; a shorthand scalar is
  the default/value itself.
* `Pulumi.<stack>.yaml` (in `stackConfigDir` if the project sets it) overrides those; the legacy
  `<ns>:config:<key>` form means `<ns>:<key>`.
* Every value reaches the program as a string: strings as they are, everything else JSON-encoded.

Secrets are never decrypted here: each `secure:` leaf is replaced by a placeholder (see `placeholder()`), and
the key holding it is listed in `secret_keys`, as the CLI lists the keys it decrypted.
"""
from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILE = "Pulumi.yaml"
STACK_FILE = re.compile(r"Pulumi\.(?P<stack>.*)\.yaml", re.DOTALL)  # fullmatch; the name is checked below
# Pulumi's own rule for stack names (pulumi/pulumi pkg/backend/httpstate/backend.go: stackNameAndProjectRegexp
# `^[A-Za-z0-9_.-]{1,100}$` in validateStackName; docs: "Stack names may only contain alphanumeric characters,
# hyphens, underscores, or periods"). Names reach file paths, messages and the tool review's Markdown.
STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
STACK_NAME_RULE = "letters, digits, '-', '_' and '.', 1 to 100 of them"
SECRETS_KEY = "secrets"  # the project key whose object holds the named secrets (design contract)


class StackConfigError(Exception):
    """A project or stack file that cannot be used; the message names the file or the stack."""


@dataclass(frozen=True)
class StackConfig:
    """The config of one stack as the program sees it, and where each secret was replaced by a placeholder."""

    project: str
    stack: str
    values: dict[str, str]
    secret_keys: tuple[str, ...] = ()
    # "<ns>:<key>[.<sub>...]" -> why it holds a placeholder, e.g. "secure: in Pulumi.prod.yaml"
    placeholders: dict[str, str] = field(default_factory=dict)


def placeholder(path: str) -> str:
    """The stand-in for the secret at config path `path`: obviously not real, long enough for any length check."""
    return "render-placeholder-" + re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")


MAX_FILE_BYTES = 1024 * 1024      # a project or stack file is a few KiB; refuse anything near this
MAX_EXPANDED_NODES = 100_000       # YAML nodes after expanding every alias (an alias bomb reaches billions)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last; the Pulumi CLI's YAML
    parser rejects them) and documents whose aliases expand past MAX_EXPANDED_NODES nodes."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) or key is None:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes `root` has once every alias is expanded; shared nodes are sized once (memoized), so this is
    linear in the document even when the expansion is exponential. Stops counting past the limit."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # on the current path: meeting one again means a recursive alias
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = [child for pair in node.value for child in pair] if isinstance(node, yaml.MappingNode) else \
            list(node.value) if isinstance(node, yaml.SequenceNode) else []
        if children_done:
            open_nodes.discard(id(node))
            sizes[id(node)] = min(1 + sum(sizes[id(child)] for child in children), MAX_EXPANDED_NODES + 1)
            continue
        if id(node) in open_nodes:
            return MAX_EXPANDED_NODES + 1  # a recursive alias expands without end
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _decode(path: Path, data: bytes, what: str) -> str:
    """The file's text: UTF-8 only (the Pulumi CLI reads UTF-8), with a message that says what it is instead."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(data) >= 2 and b"\x00" in data[:2]):
        raise StackConfigError(f"the {what} {path} is UTF-16 (or UTF-32) encoded: save it as UTF-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StackConfigError(f"the {what} {path} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                               f"{exc.start}): save it as UTF-8") from None


def _read_yaml(path: Path, what: str) -> Any:
    """Parse a project or stack file: bounded in size and alias expansion, UTF-8, no duplicate keys."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise StackConfigError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise StackConfigError(f"the {what} {path} is larger than {MAX_FILE_BYTES} bytes")
    text = _decode(path, data, what)
    try:
        loader = _StrictLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            if _expanded_size(node) > MAX_EXPANDED_NODES:
                raise StackConfigError(f"the {what} {path} is refused: its YAML aliases expand past "
                                       f"{MAX_EXPANDED_NODES} nodes")
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise StackConfigError(f"the {what} {path} is not valid YAML: {exc}") from None


def load_project(project_dir: Path = REPO_ROOT) -> dict:
    """The parsed `Pulumi.yaml` of `project_dir` (it must have a `name`)."""
    path = Path(project_dir) / PROJECT_FILE
    project = _read_yaml(path, "project file")
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        raise StackConfigError(f"the project file {path} has no 'name'")
    return project


def program_path(project_dir: Path) -> Path:
    """The program the Pulumi CLI runs for the project in `project_dir`: its `__main__.py`. A project file that sets
    `main:` to anything but the project directory itself is refused (StackConfigError naming the file): the CLI
    would run another program than the one render and the tool review run."""
    project = load_project(Path(project_dir))
    main = project.get("main")
    if main is not None and not (isinstance(main, str) and not main.startswith("/")
                                 and posixpath.normpath(main) == "."):
        raise StackConfigError(f"the project file {Path(project_dir) / PROJECT_FILE} sets 'main: {main!r}': render "
                               "and the review run the project directory's __main__.py only, so they refuse a "
                               "project whose program lives elsewhere (remove 'main')")
    return Path(project_dir) / "__main__.py"


def stack_dir(project_dir: Path, project: Mapping[str, Any]) -> Path:
    """Where the `Pulumi.<stack>.yaml` files are: the project's `stackConfigDir`, else the project directory.

    StackConfigError for a `stackConfigDir` outside the project directory (absolute, or `..` leading out): render
    and the tool review read stack files of a pull request's checkout, never files beside it."""
    configured = project.get("stackConfigDir") or "."
    if not isinstance(configured, str):
        raise StackConfigError(f"stackConfigDir {configured!r} in {PROJECT_FILE} is not a path")
    root = Path(project_dir).resolve()
    directory = (root / configured).resolve()
    if Path(configured).is_absolute() or (directory != root and root not in directory.parents):
        raise StackConfigError(f"stackConfigDir {configured!r} in {PROJECT_FILE} leads outside the project "
                               "directory: keep stack files inside it")
    return Path(project_dir) / configured


def check_stack_name(stack: str) -> None:
    """StackConfigError unless `stack` is a Pulumi stack name (STACK_NAME)."""
    if not isinstance(stack, str) or not STACK_NAME.fullmatch(stack):
        raise StackConfigError(f"{stack!r} is not a Pulumi stack name ({STACK_NAME_RULE})")


def list_stacks(project_dir: Path = REPO_ROOT) -> list[str]:
    """The names of the stacks that have a `Pulumi.<stack>.yaml`, sorted; StackConfigError naming a file whose
    stack name is not a Pulumi stack name."""
    directory = stack_dir(project_dir, load_project(project_dir))
    stacks = []
    for path in directory.glob("Pulumi.*.yaml"):
        match = STACK_FILE.fullmatch(path.name)
        if match is None or not STACK_NAME.fullmatch(match["stack"]):
            raise StackConfigError(f"the stack file {path.name!r} in {directory}: its stack name is not a Pulumi "
                                   f"stack name ({STACK_NAME_RULE}): rename the file")
        stacks.append(match["stack"])
    return sorted(stacks)


def _project_values(project: Mapping[str, Any]) -> dict[str, Any]:
    name = project["name"]
    config = project.get("config") or {}
    if not isinstance(config, dict):
        raise StackConfigError(f"{PROJECT_FILE}: 'config' must be a mapping, got {config!r}")
    values: dict[str, Any] = {}
    for key, spec in config.items():
        full_key = key if ":" in key else f"{name}:{key}"
        if isinstance(spec, dict):
            if "value" in spec:
                values[full_key] = spec["value"]
            elif "default" in spec:
                values[full_key] = spec["default"]
        else:
            values[full_key] = spec
    return values


def _stack_key(key: Any, stack_file: Path) -> str:
    parts = str(key).split(":")
    if len(parts) == 3 and parts[1] == "config":
        parts = [parts[0], parts[2]]
    if len(parts) != 2 or not all(parts):
        raise StackConfigError(f"{stack_file.name}: config key {key!r} must be '<namespace>:<name>' "
                               "(e.g. mcp-federation:namespace)")
    return ":".join(parts)


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and list(value) == ["secure"] and isinstance(value["secure"], str)


def _replace_secure(value: Any, path: str, found: list[str]) -> Any:
    """`value` with every `secure:` leaf replaced by its placeholder; the leaves' paths are added to `found`."""
    if _is_secure(value):
        found.append(path)
        return placeholder(path)
    if isinstance(value, dict):
        return {key: _replace_secure(item, f"{path}.{key}", found) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_secure(item, f"{path}[{index}]", found) for index, item in enumerate(value)]
    return value


def config_string(value: Any) -> str:
    """How the CLI hands a config value to the program: strings as they are, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def stack_config(stack: str, project_dir: Path = REPO_ROOT,
                 overrides: Mapping[str, Any] | None = None) -> StackConfig:
    """The config the CLI would pass for `stack`: Pulumi.yaml defaults/values, then Pulumi.<stack>.yaml, then
    `overrides` (flat `<ns>:<key>` -> value, for tests). Raises StackConfigError naming the file or the stack."""
    check_stack_name(stack)
    project = load_project(project_dir)
    stack_file = stack_dir(project_dir, project) / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        existing = ", ".join(list_stacks(project_dir)) or "none"
        raise StackConfigError(f"unknown stack {stack!r}: there is no {stack_file.name} "
                               f"in {stack_file.parent} (existing stacks: {existing})")
    document = _read_yaml(stack_file, "stack file") or {}
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise StackConfigError(f"the stack file {stack_file} must be a mapping with a 'config' mapping")
    merged = _project_values(project)
    placeholders: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        full_key = _stack_key(key, stack_file)
        found: list[str] = []
        merged[full_key] = _replace_secure(value, full_key, found)
        if found:
            secret_keys.append(full_key)
            placeholders.update({path: f"secure: value in {stack_file.name}" for path in found})
    merged.update(overrides or {})
    return StackConfig(project=project["name"], stack=stack,
                       values={key: config_string(value) for key, value in merged.items()},
                       secret_keys=tuple(sorted(secret_keys)), placeholders=placeholders)


def with_secret_placeholders(config: StackConfig, names: list[str], reason: str) -> StackConfig:
    """`config` plus a placeholder for each named secret under `<project>:secrets` (e.g. secrets the program
    reported as referenced but unset)."""
    key = f"{config.project}:{SECRETS_KEY}"
    current = json.loads(config.values[key]) if key in config.values else {}
    if not isinstance(current, dict):
        raise StackConfigError(f"{key} must be an object of named secrets, got {current!r}")
    placeholders = dict(config.placeholders)
    for name in names:
        path = f"{key}.{name}"
        current[name] = placeholder(path)
        placeholders[path] = reason
    return StackConfig(project=config.project, stack=config.stack,
                       values={**config.values, key: json.dumps(current)},
                       secret_keys=tuple(sorted({*config.secret_keys, key})), placeholders=placeholders)
