"""The official MCP SDK server (`mcp` 2.3.0 `MCPServer`, streamable HTTP, stateful) serving server_code/github.py's catalog.

Benchmark peer only. The tools are built from github.py's `TOOLS` (names, descriptions, annotations, handlers),
so the catalog is not copied; each becomes a function whose signature the SDK turns into its input schema.
JSON replies (`json_response=True`) like the mock; `SDK_JSON_RESPONSE=0` switches to the SDK's default SSE replies.
`GET /healthz` answers 200 so tests/server_process.py start_server can wait for it.

Run: PORT=8080 python bench/sdk_server.py
"""
from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError as SdkToolError
from mcp.types import ToolAnnotations
from starlette.requests import Request
from starlette.responses import PlainTextResponse

SERVER_CODE = Path(__file__).resolve().parent.parent / "server_code"
sys.path.insert(0, str(SERVER_CODE))
import github  # noqa: E402  (server_code/github.py, the catalog both servers serve)
from mcp_core import Tool, ToolError  # noqa: E402

_PY_TYPES = {"string": str, "integer": int, "number": float, "boolean": bool, "array": list[str], "object": dict}


def sdk_function(tool: Tool):
    """A function with one keyword parameter per schema property that calls the mock tool's handler."""
    schema = tool.input_schema
    required = set(schema.get("required", ()))
    parameters = []
    for name, spec in schema["properties"].items():
        annotation = _PY_TYPES[spec.get("type", "string")]
        default = inspect.Parameter.empty if name in required else spec.get("default")
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=annotation if name in required else annotation | None))

    def call(**arguments: Any) -> dict:
        try:
            return tool.handler({k: v for k, v in arguments.items() if v is not None})
        except ToolError as exc:
            raise SdkToolError(str(exc)) from exc  # the SDK turns it into an isError result with this text

    call.__signature__ = inspect.Signature(parameters, return_annotation=dict)
    call.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": dict}
    call.__name__ = tool.name
    return call


def build_server() -> MCPServer:
    """MCPServer with every tool of github.TOOLS registered."""
    server = MCPServer(github.NAME, version=github.VERSION, log_level="WARNING")
    for tool in github.TOOLS:
        server.add_tool(sdk_function(tool), name=tool.name, description=tool.description,
                        annotations=ToolAnnotations(readOnlyHint=tool.read_only, destructiveHint=tool.dangerous))

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return server


if __name__ == "__main__":
    build_server().run("streamable-http", host="127.0.0.1", port=int(os.environ.get("PORT", "8080")),
                       streamable_http_path="/mcp", json_response=os.environ.get("SDK_JSON_RESPONSE", "1") != "0",
                       stateless_http=False)
