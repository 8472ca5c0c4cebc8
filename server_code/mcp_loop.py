"""The event loop: one thread, `selectors`, non-blocking sockets, and a memory budget for the whole server.

No client can delay another: reads and writes never block, an incomplete request waits in its connection's
reader, and a connection is closed when it makes no progress for MCP_READ_TIMEOUT_SECONDS or takes longer than
MCP_REQUEST_TIMEOUT_SECONDS to send one request. Every byte the server holds for a connection (its input, an
announced body still to come, replies not yet sent, plus a fixed per-connection overhead) is charged to one
MemoryBudget (MCP_MEMORY_BUDGET_BYTES); a request that does not fit is refused with 503 and Retry-After while
those already admitted are served. A new connection that does not fit first closes idle keep-alive connections
(least recently active first), so sockets that send nothing cannot lock out health probes and new clients.
"""
from __future__ import annotations

import enum
import json
import selectors
import socket
import time
from typing import Any

from mcp_http import HttpError, RequestHead, RequestReader, format_response
from mcp_log import JsonLog
from mcp_protocol import INVALID_REQUEST, SESSION_KEY, McpApp, Reply, error_reply
from mcp_routes import McpRoutes
from mcp_sessions import session_fingerprint

RECV_BYTES = 256 * 1024
CONNECTION_OVERHEAD_BYTES = 8 * 1024  # socket, Connection, reader and selector entries of one connection
LINGER_SECONDS = 2.0  # a connection closed after an error reads (and drops) the rest of the request this long
STOP_GRACE_SECONDS = 5.0
LOG_FLUSH_SECONDS = 0.05  # log lines reach stdout this long after their request at the latest (one write per batch)
ACCEPT_PAUSE_SECONDS = 0.5  # after accept() failed (e.g. EMFILE)
RETRY_AFTER_SECONDS = 1
_encode_body = json.JSONEncoder(separators=(",", ":")).encode  # ASCII output: always encodable


class MemoryBudget:
    """Bytes the server may hold for all connections together; each connection's share is `charged`.

    Request bodies may fill the budget only up to `limit - head_reserve`: the rest is kept for connections
    and request heads, so with bodies at their cap, bodyless requests (health probes, pings) are still read.
    """

    HEAD_RESERVE_FRACTION = 8  # 1/8 of the budget

    def __init__(self, limit: int):
        self.limit = limit
        self.head_reserve = limit // self.HEAD_RESERVE_FRACTION
        self.used = 0

    def charge(self, conn: "Connection", wanted: int, force: bool = False, body: bool = False) -> bool:
        """Set the connection's share to `wanted` bytes; False (nothing changed) if that would exceed the limit
        (for a `body`, the limit less the head reserve) and `force` is not set. Shrinking always succeeds."""
        extra = wanted - conn.charged
        limit = self.limit - self.head_reserve if body else self.limit
        if extra > 0 and not force and self.used + extra > limit:
            return False
        self.used += extra
        conn.charged = wanted
        return True


class ConnState(enum.Enum):
    """The one state of a connection (its reader has the state of the request being read)."""

    OPEN = "open"              # reading requests, answering them in order
    CLOSING = "closing"        # the last reply is being sent; then LINGERING
    LINGERING = "lingering"    # write side shut; reading and dropping what the client still sends
    CLOSED = "closed"


class Connection:
    """One client connection: its request reader, output not yet sent, and timers."""

    def __init__(self, sock: socket.socket, address: Any, now: float, max_body_bytes: int):
        self.sock = sock
        self.client = address[0] if isinstance(address, tuple) else str(address)
        self.state = ConnState.OPEN
        self.reader = RequestReader(max_body_bytes)
        self.out = bytearray()
        self.charged = 0
        self.continue_sent = False
        self.last_active = now
        self.request_started: float | None = None  # when the first byte of the request being read arrived
        self.events = selectors.EVENT_READ

    @property
    def held_bytes(self) -> int:
        return CONNECTION_OVERHEAD_BYTES + self.reader.held_bytes + self.reader.promised_bytes + len(self.out)


