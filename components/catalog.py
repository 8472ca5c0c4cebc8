"""The tool catalog of a server: the one source of truth for what a route offers (components/plan.py turns it into
the verification plan), and for a code server the files of its ConfigMap.

A code server's catalog is its file's `TOOLS` and `PROBE`; an image server's comes from its config
(`expectedTools`, `dangerousTools`, `probe`), since an image cannot be inspected before it runs.

`load_catalog` imports `server_code/<file>` by path under a unique module name, with `server_code/` on `sys.path`
only for the duration of the import, and removes every module it imported from there (`mcp_core`, the server
file) again, so nothing leaks into the program and two code directories never mix.
"""
from __future__ import annotations

import copy
import hashlib
import importlib.util
import sys
from types import MappingProxyType
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Optional

from .config import CORE_FILE, ServerConfig
from .tool_names import tool_name_problem

TOOLS_MATCH_EXACT = "exact"      # the route lists exactly the expected tools (a server file's TOOLS)
TOOLS_MATCH_AT_LEAST = "atLeast"  # the route lists at least them (an image may offer more than its config states)
CORE_MODULES_GLOB = "mcp_*.py"  # the shared core: mcp_core.py and the modules it imports (server_code/mcp_core.py)


class CatalogError(ValueError):
    """A server's tools are unusable (a bad TOOLS/PROBE, an unknown denied tool); the message names the source."""


@dataclass(frozen=True)
class ToolInfo:
    """One tool a server offers."""

    name: str
    description: str
    dangerous: bool
    read_only: Optional[bool] = None  # the readOnlyHint a code server lists; None: unknown (image servers)


@dataclass(frozen=True)
class ServerCatalog:
    """The tools of one server and the call (if any) the verifier makes to prove the route works.

    `source` names where the tools come from (the server file, or the image) for error messages; `tools_match`
    says whether the server offers exactly these tools or possibly more (image servers)."""

    source: str
    tools: tuple[ToolInfo, ...]
    probe_tool: Optional[str]
    probe_arguments: dict = field(default_factory=dict)
    tools_match: str = TOOLS_MATCH_EXACT
    files: Mapping[str, str] = field(default_factory=dict)  # a code server's ConfigMap: shared core + its file

    @property
    def tool_names(self) -> list[str]:
        """Tool names in catalog order."""
        return [tool.name for tool in self.tools]

    @property
    def dangerous_tool_names(self) -> list[str]:
        """Tools marked dangerous (candidates for the security policy's deny list)."""
        return [tool.name for tool in self.tools if tool.dangerous]


