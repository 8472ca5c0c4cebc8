"""Server catalogs: TOOLS/PROBE read from the server files, isolated imports, and clear errors for bad files."""
from __future__ import annotations

import importlib.util
import sys
import textwrap

import pytest

from components.catalog import CatalogError, image_catalog, load_catalog, server_catalog
from components.config import CODE_DIR, parse_config

SERVERS = ("fetch", "github", "slack")


def _tools_by_direct_import(name: str):
    """Independent reading of a server file's TOOLS/PROBE (plain import with server_code/ on sys.path)."""
    sys.path.insert(0, str(CODE_DIR))
    try:
        spec = importlib.util.spec_from_file_location(f"_direct_{name}", CODE_DIR / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.TOOLS, module.PROBE
    finally:
        sys.path.remove(str(CODE_DIR))


@pytest.mark.parametrize("name", SERVERS)
def test_catalog_is_the_server_files_tools_and_probe(name):
    tools, probe = _tools_by_direct_import(name)
    catalog = load_catalog(CODE_DIR, f"{name}.py")
    assert catalog.tool_names == [tool.name for tool in tools]
    assert catalog.dangerous_tool_names == [tool.name for tool in tools if tool.dangerous]
    assert [info.read_only for info in catalog.tools] == [tool.read_only for tool in tools]  # the readOnlyHint
    assert (catalog.probe_tool, catalog.probe_arguments) == (probe["tool"], probe.get("arguments", {}))
    assert catalog.probe_tool in catalog.tool_names


def test_loading_leaks_nothing_into_sys_path_or_sys_modules():
    core_before = sys.modules.get("mcp_core")  # other test modules may have imported it themselves
    path_before, modules_before = list(sys.path), set(sys.modules)
    for name in SERVERS:
        load_catalog(CODE_DIR, f"{name}.py")
    assert sys.path == path_before
    assert sys.modules.get("mcp_core") is core_before
    leaked = {m for m in set(sys.modules) - modules_before if m.startswith("_mcp_catalog") or m in SERVERS}
    assert leaked == set()


def _code_dir(tmp_path, name, body, core=None):
    code_dir = tmp_path / name
    code_dir.mkdir()
    if core is None:  # the real core: mcp_core.py and the modules it imports
        for module in CODE_DIR.glob("mcp_*.py"):
            (code_dir / module.name).write_text(module.read_text())
    else:
        (code_dir / "mcp_core.py").write_text(core)
    (code_dir / "srv.py").write_text(textwrap.dedent(body))
    return code_dir


def test_each_code_dir_uses_its_own_core(tmp_path):
    body = """
        import mcp_core
        TOOLS = [mcp_core.T(mcp_core.NAME)]
        PROBE = {"tool": mcp_core.NAME, "arguments": {}}
    """
    core = "class T:\n    def __init__(self, name):\n        self.name = name\nNAME = {!r}\n"
    first = load_catalog(_code_dir(tmp_path, "a", body, core.format("alpha")), "srv.py")
    second = load_catalog(_code_dir(tmp_path, "b", body, core.format("beta")), "srv.py")
    assert (first.tool_names, second.tool_names) == (["alpha"], ["beta"])


BAD_FILES = {
    "no PROBE": ("import mcp_core\nTOOLS = [mcp_core.Tool('a', 'd', {'type': 'object'}, lambda a: {})]\n",
                 "PROBE must be {'tool': <name>, 'arguments': {...}}, got None"),
    "probe tool not in TOOLS": (
        "import mcp_core\nTOOLS = [mcp_core.Tool('a', 'd', {'type': 'object'}, lambda a: {})]\n"
        "PROBE = {'tool': 'b', 'arguments': {}}\n", "PROBE tool 'b' is not in TOOLS (a)"),
    "probe arguments not an object": (
        "import mcp_core\nTOOLS = [mcp_core.Tool('a', 'd', {'type': 'object'}, lambda a: {})]\n"
        "PROBE = {'tool': 'a', 'arguments': [1]}\n", "PROBE arguments must be an object, got [1]"),
    "empty TOOLS": ("TOOLS = []\nPROBE = {'tool': 'a'}\n", "TOOLS must be a non-empty list of tools, got []"),
    "duplicate tool names": (
        "import mcp_core\nT = mcp_core.Tool('a', 'd', {'type': 'object'}, lambda a: {})\nTOOLS = [T, T]\n"
        "PROBE = {'tool': 'a'}\n", "TOOLS names a more than once"),
    "a tool name outside the MCP rule": (
        "import mcp_core\nTOOLS = [mcp_core.Tool('wipe_\\U0001f5d1', 'd', {'type': 'object'}, lambda a: {})]\n"
        "PROBE = {'tool': 'wipe_\\U0001f5d1'}\n",
        "TOOLS[0] name 'wipe_\U0001f5d1' is not an MCP tool name (1 to 128 characters, each an ASCII letter, digit, "
        "'_', '-' or '.'"),
    "a tool name too long": (
        "import mcp_core\nTOOLS = [mcp_core.Tool('a' * 129, 'd', {'type': 'object'}, lambda a: {})]\n"
        "PROBE = {'tool': 'a'}\n", f"TOOLS[0] name {'a' * 129!r} is not an MCP tool name"),
    "import error": ("import no_such_module_here\n",
                     "import failed: ModuleNotFoundError: No module named 'no_such_module_here'"),
}


@pytest.mark.parametrize("body, expected", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_server_file_is_rejected_naming_the_file(tmp_path, body, expected):
    code_dir = _code_dir(tmp_path, "code", body)
    with pytest.raises(CatalogError) as caught:
        load_catalog(code_dir, "srv.py")
    assert str(caught.value).startswith(f"{code_dir / 'srv.py'}: ")
    assert expected in str(caught.value)


def test_missing_server_file(tmp_path):
    with pytest.raises(CatalogError, match="no such server file"):
        load_catalog(tmp_path, "nope.py")


# --- image servers ---------------------------------------------------------------------------------------

def image_server(name="tools", probe=None, dangerous=()):
    """A parsed `type: image` server config (also used by tests/test_plan.py)."""
    entry = {"name": name, "type": "image", "image": "example.com/tools:1.0.0",
             "expectedTools": ["echo", "get_repo", "wipe"], "dangerousTools": list(dangerous)}
    if probe:
        entry["probe"] = {"tool": probe, "arguments": {"text": "hi"}}
    (server,) = parse_config({"servers": [entry]}).servers
    return server


def test_image_catalog_comes_from_the_config():
    server = image_server(probe="echo", dangerous=["wipe"])
    catalog = server_catalog(CODE_DIR, server)
    assert catalog == image_catalog(server)
    assert catalog.tool_names == ["echo", "get_repo", "wipe"]
    assert catalog.dangerous_tool_names == ["wipe"]
    assert [info.read_only for info in catalog.tools] == [None, None, None]  # an image's tools: unknown
    assert (catalog.probe_tool, catalog.probe_arguments, catalog.tools_match) == ("echo", {"text": "hi"}, "atLeast")
    assert catalog.source == "server 'tools' (image example.com/tools:1.0.0)"
    code = parse_config({"servers": [{"name": "github"}]}).servers[0]
    assert server_catalog(CODE_DIR, code) == load_catalog(CODE_DIR, "github.py")
    with pytest.raises(ValueError, match="server 'github' is type code, not image"):
        image_catalog(code)


def test_a_catalog_is_read_once_per_content_and_again_after_a_change(tmp_path):
    imports = tmp_path / "imports.log"
    body = f"""
        import mcp_core
        with open({str(imports)!r}, "a") as log:
            log.write("imported\\n")
        TOOLS = [mcp_core.Tool("alpha", "d", {{"type": "object"}}, lambda a: {{}})]
        PROBE = {{"tool": "alpha", "arguments": {{"x": [1]}}}}
    """
    code_dir = _code_dir(tmp_path, "code", body)
    first, second = load_catalog(code_dir, "srv.py"), load_catalog(code_dir, "srv.py")
    assert imports.read_text().count("imported") == 1 and first == second
    first.probe_arguments["x"].append(2)  # callers get their own copy of the mutable probe arguments
    assert load_catalog(code_dir, "srv.py").probe_arguments == {"x": [1]}
    (code_dir / "srv.py").write_text((code_dir / "srv.py").read_text().replace('"alpha"', '"beta"'))
    assert load_catalog(code_dir, "srv.py").tool_names == ["beta"]
    assert imports.read_text().count("imported") == 2

