"""The MCP tool-name rule, shared by every place a tool name enters: server files (catalog.py), the stack config's
tool keys (config/servers.py `ToolName`) and the dangerous-tools annotation (policy/dangerous_tools.py).

MCP specification 2025-11-25, server/tools "Tool names" (modelcontextprotocol/modelcontextprotocol
docs/specification/2025-11-25/server/tools.mdx): 1 to 128 characters; only ASCII letters, digits, `_`, `-` and `.`;
no spaces, commas or other special characters. Names outside the rule also break the `<target>/<tool>` annotation
the policy pack reads (policy/dangerous_tools.py) and are the ones a CEL literal must escape.
"""
from __future__ import annotations

import re
from typing import Optional

TOOL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")  # use fullmatch
TOOL_NAME_RULE = "1 to 128 characters, each an ASCII letter, digit, '_', '-' or '.': the MCP 2025-11-25 rule"


def tool_name_problem(name: object) -> Optional[str]:
    """Why `name` is not an MCP tool name (a message quoting it), or None if it is one."""
    if isinstance(name, str) and TOOL_NAME.fullmatch(name):
        return None
    return f"{name!r} is not an MCP tool name ({TOOL_NAME_RULE})"