class McpHttpServer:
    """A single-threaded HTTP/1.1 server on `selectors` serving McpRoutes."""

    def __init__(self, address: tuple[str, int], app: McpApp, log: JsonLog):
        config = app.config
        self.routes = McpRoutes(app)
        self.log = log
        self.max_body_bytes = config.max_body_bytes
        self.timeout = config.read_timeout_seconds
        self.request_timeout = config.request_timeout_seconds
        self.spin_seconds = config.busy_poll_microseconds / 1_000_000
        self.budget = MemoryBudget(config.memory_budget_bytes)
        self.listener = socket.create_server(address, backlog=1024, reuse_port=False)
        self.listener.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, None)
        self.connections: dict[int, Connection] = {}
        self.stopping = False
        self.accept_paused_until: float | None = None
        self.was_busy = False  # the last loop turn had sockets ready (see _ready)

    # --- loop

    def serve_forever(self) -> None:
        """Serve until `stop()`; then finish sending replies already made (up to STOP_GRACE_SECONDS)."""
        tick = min(0.5, self.timeout / 4, self.request_timeout / 4)
        now = time.monotonic()
        next_sweep, next_flush = now + tick, now + LOG_FLUSH_SECONDS
        while not self.stopping:
            self._turn(max(0.0, min(next_sweep, next_flush if self.log.pending else next_sweep) - now))
            now = time.monotonic()
            if now >= next_flush:
                self.log.flush()
                next_flush = now + LOG_FLUSH_SECONDS
            if now >= next_sweep:
                self._close_timed_out(now)
                self._resume_accepting(now)
                self.log.flush()  # now: a client that saw its connection closed may look for the reason
                next_sweep = now + tick
        if self.accept_paused_until is None:
            self.selector.unregister(self.listener)
        self.listener.close()
        give_up = time.monotonic() + STOP_GRACE_SECONDS
        while any(c.out for c in self.connections.values()) and time.monotonic() < give_up:
            self._turn(0.05)
        for conn in list(self.connections.values()):
            self._close(conn)
        self.selector.close()
        self.log.flush()

    def stop(self) -> None:
        """Ask `serve_forever` to return (safe from a signal handler)."""
        self.stopping = True

    def _turn(self, timeout: float) -> None:
        ready = self._ready(timeout)
        self.was_busy = bool(ready)
        for key, events in ready:
            conn = key.data
            if conn is None:
                self._accept()
                continue
            try:
                if events & selectors.EVENT_WRITE:
                    self._flush(conn)
                if events & selectors.EVENT_READ and conn.state is not ConnState.CLOSED:
                    self._read(conn)
            except Exception as exc:  # noqa: BLE001 - one broken connection never stops the server
                self.log.write(event="http", client=conn.client,
                               message=f"connection dropped: {type(exc).__name__}: {exc}")
                self._close(conn)

    def _ready(self, timeout: float) -> list:
        """The ready sockets, waiting up to `timeout`. With MCP_BUSY_POLL_MICROSECONDS set (a benchmark
        option, off by default: it burns a pod's CPU quota), poll without sleeping for that long after a busy
        turn first: a keep-alive client's next request often follows within tens of microseconds."""
        if self.was_busy and self.spin_seconds:
            spin_until = time.perf_counter() + self.spin_seconds
            while time.perf_counter() < spin_until:
                ready = self.selector.select(0)
                if ready:
                    return ready
        return self.selector.select(timeout)

    def _accept(self) -> None:
        for _ in range(64):
            try:
                sock, address = self.listener.accept()
            except BlockingIOError:
                return
            except OSError as exc:  # e.g. out of file descriptors: serve the open connections, retry later
                self.log.write(level="error", event="accept_failed",
                               message=f"{exc}; pausing accept for {ACCEPT_PAUSE_SECONDS}s")
                self.selector.unregister(self.listener)  # else the pending connection wakes us up at once, forever
                self.accept_paused_until = time.monotonic() + ACCEPT_PAUSE_SECONDS
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection(sock, address, time.monotonic(), self.max_body_bytes)
            self.connections[sock.fileno()] = conn
            self.selector.register(sock, selectors.EVENT_READ, conn)
            if not self.budget.charge(conn, conn.held_bytes) and not self._admit_by_evicting_idle(conn):
                self._refuse(conn, "new connection")

    def _admit_by_evicting_idle(self, new: Connection) -> bool:
        """Close idle keep-alive connections (nothing of a request read, nothing to send), least recently active
        first, until `new` fits the budget, and at least 1/16 of them (one sort serves the next accepts too);
        False (nothing closed) if even closing all of them would not do. Their clients may reconnect at any
        time (RFC 9112 §9.6); a refused new connection may be a liveness probe. Requests in flight stay."""
        idle = [conn for conn in self.connections.values()
                if conn is not new and conn.state is ConnState.OPEN and conn.reader.idle and not conn.out]
        if self.budget.used + new.held_bytes - new.charged - sum(conn.charged for conn in idle) > self.budget.limit:
            return False
        idle.sort(key=lambda conn: conn.last_active)
        evicted = 0
        for conn in idle:
            self._close(conn)
            evicted += 1
            if evicted >= len(idle) // 16 and self.budget.charge(new, new.held_bytes):
                break
        self.log.write(event="memory_budget", client=new.client, used_bytes=self.budget.used,
                       limit_bytes=self.budget.limit, evicted=evicted, message=f"closed {evicted} idle "
                       "connection(s), least recently active first, to admit a new one: over MCP_MEMORY_BUDGET_BYTES")
        return True

    def _resume_accepting(self, now: float) -> None:
        if self.accept_paused_until is not None and now >= self.accept_paused_until:
            self.accept_paused_until = None
            self.selector.register(self.listener, selectors.EVENT_READ, None)

    def _close_timed_out(self, now: float) -> None:
        for conn in list(self.connections.values()):
            if conn.state is ConnState.LINGERING:
                if now - conn.last_active > LINGER_SECONDS:
                    self._close(conn)
            elif now - conn.last_active > self.timeout:
                state = "while sending a request" if not conn.reader.idle else "while idle"
                if conn.out:
                    state = "while not reading its reply"
                self.log.write(event="http", client=conn.client,
                               message=f"client stalled or disconnected {state}; closed after {self.timeout:g}s")
                self._close(conn)
            elif (conn.request_started is not None and not conn.out and conn.state is ConnState.OPEN
                  and now - conn.request_started > self.request_timeout):
                self._reject(conn, conn.reader.head, HttpError(
                    408, f"Request Timeout: the request did not arrive within {self.request_timeout:g}s "
                         "(MCP_REQUEST_TIMEOUT_SECONDS)"))

    # --- per connection

    def _read(self, conn: Connection) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            if conn.state is ConnState.OPEN and not conn.reader.idle:
                self.log.write(event="http", client=conn.client,
                               message="client stalled or disconnected while sending a request")
            self._close(conn)
            return
        if conn.state is not ConnState.OPEN:
            return  # the rest of a rejected request: dropped (and the linger time keeps running)
        now = time.monotonic()
        conn.last_active = now
        if conn.request_started is None:
            conn.request_started = now
        conn.reader.feed(data)
        self._serve_buffered(conn)

    def _serve_buffered(self, conn: Connection) -> None:
        """Answer every complete request in the reader, one at a time (a pending reply is sent first); then
        charge what is still held to the budget, refusing the request being read if it does not fit."""
        while conn.state is ConnState.OPEN and not conn.out and not conn.reader.idle:
            try:
                request = conn.reader.next_request()
            except HttpError as exc:
                self._reject(conn, conn.reader.head, exc)
                return
            if request is None:
                break
            head, body = request
            conn.continue_sent = False
            conn.request_started = None if conn.reader.idle else time.monotonic()
            started = time.perf_counter()
            reply = self.routes.reply(head, body)
            self._respond(conn, head, reply, head.keep_alive and not self.stopping, started)
        if conn.state is not ConnState.OPEN:
            return
        if conn.reader.idle:
            conn.request_started = None
        if not self.budget.charge(conn, conn.held_bytes, force=conn.reader.idle,
                                  body=conn.reader.waiting_for_body):
            self._refuse(conn, "request")
            return
        pending = conn.reader.head  # of a request whose body is still to come
        if pending is not None and pending.expects_continue and not conn.continue_sent and not conn.out:
            conn.continue_sent = True
            self._send(conn, b"HTTP/1.1 100 Continue\r\n\r\n")

    def _refuse(self, conn: Connection, what: str) -> None:
        """Over the memory budget: 503 with Retry-After, then close (the client may retry when load drops)."""
        self.log.write(event="memory_budget", client=conn.client, used_bytes=self.budget.used,
                       limit_bytes=self.budget.limit, message=f"{what} refused: over MCP_MEMORY_BUDGET_BYTES")
        reply = error_reply(503, None, INVALID_REQUEST, "Service Unavailable: the server's memory budget is "
                                                        "in use by other requests; retry later")
        reply.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        self._reject(conn, conn.reader.head, reply=reply)

    def _reject(self, conn: Connection, head: RequestHead | None, error: HttpError | None = None,
                reply: Reply | None = None) -> None:
        """Answer a request that cannot be served with a JSON-RPC error, then close the connection."""
        if reply is None:
            assert error is not None  # callers pass an error or a reply
            reply = error_reply(error.status, None, INVALID_REQUEST, str(error))
        conn.reader.clear()
        self._respond(conn, head, reply, keep_alive=False, started=time.perf_counter())

    def _respond(self, conn: Connection, head: RequestHead | None, reply: Reply, keep_alive: bool,
                 started: float) -> None:
        body = b"" if reply.body is None else _encode_body(reply.body).encode()
        data = format_response(reply.status, body, reply.headers, keep_alive, head.http11 if head else True,
                               reply.body is not None, send_body=head is None or head.method != "HEAD")
        if not keep_alive:
            conn.state = ConnState.CLOSING
        self._send(conn, data)
        self._log_request(head, reply, started)

    def _log_request(self, head: RequestHead | None, reply: Reply, started: float) -> None:
        """The request's log line; its session is the one the reply names (initialize) or the request's.

        The record is filled in place (the same fields, in the same order, as log.write(**fields) would write):
        no copy of reply.log and no keyword packing, about 15% of this function's time on the shared box."""
        fields = reply.log
        session = fields["session"] if "session" in fields else \
            session_fingerprint(head.headers.get(SESSION_KEY)) if head else None
        record = self.log.new_record()
        if head is not None:  # else the request could not be read
            record["http_method"] = head.method
            record["path"] = head.path[:200]
        record["status"] = reply.status
        record["duration_ms"] = int((time.perf_counter() - started) * 1e6 + 0.5) / 1000  # to the microsecond
        method = fields.get("rpc_method")
        if method is not None:
            record["method"] = method
        if session is not None:
            record["session"] = session
        for name, value in fields.items():
            if value is not None and name != "rpc_method" and name != "session":
                record[name] = value
        self.log.write_record(record)

    def _send(self, conn: Connection, data: bytes) -> None:
        if not conn.out:
            sent = self._send_some(conn, data)
            if conn.state is ConnState.CLOSED:
                return
            if sent == len(data):
                # All sent, nothing buffered: the connection holds no more than before, and its share is
                # brought down to what it holds by the next charge (end of _serve_buffered, or _linger).
                self._after_send(conn)
                return
            data = data[sent:]
        conn.out += data
        self.budget.charge(conn, conn.held_bytes, force=True)  # a reply is sent whatever the budget
        self._after_send(conn)

    def _flush(self, conn: Connection) -> None:
        sent = self._send_some(conn, conn.out)
        if conn.state is ConnState.CLOSED or not sent:
            return
        del conn.out[:sent]
        conn.last_active = time.monotonic()
        self.budget.charge(conn, conn.held_bytes, force=True)
        self._after_send(conn)
        if not conn.out and conn.state is ConnState.OPEN:
            self._serve_buffered(conn)  # requests that arrived while the reply was being sent

    def _send_some(self, conn: Connection, data: bytes | bytearray) -> int:
        """Bytes the socket took now (0 if its buffer is full); a client that has gone is closed."""
        try:
            return conn.sock.send(data)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError:  # reset or broken pipe: nobody left to answer
            self._close(conn)
            return 0

    def _after_send(self, conn: Connection) -> None:
        """While output is pending, wait for writability and read nothing more (so a client that does not
        read its replies cannot make us buffer without bound); once all is sent, start a due close."""
        if not conn.out and conn.state is ConnState.CLOSING:
            self._linger(conn)
            return
        wanted = selectors.EVENT_WRITE if conn.out else selectors.EVENT_READ
        if wanted != conn.events:
            conn.events = wanted
            self.selector.modify(conn.sock, wanted, conn)

    def _linger(self, conn: Connection) -> None:
        """Half-close after the last reply and read what the client still sends, so it gets the reply
        instead of a reset; the connection is closed at EOF or after LINGER_SECONDS."""
        conn.state = ConnState.LINGERING
        conn.reader.clear()
        conn.last_active = time.monotonic()
        self.budget.charge(conn, conn.held_bytes, force=True)
        if conn.events != selectors.EVENT_READ:
            conn.events = selectors.EVENT_READ
            self.selector.modify(conn.sock, selectors.EVENT_READ, conn)
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(conn)

    def _close(self, conn: Connection) -> None:
        if conn.state is ConnState.CLOSED:
            return
        conn.state = ConnState.CLOSED
        self.budget.charge(conn, 0)
        self.connections.pop(conn.sock.fileno(), None)
        try:
            self.selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()
