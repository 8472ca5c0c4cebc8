"""Start a mock MCP server exactly as its Deployment does: `python <file>` with env `PORT`."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_CODE = REPO_ROOT / "server_code"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServerProcess:
    """A running mock server process; `url` is its MCP endpoint."""

    name: str
    port: int
    proc: subprocess.Popen
    log_path: Path
    env: dict = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/mcp"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM the server and return its exit code (kills it if it does not exit in time)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_server(name: str, env: dict | None = None, tmp_dir: Path | None = None,
                 port: int | None = None, timeout: float = 15.0) -> ServerProcess:
    """Run `python server_code/<name>.py` with `PORT` set and wait until `GET /healthz` answers 200."""
    port = port or free_port()
    full_env = {**os.environ, "PORT": str(port), "PYTHONUNBUFFERED": "1", **(env or {})}
    log_dir = tmp_dir or Path(os.environ.get("TMPDIR", "/tmp"))
    log_path = log_dir / f"{name}-{port}.log"
    log_file = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, str(SERVER_CODE / f"{name}.py")], env=full_env,
                            stdout=log_file, stderr=subprocess.STDOUT)
    log_file.close()
    server = ServerProcess(name, port, proc, log_path, env or {})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode} before it was healthy:\n{server.log()}")
        try:
            if requests.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                return server
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{name} did not answer /healthz within {timeout}s:\n{server.log()}")
