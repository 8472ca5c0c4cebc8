"""CPU cost of the mock server's per-request Python path, in process, without sockets (issue 7).

Drives the code a keep-alive `tools/call get_repo` request runs through in `McpHttpServer` (head parsing,
framing, routing, the MCP dispatcher with session check and argument validation, the tool, body encoding,
the response head, the JSON log line; the log is written once per round, as the event loop batches it) on a
fake connection whose socket accepts every byte, and prints microseconds per request: the process's CPU time
(time.process_time, so time the scheduler gives to other work on a shared machine is not counted), best of
`--repeat` rounds of `--number` requests. The socket calls and the event loop's `select` are not included:
`bench/sdk_vs_mock.py` measures the whole server.

    .venv/bin/python bench/request_path.py [--number 20000] [--repeat 5] [--code DIR | --ref REV]

`--code` runs another copy of server_code/, `--ref` the one at a git revision (written to a temporary
directory), for a before/after comparison; the single-file core before the split (7288011, mcp_core.py
only) is driven through its own API.
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import json
import sys
import tempfile
import time
from types import SimpleNamespace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mcp_load import REPO_ROOT, checkout_server_code  # noqa: E402

KEY = b"bench-key-0123456789abcdef"


class NullSocket:
    """A connected socket whose send buffer never fills: send takes everything, recv is never called."""

    def send(self, data: bytes) -> int:
        return len(data)

    def fileno(self) -> int:
        return -1


def load_server(code: Path, name: str):
    """mcp_core and the server module (its TOOLS, NAME, VERSION) from `code`, imported as the server process does."""
    sys.path.insert(0, str(code))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", code / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not (code / "mcp_loop.py").exists():  # the single-file core before the split (7288011)
        import mcp_core  # noqa: PLC0415 - on sys.path only now
        return SimpleNamespace(Config=mcp_core.Config, McpApp=mcp_core.McpApp, JsonLog=mcp_core.JsonLog,
                               SessionTokens=mcp_core.SessionTokens, McpHttpServer=mcp_core.McpHttpServer,
                               Connection=lambda sock, address, now, _limit: mcp_core.Connection(sock, address, now),
                               single_file=True), module
    import mcp_config, mcp_log, mcp_loop, mcp_protocol, mcp_sessions  # noqa: PLC0415,E401 - on sys.path only now
    return SimpleNamespace(Config=mcp_config.Config, McpApp=mcp_protocol.McpApp, JsonLog=mcp_log.JsonLog,
                           SessionTokens=mcp_sessions.SessionTokens, McpHttpServer=mcp_loop.McpHttpServer,
                           Connection=mcp_loop.Connection, single_file=False), module


def request_bytes(session: str, request_id: int) -> bytes:
    """What wrk sends (bench/wrk_tools_call.lua): one keep-alive POST tools/call get_repo."""
    body = (f'{{"jsonrpc":"2.0","id":{request_id},"method":"tools/call","params":{{"name":"get_repo",'
            f'"arguments":{{"owner":"octocat","repo":"hello-world"}}}}}}').encode()
    return (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\n"
            f"Mcp-Session-Id: {session}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="github", choices=("github",))
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--code", type=Path, default=REPO_ROOT / "server_code")
    parser.add_argument("--ref", help="git revision whose server_code/ is measured instead of --code")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="request-path-") as tmp:
        code = checkout_server_code(args.ref, Path(tmp)) if args.ref else args.code.resolve()
        core, module = load_server(code, args.server)
        return measure(core, module, args, args.ref or code)


def measure(core, module, args, label) -> int:
    """Feed `args.number` requests `args.repeat` times; print the best CPU microseconds per request."""
    config = core.Config(port=0, session_key=KEY)
    app = core.McpApp(module.NAME, module.VERSION, module.TOOLS, config,
                      core.SessionTokens(KEY, module.NAME, config.session_ttl_seconds))
    log = core.JsonLog(module.NAME, stream=io.StringIO())
    server = core.McpHttpServer(("127.0.0.1", 0), app, log)
    session = app.tokens.issue()
    requests = [request_bytes(session, i) for i in range(1, 1001)]
    conn = core.Connection(NullSocket(), ("127.0.0.1", 1), time.monotonic(), config.max_body_bytes)
    if core.single_file:
        def feed(data: bytes) -> None:
            conn.inbuf += data
    else:
        feed = conn.reader.feed
    best = float("inf")
    try:
        for _ in range(args.repeat):
            log.stream = io.StringIO()
            started = time.process_time()
            for i in range(args.number):
                feed(requests[i % 1000])
                server._serve_buffered(conn)  # noqa: SLF001 - the per-request path is what is measured
            log.flush()
            best = min(best, (time.process_time() - started) / args.number)
            last = json.loads(log.stream.getvalue().splitlines()[-1])
            idle = not conn.inbuf if core.single_file else conn.reader.idle
            if conn.out or not idle or last.get("status") != 200 or last.get("tool") != "get_repo":
                raise RuntimeError(f"the request path did not answer as expected: {last}")
    finally:
        server.listener.close()
        server.selector.close()
    print(f"# {label}/{args.server}.py tools/call get_repo, in process, CPU time, best of {args.repeat} x "
          f"{args.number} requests")
    print(f"request path: {best * 1e6:.1f} us/request CPU ({1 / best:.0f} requests/s on one core)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
