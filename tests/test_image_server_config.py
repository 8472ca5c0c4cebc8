"""Config of image-based servers (`servers[i].type: image`): parsed values, defaults, and one named error per rule."""
from __future__ import annotations

import pytest

from components.config import ConfigError, ImageServerConfig, parse_config

# An example image server used throughout the tests. The shape follows github/github-mcp-server's HTTP mode as
# read in its source (`github-mcp-server http --port N`, stateless Streamable HTTP mounted at `/`, the GitHub
# token taken from each request's Authorization header); the tag and tool list are illustrative, not verified.
IMAGE = "ghcr.io/github/github-mcp-server:v0.20.0"


def image_server(**overrides) -> dict:
    """A valid type image server entry, with keys replaced/added by `overrides` (None removes a key)."""
    entry = {"name": "gh", "type": "image", "image": IMAGE, "port": 8082, "args": ["http", "--port", "8082"],
             "mcpPath": "/", "expectedTools": ["get_me", "search_repositories", "create_issue"],
             "dangerousTools": ["create_issue"], "probe": {"tool": "get_me"}}
    entry.update(overrides)
    return {key: value for key, value in entry.items() if value is not None}


def parse_one(entry: dict):
    (server,) = parse_config({"servers": [entry]}).servers
    return server


def test_image_server_is_parsed_with_its_own_settings():
    server = parse_one(image_server(command=["/server/github-mcp-server"], healthPath="/healthz", runAsUser=1000,
                                    probe={"tool": "search_repositories", "arguments": {"query": "mcp"}}))
    assert (server.type, server.name, server.path, server.code, server.image, server.port) == \
        ("image", "gh", "/mcp/gh", None, IMAGE, 8082)
    assert server.image_server == ImageServerConfig(
        command=("/server/github-mcp-server",), args=("http", "--port", "8082"), mcp_path="/",
        health_path="/healthz", expected_tools=("get_me", "search_repositories", "create_issue"),
        dangerous_tools=("create_issue",), probe_tool="search_repositories", probe_arguments={"query": "mcp"},
        run_as_user=1000)


def test_image_server_defaults():
    server = parse_one({"name": "tools", "type": "image", "image": "example.com/tools:1.2.3",
                        "expectedTools": ["echo"]})
    spec = server.image_server
    assert (server.path, server.port, server.replicas) == ("/mcp/tools", 8080, 1)
    assert (spec.command, spec.args, spec.mcp_path, spec.health_path) == (None, None, "/mcp", None)
    assert (spec.dangerous_tools, spec.probe_tool, spec.probe_arguments, spec.run_as_user) == ((), None, {}, None)


def test_code_servers_are_type_code_and_unchanged():
    config = parse_config({"servers": [{"name": "github"}, {"name": "slack", "type": "code"}]})
    assert [(s.type, s.code, s.image_server) for s in config.servers] == \
        [("code", "github.py", None), ("code", "slack.py", None)]


def test_code_and_image_servers_side_by_side():
    config = parse_config({"servers": [{"name": "github"}, image_server()]})
    assert [s.type for s in config.servers] == ["code", "image"]
    assert config.servers[1].image == IMAGE and config.servers[0].image == "python:3.11-slim"


# (server entry, the exact start of the one error it must produce). One case per rule.
BAD_IMAGE_SERVERS = {
    "unknown type": (image_server(type="docker"), "servers[0].type: 'docker' is not one of code, image"),
    "code on an image server": (image_server(code="github.py"),
                                "servers[0].code: 'github.py': only a type code server takes this key "
                                "(this one is type image)"),
    "image key on a code server": ({"name": "github", "mcpPath": "/x"},
                                   "servers[0].mcpPath: '/x': only a type image server takes this key "
                                   "(this one is type code)"),
    "image missing": (image_server(image=None), "servers[0].image: is required for type image"),
    "image unpinned": (image_server(image="ghcr.io/github/github-mcp-server:latest"),
                       "servers[0].image: 'ghcr.io/github/github-mcp-server:latest' is not a pinned image"),
    "command empty": (image_server(command=[]), "servers[0].command: [] is empty"),
    "command a string": (image_server(command="/bin/server http"),
                         "servers[0].command: '/bin/server http' is not a list of strings"),
    "args with a number": (image_server(args=["--port", 8082]),
                           "servers[0].args[1]: 8082 is not a string"),
    "mcpPath relative": (image_server(mcpPath="mcp"), "servers[0].mcpPath: 'mcp' is not an absolute URL path"),
    "healthPath with a space": (image_server(healthPath="/health z"),
                                "servers[0].healthPath: '/health z' is not an absolute URL path"),
    "runAsUser root": (image_server(runAsUser=0), "servers[0].runAsUser: 0 is out of range 1..2147483647 "
                                                  "(0 is root; the pods run as non-root)"),
    "expectedTools missing": (image_server(expectedTools=None, dangerousTools=None, probe=None),
                              "servers[0].expectedTools: is required for type image"),
    "expectedTools empty": (image_server(expectedTools=[], dangerousTools=None, probe=None),
                            "servers[0].expectedTools: [] is empty: list the tools the image offers"),
    "expectedTools twice": (image_server(expectedTools=["get_me", "get_me"], dangerousTools=None),
                            "servers[0].expectedTools: get_me listed more than once"),
    "expectedTools not names": (image_server(expectedTools=["get_me", ""], dangerousTools=None),
                                "servers[0].expectedTools[1]: '' is not an MCP tool name (1 to 128 characters"),
    "dangerousTools not expected": (image_server(dangerousTools=["delete_repo"]),
                                    "servers[0].dangerousTools: delete_repo not in expectedTools "
                                    "(get_me, search_repositories, create_issue)"),
    "probe tool not expected": (image_server(probe={"tool": "list_issues"}),
                                "servers[0].probe.tool: 'list_issues' is not in expectedTools"),
    "probe tool dangerous": (image_server(probe={"tool": "create_issue"}),
                             "servers[0].probe.tool: 'create_issue' is in dangerousTools"),
    "probe without tool": (image_server(probe={"arguments": {}}), "servers[0].probe.tool: is required"),
    "probe arguments a list": (image_server(probe={"tool": "get_me", "arguments": [1]}),
                               "servers[0].probe.arguments: [1] is not an object"),
    "probe typo": (image_server(probe={"tool": "get_me", "argument": {}}),
                   "servers[0].probe.argument: unknown key (did you mean 'arguments'?)"),
    "probe not an object": (image_server(probe="get_me"), "servers[0].probe: 'get_me' is not an object"),
    "typo in an image key": (image_server(healthpath="/h"),
                             "servers[0].healthpath: unknown key (did you mean 'healthPath'?)"),
}


@pytest.mark.parametrize("entry, expected", BAD_IMAGE_SERVERS.values(), ids=BAD_IMAGE_SERVERS.keys())
def test_bad_image_server_is_rejected_with_the_key_and_value(entry, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config({"servers": [entry]})
    assert len(caught.value.errors) == 1, caught.value.errors  # one mistake, one error
    assert caught.value.errors[0].startswith(expected), caught.value.errors


def test_all_image_server_errors_are_reported_together():
    bad = image_server(image=None, mcpPath="mcp", probe={"tool": "nope"}, runAsUser=-1)
    with pytest.raises(ConfigError) as caught:
        parse_config({"servers": [{"name": "github", "healthPath": "/h"}, bad]})
    assert [e.split(":", 1)[0] for e in caught.value.errors] == [
        "servers[0].healthPath", "servers[1].image", "servers[1].mcpPath", "servers[1].runAsUser",
        "servers[1].probe.tool"]
