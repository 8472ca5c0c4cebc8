"""The servers' log: one JSON object per line on stdout, written in batches by the event loop."""
from __future__ import annotations

import json
import sys
import time
from typing import Any


# ASCII only: a lone surrogate (or any other character) is written as a \u escape, so no line can fail to
# encode on the stream and take the rest of its batch with it.
_encode = json.JSONEncoder(ensure_ascii=True, default=str).encode


class JsonLog:
    """One JSON object per line to a stream (stdout). Lines are buffered until `flush`, which the event loop
    calls every LOG_FLUSH_SECONDS while lines are waiting, so many requests cost one write."""

    def __init__(self, server: str, stream=None):
        self.server = server
        self.stream = stream or sys.stdout
        self._lines: list[str] = []
        self._second, self._stamp = -1, ""

    def _timestamp(self) -> str:
        now = int(time.time())
        if now != self._second:  # formatted once per second
            self._second, self._stamp = now, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        return self._stamp

    def write(self, **fields: Any) -> None:
        """Log one event (ts and server first); None values are dropped."""
        record = self.new_record()
        for name, value in fields.items():
            if value is not None:
                record[name] = value
        self._lines.append(_encode(record) + "\n")

    def new_record(self) -> dict:
        """A record with ts and server, for `write_record` (the per-request path fills it in place)."""
        return {"ts": self._timestamp(), "server": self.server}

    def write_record(self, record: dict) -> None:
        """Log a record from `new_record`, filled by the caller (no None values)."""
        self._lines.append(_encode(record) + "\n")

    @property
    def pending(self) -> bool:
        """True while lines wait for `flush`."""
        return bool(self._lines)

    def flush(self) -> None:
        """Write the buffered lines."""
        if self._lines:
            lines = self._lines
            self._lines = []  # a line added now by a signal handler goes into the next flush
            try:
                self.stream.write("".join(lines))
                self.stream.flush()
            except (OSError, ValueError):  # stdout closed or broken: nowhere to log, but keep serving
                pass
