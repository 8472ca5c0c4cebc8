"""HTTP/1.1 framing (RFC 9112), case by case: one table of raw requests, fed byte-exactly to the parser
(server_code/mcp_http.py, in process, in one piece and one byte at a time) and over a socket to a real server.
Each row is a request that is valid except for the one defect it names (so a lenient server answers it)."""
from __future__ import annotations

import json
import socket
import sys

import pytest

from tests.server_process import SERVER_CODE, read_http_reply, start_server

sys.path.insert(0, str(SERVER_CODE))
import mcp_http  # noqa: E402

MAX_BODY = 65536
INIT = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                   "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                              "clientInfo": {"name": "framing", "version": "0"}}}).encode()


def post(headers: bytes, body: bytes) -> bytes:
    return b"POST /mcp HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n" + headers + b"\r\n" + body


def chunked(*chunks: bytes, size_format: str = "%x", ext: bytes = b"", trailer: bytes = b"",
            after_data: bytes = b"\r\n") -> bytes:
    out = b"".join((size_format % len(c)).encode() + ext + b"\r\n" + c + after_data for c in chunks)
    return out + b"0\r\n" + trailer + b"\r\n"


HALF = len(INIT) // 2
TE = b"Transfer-Encoding: chunked\r\n"
CL = b"Content-Length: %d\r\n" % len(INIT)