def _import_isolated(code_dir: Path, path: Path) -> Any:
    """Execute `path` as a fresh module with `code_dir` importable; leave sys.path and sys.modules as they were
    (modules imported from `code_dir` are dropped again; same-named modules loaded before are put back)."""
    module_name = f"_mcp_catalog_{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise CatalogError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    # Modules of the same names loaded from elsewhere (e.g. another `mcp_core`) must not shadow this dir's files.
    local_names = {p.stem for p in code_dir.glob("*.py")}
    shadowed = {name: sys.modules.pop(name) for name in local_names if name in sys.modules}
    saved_path = list(sys.path)
    modules_before = set(sys.modules)
    sys.path.insert(0, str(code_dir))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # any import-time failure of user code is a catalog error naming the file
        raise CatalogError(f"{path}: import failed: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.path[:] = saved_path
        root = code_dir.resolve()
        for name in set(sys.modules) - modules_before:
            origin = getattr(sys.modules[name], "__file__", None)
            if name == module_name or (origin and root in Path(origin).resolve().parents):
                del sys.modules[name]
        sys.modules.update(shadowed)
    return module


def _tool(path: Path, index: int, tool: Any) -> ToolInfo:
    name = getattr(tool, "name", None)
    if not isinstance(name, str) or not name:
        raise CatalogError(f"{path}: TOOLS[{index}] has no string .name (got {name!r})")
    problem = tool_name_problem(name)  # the policy's CEL rules and the dangerous-tools annotation rely on it
    if problem:
        raise CatalogError(f"{path}: TOOLS[{index}] name {problem}")
    read_only = getattr(tool, "read_only", None)
    return ToolInfo(name=name, description=str(getattr(tool, "description", "")),
                    dangerous=bool(getattr(tool, "dangerous", False)),
                    read_only=read_only if isinstance(read_only, bool) else None)


# Catalogs already read, by the content of the code directory's Python files and the file name: many servers
# share a file, and importing (compiling) it is most of what a catalog costs (bench/README.md).
_CATALOGS: dict[tuple[str, str], ServerCatalog] = {}


def _code_fingerprint(code_dir: Path) -> str:
    digest = hashlib.sha256()
    for source in sorted(code_dir.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()


def load_catalog(code_dir: Path, code_file: str) -> ServerCatalog:
    """Read TOOLS and PROBE from `code_dir/code_file` and check they are consistent (cached while the code
    directory's files are unchanged; a failed read is never cached)."""
    path = Path(code_dir) / code_file
    if not path.is_file():
        raise CatalogError(f"{path}: no such server file")
    key = (_code_fingerprint(Path(code_dir)), code_file)
    if key not in _CATALOGS:
        _CATALOGS[key] = _read_catalog(Path(code_dir), path, code_file)
    cached = _CATALOGS[key]
    return replace(cached, probe_arguments=copy.deepcopy(cached.probe_arguments))


def _read_catalog(code_dir: Path, path: Path, code_file: str) -> ServerCatalog:
    module = _import_isolated(code_dir, path)
    tools_attr = getattr(module, "TOOLS", None)
    if not isinstance(tools_attr, (list, tuple)) or not tools_attr:
        raise CatalogError(f"{path}: TOOLS must be a non-empty list of tools, got {tools_attr!r}")
    tools = tuple(_tool(path, i, t) for i, t in enumerate(tools_attr))
    names = [t.name for t in tools]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CatalogError(f"{path}: TOOLS names {', '.join(duplicates)} more than once")
    probe = getattr(module, "PROBE", None)
    if not isinstance(probe, dict) or set(probe) - {"tool", "arguments"} or "tool" not in probe:
        raise CatalogError(f"{path}: PROBE must be {{'tool': <name>, 'arguments': {{...}}}}, got {probe!r}")
    if probe["tool"] not in names:
        raise CatalogError(f"{path}: PROBE tool {probe['tool']!r} is not in TOOLS ({', '.join(names)})")
    arguments = probe.get("arguments", {})
    if not isinstance(arguments, dict):
        raise CatalogError(f"{path}: PROBE arguments must be an object, got {arguments!r}")
    return ServerCatalog(source=code_file, tools=tools, probe_tool=probe["tool"], probe_arguments=dict(arguments),
                         files=MappingProxyType(_server_files(code_dir, code_file)))


def _server_files(code_dir: Path, code_file: str) -> dict[str, str]:
    """The files of a code server's ConfigMap: every module of the shared core (always CORE_FILE) and its file."""
    core = sorted({CORE_FILE, *(path.name for path in code_dir.glob(CORE_MODULES_GLOB))})
    return {name: (code_dir / name).read_text(encoding="utf-8") for name in (*core, code_file)}


def image_catalog(server: ServerConfig) -> ServerCatalog:
    """The catalog an image server's config states: expectedTools (at least these), dangerousTools, probe."""
    spec = server.image_server
    if spec is None:
        raise ValueError(f"server {server.name!r} is type {server.type}, not image")
    # Each name is an MCP tool name: the config checks expectedTools (config/servers.py `ToolName`).
    tools = tuple(ToolInfo(name=tool, description="", dangerous=tool in spec.dangerous_tools)
                  for tool in spec.expected_tools)
    return ServerCatalog(source=f"server {server.name!r} (image {server.image})", tools=tools,
                         probe_tool=spec.probe_tool, probe_arguments=dict(spec.probe_arguments),
                         tools_match=TOOLS_MATCH_AT_LEAST)


def server_catalog(code_dir: Path, server: ServerConfig) -> ServerCatalog:
    """The catalog of any server: its file's TOOLS/PROBE (type code), or its config (type image)."""
    if server.image_server is not None:
        return image_catalog(server)
    assert server.code is not None  # a code server always has its file (config guarantees it)
    return load_catalog(code_dir, server.code)


