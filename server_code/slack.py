"""Mock Slack MCP server: a fixed set of channels, deterministic synthetic messages, nothing stored."""
from __future__ import annotations

import mcp_core
from mcp_core import Tool, ToolError, stable_int

NAME = "slack"
VERSION = "1.0.0"

CHANNELS = ("general", "random", "engineering", "alerts", "support")
_CHANNEL = {"type": "string", "minLength": 1, "maxLength": 80,
            "description": "Channel name, with or without a leading #, e.g. general"}
_LIMIT = {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}


def _object(properties: dict, required: tuple = ()) -> dict:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


def _channel(args: dict) -> str:
    name = args["channel"].removeprefix("#")
    if name not in CHANNELS:
        raise ToolError(f"channel_not_found: no channel named {args['channel']!r} (have: {', '.join(CHANNELS)})")
    return name


def _channel_info(name: str) -> dict:
    return {"id": f"C{CHANNELS.index(name) + 1:04d}", "name": name,
            "members": 3 + stable_int("members", name, upper=200)}


def list_channels(args: dict) -> dict:
    """The first `limit` channels."""
    return {"channels": [_channel_info(c) for c in CHANNELS[:int(args.get("limit", 10))]]}


def send_message(args: dict) -> dict:
    """Pretend to post a message; the timestamp is derived from the arguments, so it is repeatable."""
    channel = _channel(args)
    ts = f"{1700000000 + stable_int(channel, args['text'], upper=10**8)}.000100"
    return {"ok": True, "channel": _channel_info(channel)["id"], "ts": ts, "text": args["text"]}


def get_messages(args: dict) -> dict:
    """The latest `limit` synthetic messages of a channel, newest first."""
    channel = _channel(args)
    messages = [{"ts": f"{1700000000 + 60 * (100 - i)}.000100", "user": f"U{stable_int(channel, i, upper=90) + 10:04d}",
                 "text": f"Mock message {100 - i} in #{channel}"} for i in range(int(args.get("limit", 10)))]
    return {"channel": _channel_info(channel)["id"], "messages": messages}


def delete_channel(args: dict) -> dict:
    """Pretend to delete a channel (the mock deletes nothing)."""
    return {"ok": True, "deleted": _channel_info(_channel(args))["id"]}


TOOLS = (
    Tool("list_channels", "List the workspace's channels.",
         _object({"limit": _LIMIT}), list_channels, read_only=True),
    Tool("send_message", "Post a message to a channel.",
         _object({"channel": _CHANNEL, "text": {"type": "string", "minLength": 1, "maxLength": 40000}},
                 ("channel", "text")), send_message),
    Tool("get_messages", "Read the latest messages of a channel, newest first.",
         _object({"channel": _CHANNEL, "limit": _LIMIT}, ("channel",)), get_messages, read_only=True),
    Tool("delete_channel", "DANGEROUS: permanently delete a channel and its whole message history.",
         _object({"channel": _CHANNEL}, ("channel",)), delete_channel, dangerous=True),
)

PROBE = {"tool": "list_channels", "arguments": {}}

if __name__ == "__main__":
    raise SystemExit(mcp_core.run(NAME, VERSION, TOOLS))
