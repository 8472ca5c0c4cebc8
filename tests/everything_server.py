"""The official MCP reference server (@modelcontextprotocol/server-everything, pinned in tests/everything/) as a
process, started the way the dev stack's container starts it: `streamableHttp` mode, port from `PORT`, MCP at /mcp
(the package's dist/transports/streamableHttp.js). Installed by `make everything-deps` (a prerequisite of `make test`).
Missing Node or a missing install is an error, never a skip."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.server_process import REPO_ROOT, ServerProcess, free_port

PACKAGE_DIR = REPO_ROOT / "tests" / "everything"
ENTRY = PACKAGE_DIR / "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
START_TIMEOUT = 30.0


def node() -> str:
    """The node binary; an AssertionError (a failing test) when it or the pinned install is missing."""
    binary = shutil.which("node")
    assert binary, "node is not on PATH: the tests need Node >= 20 and npm (see `make everything-deps`)"
    assert ENTRY.is_file(), f"{ENTRY} is missing: run `make everything-deps` (make test does) to install the pinned server"
    return binary


def start_everything(log_dir: Path, timeout: float = START_TIMEOUT) -> ServerProcess:
    """Start server-everything on a free port and wait until it accepts connections (it has no health path)."""
    port = free_port()
    log_path = log_dir / f"everything-{port}.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen([node(), str(ENTRY), "streamableHttp"], cwd=PACKAGE_DIR,
                                env={**os.environ, "PORT": str(port)}, stdout=log_file, stderr=subprocess.STDOUT)
    server = ServerProcess("everything", port, proc, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server-everything exited with {proc.returncode}:\n{server.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server-everything did not listen on {port} within {timeout}s:\n{server.log()}")
