"""Start a mock MCP server exactly as its Deployment does (`python <file>` with env `PORT`); a raw MCP client."""
from __future__ import annotations

import json
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
                 port: int | None = None, timeout: float = 15.0, script: Path | None = None) -> ServerProcess:
    """Run `python server_code/<name>.py` (or `script`) with `PORT` set and wait until `GET /healthz` answers 200."""
    port = port or free_port()
    full_env = {**os.environ, "PORT": str(port), "PYTHONUNBUFFERED": "1", **(env or {})}
    log_dir = tmp_dir or Path(os.environ.get("TMPDIR", "/tmp"))
    log_path = log_dir / f"{name}-{port}.log"
    log_file = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, str(script or SERVER_CODE / f"{name}.py")], env=full_env,
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


ACCEPT = "application/json, text/event-stream"


def read_http_reply(sock: socket.socket) -> tuple[int, dict, bytes]:
    """Read one Content-Length framed HTTP reply off a raw socket: (status, lower-case headers, body)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        more = sock.recv(65536)
        if not more:
            raise ConnectionError("the server closed the connection without a reply")
        buf += more
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers["content-length"]):
        more = sock.recv(65536)
        if not more:
            raise ConnectionError("the server closed the connection inside a reply body")
        body += more
    return int(lines[0].split()[1]), headers, body


class RawMcp:
    """A bare `requests` MCP client for protocol-level tests: it sends exactly what it is told to."""

    def __init__(self, url: str, http: requests.Session | None = None, timeout: float = 20.0):
        self.url = url
        self.http = http or requests.Session()
        self.timeout = timeout
        self.session_id: str | None = None
        self.protocol_version: str | None = None

    def post(self, message, headers: dict | None = None, with_session: bool = True) -> requests.Response:
        """POST a message (dict/list → JSON, bytes/str → sent as is) with the current session headers."""
        body = message if isinstance(message, (bytes, str)) else json.dumps(message)
        full = {"Accept": ACCEPT, "Content-Type": "application/json"}
        if with_session and self.session_id:
            full["Mcp-Session-Id"] = self.session_id
        if with_session and self.protocol_version:
            full["MCP-Protocol-Version"] = self.protocol_version
        full.update(headers or {})
        return self.http.post(self.url, data=body, headers=full, timeout=self.timeout)

    def initialize(self, version: str = "2025-11-25") -> requests.Response:
        """Run initialize + notifications/initialized; keep the session id and negotiated version."""
        reply = self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                           "params": {"protocolVersion": version, "capabilities": {},
                                      "clientInfo": {"name": "raw-test", "version": "0"}}}, with_session=False)
        reply.raise_for_status()
        self.session_id = reply.headers.get("Mcp-Session-Id")
        self.protocol_version = reply.json()["result"]["protocolVersion"]
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"}).raise_for_status()
        return reply

    def request(self, method: str, params: dict | None = None, request_id=1) -> requests.Response:
        """Send one JSON-RPC request."""
        message = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        return self.post(message)

    def call_tool(self, name: str, arguments: dict) -> requests.Response:
        return self.request("tools/call", {"name": name, "arguments": arguments})

    def delete(self) -> requests.Response:
        return self.http.delete(self.url, headers={"Mcp-Session-Id": self.session_id or ""}, timeout=self.timeout)
