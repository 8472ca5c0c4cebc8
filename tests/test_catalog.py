"""Server catalogs: TOOLS/PROBE read from the server files, isolated imports, and clear errors for bad files."""
from __future__ import annotations

import importlib.util
import sys
import textwrap

import pytest

from components.catalog import CatalogError, image_catalog, load_catalog, server_catalog
from components.plan import AggregateTarget, aggregate_verification_entry, names_are_prefixed, verification_entry
from components.config import CODE_DIR, ConfigError, parse_config
from verify.plan import parse_plan

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


def test_verification_entry_from_the_catalog():
    catalog = load_catalog(CODE_DIR, "github.py")
    assert verification_entry("github", "/mcp/github", catalog) == {
        "name": "github", "path": "/mcp/github", "expectedTools": catalog.tool_names, "deniedTools": [],
        "probe": {"tool": catalog.probe_tool, "arguments": catalog.probe_arguments}}
    denied = verification_entry("github", "/mcp/github", catalog, denied=("delete_repo",))
    assert denied["deniedTools"] == ["delete_repo"]
    assert "delete_repo" not in denied["expectedTools"] and denied["expectedTools"]


def test_verification_entry_rejects_unknown_or_probe_denials():
    catalog = load_catalog(CODE_DIR, "github.py")
    with pytest.raises(CatalogError, match="^github.py: denied tool\\(s\\) nope are not in its tools$"):
        verification_entry("github", "/mcp/github", catalog, denied=("nope",))
    with pytest.raises(CatalogError, match="^github.py: the probe tool 'get_repo' cannot be denied$"):
        verification_entry("github", "/mcp/github", catalog, denied=("get_repo",))


# --- image servers and the aggregated route ---------------------------------------------------------------

def _image_server(name="tools", probe=None, dangerous=()):
    entry = {"name": name, "type": "image", "image": "example.com/tools:1.0.0",
             "expectedTools": ["echo", "get_repo", "wipe"], "dangerousTools": list(dangerous)}
    if probe:
        entry["probe"] = {"tool": probe, "arguments": {"text": "hi"}}
    (server,) = parse_config({"servers": [entry]}).servers
    return server


def test_image_catalog_comes_from_the_config():
    server = _image_server(probe="echo", dangerous=["wipe"])
    catalog = server_catalog(CODE_DIR, server)
    assert catalog == image_catalog(server)
    assert catalog.tool_names == ["echo", "get_repo", "wipe"]
    assert catalog.dangerous_tool_names == ["wipe"]
    assert (catalog.probe_tool, catalog.probe_arguments, catalog.tools_match) == ("echo", {"text": "hi"}, "atLeast")
    assert catalog.source == "server 'tools' (image example.com/tools:1.0.0)"
    code = parse_config({"servers": [{"name": "github"}]}).servers[0]
    assert server_catalog(CODE_DIR, code) == load_catalog(CODE_DIR, "github.py")
    with pytest.raises(ValueError, match="server 'github' is type code, not image"):
        image_catalog(code)


def test_image_server_plan_entry_has_at_least_and_an_optional_probe():
    with_probe = verification_entry("tools", "/mcp/tools", image_catalog(_image_server(probe="echo")), ("wipe",))
    assert with_probe == {"name": "tools", "path": "/mcp/tools", "expectedTools": ["echo", "get_repo"],
                          "deniedTools": ["wipe"], "probe": {"tool": "echo", "arguments": {"text": "hi"}},
                          "toolsMatch": "atLeast"}
    without = verification_entry("tools", "/mcp/tools", image_catalog(_image_server()))
    assert "probe" not in without and without["toolsMatch"] == "atLeast"
    assert [r.probe_tool for r in parse_plan([with_probe, {**without, "name": "t2", "path": "/t2"}])] == ["echo", None]


def _aggregate(prefix_mode="Conditional", servers=("fetch", "github", "slack")):
    raw = {"servers": [{"name": name} for name in servers],
           "aggregate": {"enabled": True, "prefixMode": prefix_mode}}
    return parse_config(raw).aggregate


def _target(name, denied=()):
    return AggregateTarget(name, load_catalog(CODE_DIR, f"{name}.py"), tuple(denied))


def test_prefixing_follows_agentgateway():
    assert [names_are_prefixed(mode, count) for mode, count in [
        ("Conditional", 1), ("Conditional", 2), ("Always", 1), ("Always", 3), ("Never", 1), ("Never", 3)]] == \
        [False, True, True, True, False, False]


def test_aggregated_entry_with_several_targets_is_prefixed():
    github, slack = load_catalog(CODE_DIR, "github.py"), load_catalog(CODE_DIR, "slack.py")
    entry = aggregate_verification_entry(_aggregate(servers=("github", "slack")),
                                         [_target("github", ["delete_repo"]), _target("slack")])
    assert entry == {
        "name": "mcp-all", "path": "/mcp", "targets": ["github", "slack"],
        "expectedTools": [f"github_{t}" for t in github.tool_names if t != "delete_repo"]
        + [f"slack_{t}" for t in slack.tool_names],
        "deniedTools": ["github_delete_repo"],
        "probe": {"tool": f"github_{github.probe_tool}", "arguments": github.probe_arguments}}
    (route,) = parse_plan([entry])  # the verifier's own parser accepts it
    assert route.targets == ("github", "slack") and route.probe_tool == f"github_{github.probe_tool}"


def test_aggregated_entry_with_one_target_keeps_plain_names_unless_always():
    github = load_catalog(CODE_DIR, "github.py")
    plain = aggregate_verification_entry(_aggregate(servers=("github",)), [_target("github")])
    assert "targets" not in plain and plain["expectedTools"] == github.tool_names
    always = aggregate_verification_entry(_aggregate("Always", servers=("github",)), [_target("github")])
    assert always["targets"] == ["github"] and always["expectedTools"] == [f"github_{t}" for t in github.tool_names]
    parse_plan([plain, {**always, "name": "x", "path": "/x"}])


def test_never_prefix_needs_unique_tool_names():
    unique = aggregate_verification_entry(_aggregate("Never", servers=("github", "slack")),
                                          [_target("github"), _target("slack")])
    assert "targets" not in unique and "get_repo" in unique["expectedTools"]
    twin = AggregateTarget("github2", load_catalog(CODE_DIR, "github.py"))
    with pytest.raises(ConfigError) as caught:
        aggregate_verification_entry(_aggregate("Never", servers=("github", "slack")), [_target("github"), twin])
    (error,) = caught.value.errors
    assert error.startswith("aggregate.prefixMode: 'Never' leaves tool names unprefixed, but get_repo "
                            "(github, github2);")


def test_aggregated_entry_with_an_image_target_is_at_least_and_takes_the_first_probe():
    image = AggregateTarget("tools", image_catalog(_image_server(probe="echo")))
    no_probe = AggregateTarget("bare", image_catalog(_image_server(name="bare")))
    entry = aggregate_verification_entry(_aggregate(servers=("fetch", "github")), [no_probe, image])
    assert entry["toolsMatch"] == "atLeast" and entry["probe"]["tool"] == "tools_echo"
    assert entry["targets"] == ["bare", "tools"]
    only_bare = aggregate_verification_entry(_aggregate(servers=("fetch",)), [no_probe])
    assert "probe" not in only_bare


def test_aggregated_entry_rejects_unknown_denials():
    with pytest.raises(CatalogError, match="denied tool\\(s\\) nope are not in its tools"):
        aggregate_verification_entry(_aggregate(), [_target("github", ["nope"]), _target("slack")])


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
