"""Reconstruction of the original tutorial's mock MCP server pattern, kept only as a benchmark baseline.

This is NOT the tutorial's code verbatim: it rebuilds the pattern the tutorial used (a single-threaded
`http.server.HTTPServer` with a `BaseHTTPRequestHandler`, HTTP/1.0 so one request per connection, plain JSON
replies, no session, no validation, errors reported inside `result`, default stderr access log), so the
benchmark can compare server_code/ against it on the same machine. Do not build on it.

Run: PORT=8080 python bench/baselines/tutorial_server.py
"""
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

TOOLS = [
    {"name": "get_repo", "description": "Get a repository",
     "inputSchema": {"type": "object", "properties": {"owner": {"type": "string"}, "repo": {"type": "string"}}}},
]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        request = json.loads(self.rfile.read(length))
        method = request.get("method")
        if method == "initialize":
            result = {"protocolVersion": "2024-11-05", "capabilities": {"tools": {}},
                      "serverInfo": {"name": "github", "version": "0.1"}}
        elif method == "tools/list":
            result = {"tools": TOOLS}
        elif method == "tools/call":
            args = request["params"].get("arguments", {})
            repo = {"full_name": f"{args.get('owner')}/{args.get('repo')}", "stars": 42}
            result = {"content": [{"type": "text", "text": json.dumps(repo)}]}
        else:
            result = {"error": f"unknown method {method}"}
        body = json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    HTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
