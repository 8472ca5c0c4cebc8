"""Mock fetch MCP server: returns deterministic synthetic page content for a URL; never touches the network."""
from __future__ import annotations

import mcp_core
from mcp_core import Tool, stable_int

NAME = "fetch"
VERSION = "1.0.0"


def fetch(args: dict) -> dict:
    """Synthetic text for `url`, cut to `max_length` characters."""
    url, max_length = args["url"], int(args.get("max_length", 5000))
    paragraphs = 3 + stable_int("paragraphs", url, upper=6)
    text = "\n\n".join(f"Paragraph {i + 1} of the mock page at {url}. " * (2 + i % 3) for i in range(paragraphs))
    return {"url": url, "status": 200, "content_type": "text/plain", "content": text[:max_length],
            "length": len(text), "truncated": len(text) > max_length}


TOOLS = (
    Tool("fetch", "Fetch a URL and return its content as text (mock: synthetic content, no network access).",
         {"type": "object",
          "properties": {"url": {"type": "string", "pattern": "^https?://[^\\s]+$", "maxLength": 2048,
                                 "description": "http(s) URL to fetch"},
                         "max_length": {"type": "integer", "minimum": 1, "maximum": 1000000, "default": 5000,
                                        "description": "Maximum number of characters to return"}},
          "required": ["url"], "additionalProperties": False},
         fetch, read_only=True),
)

PROBE = {"tool": "fetch", "arguments": {"url": "https://example.com/"}}

if __name__ == "__main__":
    raise SystemExit(mcp_core.run(NAME, VERSION, TOOLS))