# name: (raw request, expected status: 200 served, else the error status and a closed connection)
CASES = {
    # accepted
    "content-length body": (post(CL, INIT), 200),
    "absolute-form target (RFC 9112 §3.2.2)": (post(CL, INIT).replace(b"POST /mcp ", b"POST http://t/mcp ", 1), 200),
    "chunked body in two chunks": (post(TE, chunked(INIT[:HALF], INIT[HALF:])), 200),
    "chunk extension and trailer field": (post(TE, chunked(INIT, ext=b";name=value", trailer=b"X-T: 1\r\n")), 200),
    "upper-case hex chunk size": (post(TE, chunked(INIT, size_format="%X")), 200),
    "LF-only head (hand-typed)": (b"GET /healthz HTTP/1.1\nHost: t\n\n", 200),
    # smuggling: two framings, duplicate framing headers, codings other than chunked
    "content-length and transfer-encoding": (post(CL + TE, chunked(INIT)), 400),
    "two transfer-encoding headers": (post(TE + TE, chunked(INIT)), 400),
    "two equal content-length headers": (post(CL + CL, INIT), 400),
    "final coding not chunked": (post(b"Transfer-Encoding: identity\r\n", INIT), 400),
    "chunked applied twice": (post(b"Transfer-Encoding: chunked, chunked\r\n", chunked(INIT)), 400),
    "gzip before chunked": (post(b"Transfer-Encoding: gzip, chunked\r\n", chunked(INIT)), 501),
    "transfer-encoding in HTTP/1.0": (post(TE, chunked(INIT)).replace(b"HTTP/1.1", b"HTTP/1.0", 1), 400),
    # chunk sizes: hex digits only
    "0x chunk size": (post(TE, chunked(INIT, size_format="0x%x")), 400),
    "plus-signed chunk size": (post(TE, chunked(INIT, size_format="+%x")), 400),
    "underscore in chunk size": (post(TE, chunked(INIT[:17], INIT[17:], size_format="1_%x")), 400),
    "space before chunk size": (post(TE, chunked(INIT, size_format=" %x")), 400),
    "chunk data not followed by CRLF": (post(TE, chunked(INIT, after_data=b"XY")), 400),
    "chunk line ending in bare LF": (post(TE, chunked(INIT).replace(b"\r\n", b"\n", 1)), 400),
    "chunk size with 64 hex digits (leading zeros)": (post(TE, chunked(INIT, size_format="%064x")), 200),
    # chunk extensions and trailers are capped, and so are the digits of one chunk size
    "chunk size with 65 hex digits": (post(TE, chunked(INIT, size_format="%065x")), 400),
    "4 KiB of chunk extensions over many chunks": (post(TE, chunked(*(INIT[i:i + 1] for i in range(len(INIT))),
                                                                    ext=b";e=" + b"x" * 40)), 400),
    "huge chunk extension": (post(TE, chunked(INIT, ext=b";x=" + b"a" * 5000)), 400),
    "huge trailer section": (post(TE, chunked(INIT, trailer=b"".join(b"X-%d: %s\r\n" % (i, b"v" * 90)
                                                                       for i in range(60)))), 400),
    # Content-Length: ASCII digits only
    "superscript digit as content-length": (post(b"Content-Length: \xb2\r\n", b"{}"), 400),
    "content-length list": (post(b"Content-Length: %d, %d\r\n" % (len(INIT), len(INIT)), INIT), 400),
    "signed content-length": (post(b"Content-Length: +%d\r\n" % len(INIT), INIT), 400),
    # bare LF / CR inside a CRLF head
    "bare LF in a header value": (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: a\nX-B: b\r\n\r\n", 400),
    "bare LF ending the last header line": (b"GET /healthz HTTP/1.1\r\nHost: t\n\n", 400),
    "bare CR in a header value": (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n", 400),
    "obsolete line folding": (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n", 400),
}
ACCEPTED = {name for name, (_, status) in CASES.items() if status == 200}


def parse_all(data: bytes, piece: int) -> tuple[mcp_http.RequestHead, bytes]:
    """Feed `data` in pieces of `piece` bytes; the one request it holds (HttpError if refused)."""
    reader = mcp_http.RequestReader(MAX_BODY)
    for start in range(0, len(data), piece):
        reader.feed(data[start:start + piece])
        request = reader.next_request()
        if request is not None:
            assert start + piece >= len(data), "a request completed before its last byte"
            assert reader.idle
            return request
    raise AssertionError("the request never completed")


@pytest.mark.parametrize("piece", [1 << 20, 1], ids=["whole", "byte-by-byte"])
@pytest.mark.parametrize("case", list(CASES))
def test_parser_frames_the_request_or_refuses_it(case, piece):
    data, status = CASES[case]
    if status == 200:
        head, body = parse_all(data, piece)
        assert body == (INIT if head.method == "POST" else b"")
    else:
        with pytest.raises(mcp_http.HttpError) as refused:
            parse_all(data, piece)
        assert refused.value.status == status


def test_pipelined_requests_come_out_one_by_one_with_nothing_left_over():
    reader = mcp_http.RequestReader(MAX_BODY)
    reader.feed(CASES["chunked body in two chunks"][0] + CASES["content-length body"][0] + b"GET /h")
    assert reader.next_request()[1] == INIT and reader.next_request()[1] == INIT
    assert reader.next_request() is None and not reader.idle and reader.held_bytes == 6


def test_head_bytes_are_scanned_once_not_on_every_read(monkeypatch):
    """Incremental parsing: a 32 KiB head arriving one byte at a time is searched ~once, not 32 Ki times."""
    scanned = []

    class CountingPattern:
        def search(self, buf, pos=0):
            scanned.append(len(buf) - pos)
            return real.search(buf, pos)

    real = mcp_http._HEAD_END
    monkeypatch.setattr(mcp_http, "_HEAD_END", CountingPattern())
    data = b"GET /healthz HTTP/1.1\r\nX-Pad: " + b"a" * 32768 + b"\r\n\r\n"
    parse_all(data, 1)
    assert sum(scanned) < 4 * len(data)


def test_a_body_over_the_limit_is_refused_from_its_announced_length():
    reader = mcp_http.RequestReader(MAX_BODY)
    reader.feed(post(b"Content-Length: %d\r\n" % (MAX_BODY + 1), b""))
    with pytest.raises(mcp_http.HttpError) as refused:
        reader.next_request()
    assert refused.value.status == 413


def chunked_request(body: bytes, chunk_size: int) -> bytes:
    return post(TE, chunked(*(body[i:i + chunk_size] for i in range(0, len(body), chunk_size))))


LARGE_INIT = INIT + b" " * (60000 - len(INIT))  # valid JSON, near MAX_BODY
SMALL_CHUNKS = chunked_request(LARGE_INIT, 16)  # 3750 chunk-size lines: ~15 KB of them, no extensions


@pytest.mark.parametrize("piece", [1 << 20, 1], ids=["whole", "byte-by-byte"])
def test_a_body_in_small_chunks_is_accepted_up_to_the_chunk_count_limit(piece):
    """Chunk-size digits do not count against the 4 KiB cap on extensions and trailers; the number of chunks
    is bounded by MAX_BODY // 16 + 64 instead (so 1-byte chunks cannot cost unbounded work per body byte)."""
    assert parse_all(SMALL_CHUNKS, piece)[1] == LARGE_INIT
    limit = MAX_BODY // 16 + 64
    assert mcp_http.RequestReader(MAX_BODY).max_chunks == limit
    at_limit = b"x" * (limit - 1)  # limit - 1 one-byte chunks and the last (empty) chunk
    assert parse_all(chunked_request(at_limit, 1), piece)[1] == at_limit
    with pytest.raises(mcp_http.HttpError) as refused:
        parse_all(chunked_request(at_limit + b"x", 1), piece)
    assert refused.value.status == 400 and f"more than {limit} chunks" in str(refused.value)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = start_server("github", env={"MCP_SESSION_KEY": "framing-key-0123456789", "MCP_MAX_BODY_BYTES": str(MAX_BODY)},
                        tmp_dir=tmp_path_factory.mktemp("framing"))
    try:
        yield proc
    finally:
        proc.stop()


def exchange(server, data: bytes, expect_close: bool) -> tuple[int, dict, bytes, bool]:
    """Send `data`, read one reply: (status, headers, body, whether the server then closed the connection)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(data)
        status, headers, body = read_http_reply(sock)
        try:
            closed = expect_close and sock.recv(65536) == b""
        except (ConnectionResetError, socket.timeout):
            closed = False
        return status, headers, body, closed


@pytest.mark.parametrize("case", list(CASES))
def test_server_answers_each_framing_case(server, case):
    data, status = CASES[case]
    got, headers, body, closed = exchange(server, data, expect_close=status != 200)
    assert got == status, body
    assert headers["content-type"] == "application/json"
    if status != 200:
        assert json.loads(body)["error"]["code"] == -32600
        assert headers["connection"] == "close" and closed


def test_server_accepts_a_body_in_small_chunks(server):
    status, _, body, _ = exchange(server, SMALL_CHUNKS, expect_close=False)
    assert status == 200 and json.loads(body)["result"]["protocolVersion"] == "2025-11-25"


@pytest.mark.parametrize("target, path", [("/mcp", "/mcp"), ("/mcp?x=1", "/mcp"), ("http://t/mcp", "/mcp"),
                                          ("HTTPS://t:8443/mcp?x=1", "/mcp"), ("http://t", "/"), ("*", "*")])
def test_the_path_of_origin_form_and_absolute_form_targets(target, path):
    assert mcp_http.RequestHead("POST", target, {}, True, True).path == path
