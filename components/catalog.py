"""The tool catalog of a server file (its `TOOLS` and `PROBE`): the one source of truth for what a route offers.

`load_catalog` imports `server_code/<file>` by path under a unique module name, with `server_code/` on `sys.path`
only for the duration of the import, and removes every module it imported from there (`mcp_core`, the server
file) again, so nothing leaks into the program and two code directories never mix.
"""
from __future__ import annotations

import hashlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class CatalogError(ValueError):
    """A server file does not define a usable TOOLS/PROBE; the message names the file."""


@dataclass(frozen=True)
class ToolInfo:
    """One tool a server offers."""

    name: str
    description: str
    dangerous: bool


@dataclass(frozen=True)
class ServerCatalog:
    """The tools of one server file and the call the verifier makes to prove the route works."""

    code_file: str
    tools: tuple[ToolInfo, ...]
    probe_tool: str
    probe_arguments: dict = field(default_factory=dict)

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
    return ToolInfo(name=name, description=str(getattr(tool, "description", "")),
                    dangerous=bool(getattr(tool, "dangerous", False)))


def load_catalog(code_dir: Path, code_file: str) -> ServerCatalog:
    """Read TOOLS and PROBE from `code_dir/code_file` and check they are consistent."""
    path = Path(code_dir) / code_file
    if not path.is_file():
        raise CatalogError(f"{path}: no such server file")
    module = _import_isolated(Path(code_dir), path)
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
    return ServerCatalog(code_file=code_file, tools=tools, probe_tool=probe["tool"], probe_arguments=dict(arguments))


def verification_entry(name: str, path: str, catalog: ServerCatalog, denied: tuple[str, ...] = ()) -> dict:
    """One `verificationPlan` item: what the post-deploy verifier must see through the gateway at `path`."""
    unknown = sorted(set(denied) - set(catalog.tool_names))
    if unknown:
        raise CatalogError(f"{catalog.code_file}: denied tool(s) {', '.join(unknown)} are not in TOOLS")
    if catalog.probe_tool in denied:
        raise CatalogError(f"{catalog.code_file}: the PROBE tool {catalog.probe_tool!r} cannot be denied")
    return {"name": name, "path": path,
            "expectedTools": [t for t in catalog.tool_names if t not in denied],
            "deniedTools": list(denied),
            "probe": {"tool": catalog.probe_tool, "arguments": dict(catalog.probe_arguments)}}
