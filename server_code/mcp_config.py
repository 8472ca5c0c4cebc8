"""Run-time settings of a mock MCP server, read from PORT and the MCP_* environment variables."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

MIB = 1024 * 1024


class ServerEnvError(ValueError):
    """A bad environment value; the message names the variable."""


@dataclass(frozen=True)
class Config:
    """Run-time settings, read from the environment by `Config.from_env`."""

    port: int = 8080
    session_key: bytes | None = None          # None: a random key per process
    allowed_origins: frozenset = frozenset()   # browser Origins allowed to call /mcp (besides same-origin loopback)
    max_body_bytes: int = 1 * MIB
    page_size: int = 100
    session_ttl_seconds: int = 24 * 3600
    read_timeout_seconds: float = 30.0         # no progress for this long: the connection is closed
    request_timeout_seconds: float = 30.0      # a request must arrive completely within this long (drip-feeding)
    memory_budget_bytes: int = 32 * MIB        # every connection's buffers together (the container limit is 128Mi)
    busy_poll_microseconds: int = 0            # 0: sleep in select right after every turn (see mcp_loop)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Config":
        """Parse PORT and the MCP_* variables; raise ServerEnvError naming the first bad one."""
        key = env.get("MCP_SESSION_KEY")
        if key is not None and len(key) < 16:
            raise ServerEnvError("MCP_SESSION_KEY must be at least 16 characters long "
                              f"(got {len(key)}); leave it unset for a random per-process key")
        origins = env.get("MCP_ALLOWED_ORIGINS", "")
        config = cls(
            port=_int_env(env, "PORT", cls.port, 1, 65535),
            session_key=key.encode() if key is not None else None,
            allowed_origins=frozenset(o.strip().rstrip("/") for o in origins.split(",") if o.strip()),
            max_body_bytes=_int_env(env, "MCP_MAX_BODY_BYTES", cls.max_body_bytes, 64, 1 << 30),
            page_size=_int_env(env, "MCP_PAGE_SIZE", cls.page_size, 1, 10_000),
            session_ttl_seconds=_int_env(env, "MCP_SESSION_TTL_SECONDS", cls.session_ttl_seconds,
                                         1, 365 * 24 * 3600),
            read_timeout_seconds=_float_env(env, "MCP_READ_TIMEOUT_SECONDS", cls.read_timeout_seconds,
                                            0.1, 3600.0),
            request_timeout_seconds=_float_env(env, "MCP_REQUEST_TIMEOUT_SECONDS", cls.request_timeout_seconds,
                                               0.1, 3600.0),
            memory_budget_bytes=_int_env(env, "MCP_MEMORY_BUDGET_BYTES", cls.memory_budget_bytes, MIB, 1 << 34),
            busy_poll_microseconds=_int_env(env, "MCP_BUSY_POLL_MICROSECONDS", cls.busy_poll_microseconds,
                                            0, 10_000),
        )
        if config.memory_budget_bytes < 2 * config.max_body_bytes:
            raise ServerEnvError(f"MCP_MEMORY_BUDGET_BYTES ({config.memory_budget_bytes}) must be at least twice "
                              f"MCP_MAX_BODY_BYTES ({config.max_body_bytes}), else one large request fills it")
        return config


def _int_env(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ServerEnvError(f"{name} must be an integer between {low} and {high}, got {raw!r}") from None
    if not low <= value <= high:
        raise ServerEnvError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _float_env(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ServerEnvError(f"{name} must be a number of seconds between {low} and {high}, got {raw!r}") from None
    if not low <= value <= high:  # also rejects nan
        raise ServerEnvError(f"{name} must be between {low} and {high} seconds, got {raw.strip()}")
    return value
