"""The JSON log of the mock servers: a line that cannot be encoded is escaped, never dropped, and never
takes the other lines of its batch with it."""
from __future__ import annotations

import io
import json
import sys

from tests.server_process import SERVER_CODE

sys.path.insert(0, str(SERVER_CODE))
import mcp_log  # noqa: E402


def test_unencodable_field_is_escaped_and_its_batch_is_kept():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    log = mcp_log.JsonLog("github", stream)
    log.write(event="before")
    log.write(event="odd", tool="get_repo\ud800", path="/caf\u00e9")
    log.write(event="after")
    log.flush()
    lines = [json.loads(line) for line in raw.getvalue().decode("ascii").splitlines()]
    assert [line["event"] for line in lines] == ["before", "odd", "after"]
    assert lines[1]["tool"] == "get_repo\ud800" and lines[1]["path"] == "/caf\u00e9"
