"""The verifier against an aggregated route: several real mock servers behind one path, tools as `<target>_<tool>`.

The front (tests/gateway_front.py) multiplexes like agentgateway 1.4 (prefixMode, failureMode, per-target deny
lists, upstream sessions opened at client initialize). Plans are built with the Pulumi program's own
`aggregate_verification_entry`, so the tests also pin the plan contract between the program and the verifier.
Routes of the shared front:
  /mcp            github, slack, fetch; dangerous tools denied; FailClosed
  /mcp/open       the same with github's server stopped; FailOpen (github is skipped)
  /mcp/closed     github (stopped) and slack; FailClosed (initialize fails)
  /mcp/leaky      github without its deny list, slack
  /mcp/callable   github's delete_repo left out of tools/list but still callable (a broken gateway), slack
  /mcp/always     github alone with prefixMode Always
  /mcp/never      github and slack with prefixMode Never (names not prefixed)
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.plan import AggregateTarget, aggregate_verification_entry
from components.config import AggregateConfig
from tests.gateway_front import AggregateRoute, GatewayFront, Target
from tests.server_process import RawMcp, start_server
from tests.test_verify_gateway import catalog, dangerous, run_cli, running_mocks, table_row, write_plan
from verify import parse_plan, verify_routes

MOCKS = ("github", "slack", "fetch")
DEADLINE = "15"


def aggregate_entry(name: str, path: str, mocks: tuple[str, ...], prefix_mode: str = "Conditional",
                    **overrides) -> dict:
    """The plan entry the Pulumi program builds for an aggregated route over `mocks` (target name = mock name),
    dangerous tools denied (+ overrides; None removes a key)."""
    config = AggregateConfig(enabled=True, path=path, name=name, prefixMode=prefix_mode, failureMode="FailClosed",
                             sessionRouting="Stateful", servers=mocks)
    entry = aggregate_verification_entry(config, [AggregateTarget(mock, catalog(mock), tuple(dangerous(mock)))
                                                  for mock in mocks])
    entry.update(overrides)
    return {key: value for key, value in entry.items() if value is not None}


ALL = aggregate_entry("mcp-all", "/mcp", MOCKS)


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    """The shared front and the mock processes behind it (all stopped at the end)."""
    with running_mocks(tmp_path_factory.mktemp("aggregate-logs")) as (url, stopped_url):

        def target(mock: str, upstream: str | None = None, **options) -> Target:
            return Target(mock, upstream or url[mock], **{"denied_tools": tuple(dangerous(mock)), **options})

        routes = [
            AggregateRoute("/mcp", tuple(target(mock) for mock in MOCKS)),
            AggregateRoute("/mcp/open", (target("github", stopped_url), target("slack"), target("fetch")),
                           failure_mode="FailOpen"),
            AggregateRoute("/mcp/closed", (target("github", stopped_url), target("slack"))),
            AggregateRoute("/mcp/leaky", (target("github", denied_tools=()), target("slack"))),
            AggregateRoute("/mcp/callable", (target("github", denied_tools=(), hidden_tools=tuple(dangerous("github"))),
                                             target("slack"))),
            AggregateRoute("/mcp/always", (target("github"),), prefix_mode="Always"),
            AggregateRoute("/mcp/never", (target("github"), target("slack")), prefix_mode="Never"),
        ]
        with GatewayFront(routes) as gateway:
            yield gateway


def run_json(tmp_path: Path, gateway_url: str, plan: list, expect: int, deadline: str = "1") -> dict:
    """Run the CLI with --json, assert the exit code, return the report."""
    done = run_cli("--plan", write_plan(tmp_path, plan), "--gateway-url", gateway_url, "--json", "--deadline", deadline)
    assert done.returncode == expect, done.stdout + done.stderr
    return json.loads(done.stdout)


# ----------------------------------------------------------------------------------------------- happy path

def test_cli_passes_the_aggregated_route_with_prefixed_names(front, tmp_path):
    done = run_cli("--plan", write_plan(tmp_path, [ALL]), "--gateway-url", front.url, "--deadline", DEADLINE)
    assert done.returncode == 0, done.stdout + done.stderr
    row = table_row(done.stdout, "mcp-all")
    assert " /mcp " in row and " PASS " in row and f" {len(ALL['expectedTools'])} " in row
    assert "1 routes: 1 passed, 0 failed" in done.stdout


def test_json_report_of_the_aggregated_route(front, tmp_path):
    report = run_json(tmp_path, front.url, [ALL], expect=0, deadline=DEADLINE)
    (route,) = report["routes"]
    assert sorted(route["tools"]) == sorted(ALL["expectedTools"])
    assert "github_get_repo" in route["tools"] and "slack_list_channels" in route["tools"]
    assert route["targets"] == list(MOCKS) and route["toolsMatch"] == "exact" and route["probe"] == "passed"
    assert route["missingTools"] == route["unexpectedTools"] == route["extraTools"] == route["targetsDown"] == []


def test_library_checks_aggregated_and_single_target_prefix_modes(front):
    always = aggregate_entry("always", "/mcp/always", ("github",), prefix_mode="Always")
    never = aggregate_entry("never", "/mcp/never", ("github", "slack"), prefix_mode="Never")
    results = verify_routes(parse_plan([ALL, always, never]), front.url, deadline=15)
    assert [(r.name, r.passed, r.reason) for r in results] == [("mcp-all", True, ""), ("always", True, ""),
                                                                ("never", True, "")]
    assert sorted(results[1].tools) == sorted(always["expectedTools"])  # github_get_repo, ... even with one target
    assert "get_repo" in results[2].tools and "list_channels" in results[2].tools  # Never: no prefix


# ------------------------------------------------------------------------------------------- failure cases

def test_fail_open_route_with_a_stopped_target_fails_naming_the_target(front, tmp_path):
    report = run_json(tmp_path, front.url, [aggregate_entry("open", "/mcp/open", MOCKS)], expect=1)
    (route,) = report["routes"]
    github_tools = ", ".join(sorted(set(catalog("github").tool_names) - set(dangerous("github"))))
    assert [p["kind"] for p in route["problems"]] == ["target_down"], route["problems"]
    assert route["reason"].startswith(f"target github: all 3 tools missing ({github_tools}): the target looks "
                                      "down or failed to initialize")
    assert route["targetsDown"] == ["github"] and route["probe"] == "not_run"
    assert route["missingTools"] == [f"github_{tool}" for tool in github_tools.split(", ")]
    assert sorted(route["tools"]) == sorted(n for n in ALL["expectedTools"] if not n.startswith("github_"))


def test_fail_closed_route_with_a_stopped_target_fails_at_initialize(front, tmp_path):
    done = run_cli("--plan", write_plan(tmp_path, [aggregate_entry("closed", "/mcp/closed", ("github", "slack"))]),
                   "--gateway-url", front.url, "--deadline", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    row = table_row(done.stdout, "closed")
    assert " FAIL " in row and "initialize failed: target github failed to initialize" in row
    assert "failureMode FailClosed" in row


def test_one_target_missing_some_tools_is_reported_per_target(front, tmp_path):
    entry = aggregate_entry("mcp-all", "/mcp", MOCKS)
    entry["expectedTools"] = entry["expectedTools"] + ["github_archive_repo", "slack_archive_channel"]
    report = run_json(tmp_path, front.url, [entry], expect=1)
    (route,) = report["routes"]
    assert [p["detail"] for p in route["problems"]] == ["target github: tools missing archive_repo",
                                                        "target slack: tools missing archive_channel"]
    assert route["targetsDown"] == []


def test_denied_prefixed_tool_that_is_listed_fails(front, tmp_path):
    report = run_json(tmp_path, front.url, [aggregate_entry("leaky", "/mcp/leaky", ("github", "slack"))], expect=1)
    (route,) = report["routes"]
    assert route["problems"] == [{"kind": "denied_tool_listed", "detail": "denied tool listed: github_delete_repo"}]


def test_denied_prefixed_tool_that_is_callable_fails(front, tmp_path):
    report = run_json(tmp_path, front.url, [aggregate_entry("callable", "/mcp/callable", ("github", "slack"))],
                      expect=1)
    (route,) = report["routes"]
    assert "github_delete_repo" not in route["tools"]
    assert [p["kind"] for p in route["problems"]] == ["denied_tool_callable"]
    assert route["reason"].startswith("denied tool callable: github_delete_repo (the call was not refused")


SUBSET = [name for name in ALL["expectedTools"] if name not in ("slack_send_message", "fetch_fetch")]


def test_at_least_with_extra_tools_passes(front, tmp_path):
    report = run_json(tmp_path, front.url, [{**ALL, "expectedTools": SUBSET, "toolsMatch": "atLeast"}], expect=0,
                      deadline=DEADLINE)
    (route,) = report["routes"]
    assert route["passed"] and route["toolsMatch"] == "atLeast"
    assert route["extraTools"] == ["fetch_fetch", "slack_send_message"]
    assert route["notes"] == ["extra tools allowed by atLeast: fetch_fetch, slack_send_message"]


def test_exact_with_extra_tools_fails(front, tmp_path):
    report = run_json(tmp_path, front.url, [{**ALL, "expectedTools": SUBSET}], expect=1)
    (route,) = report["routes"]
    assert [p["detail"] for p in route["problems"]] == ["target slack: unexpected tools send_message",
                                                        "target fetch: unexpected tools fetch"]
    assert route["unexpectedTools"] == ["fetch_fetch", "slack_send_message"] and route["extraTools"] == []


def test_at_least_still_fails_on_a_missing_tool(front, tmp_path):
    plan = [{**ALL, "expectedTools": SUBSET + ["fetch_head"], "toolsMatch": "atLeast"}]
    report = run_json(tmp_path, front.url, plan, expect=1)
    assert report["routes"][0]["reason"] == "target fetch: tools missing head"


def test_without_a_probe_the_call_is_skipped_and_the_lists_still_checked(front, tmp_path):
    report = run_json(tmp_path, front.url, [{**ALL, "probe": None}], expect=0, deadline=DEADLINE)
    assert report["routes"][0]["probe"] == "skipped"
    assert report["routes"][0]["notes"] == ["no probe in the plan: tool call skipped"]
    done = run_cli("--plan", write_plan(tmp_path, [{**ALL, "probe": None}]), "--gateway-url", front.url,
                   "--deadline", DEADLINE)
    assert "no probe in the plan" in table_row(done.stdout, "mcp-all")
    leaky = aggregate_entry("leaky", "/mcp/leaky", ("github", "slack"), probe=None)
    report = run_json(tmp_path, front.url, [leaky], expect=1)
    assert report["routes"][0]["reason"] == "denied tool listed: github_delete_repo"


# --------------------------------------------------------------------------- the front itself (test peer)

def rpc(reply) -> dict:
    """The JSON-RPC message of a reply (SSE or plain JSON)."""
    if reply.headers["Content-Type"].startswith("text/event-stream"):
        (data,) = [line[5:].strip() for line in reply.text.splitlines() if line.startswith("data:")]
        return json.loads(data)
    return reply.json()


def raw_session(front, path: str) -> RawMcp:
    """A raw client after the handshake (RawMcp.initialize reads JSON; the front answers with SSE)."""
    client = RawMcp(front.url + path)
    reply = client.post({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                         "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                    "clientInfo": {"name": "raw-test", "version": "0"}}}, with_session=False)
    assert reply.status_code == 200, reply.text
    client.session_id = reply.headers["Mcp-Session-Id"]
    client.protocol_version = rpc(reply)["result"]["protocolVersion"]
    assert client.post({"jsonrpc": "2.0", "method": "notifications/initialized"}).status_code == 202
    return client


def test_front_refuses_denied_and_unknown_prefixed_tools_like_agentgateway(front):
    client = raw_session(front, "/mcp")
    try:
        for name in ("github_delete_repo", "slack_delete_channel", "jira_get_issue", "get_repo"):
            reply = client.call_tool(name, {})
            assert reply.status_code == 400, name
            assert reply.json()["error"] == {"code": -32602, "message": f"Unknown tool: {name}"}
        reply = client.call_tool("slack_list_channels", {})
        assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("text/event-stream")
        assert rpc(reply)["result"]["isError"] is False  # routed to slack's list_channels
    finally:
        client.delete()


def test_front_requires_a_session_and_both_accept_types(front):
    client = RawMcp(front.url + "/mcp")
    reply = client.request("tools/list")
    assert reply.status_code == 400 and "session header is required" in reply.text
    reply = client.post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
                        headers={"Accept": "application/json"})
    assert reply.status_code == 406


def test_front_opens_upstream_sessions_at_initialize_only(tmp_path):
    """One upstream initialize per client session, however many lists and calls follow."""
    server = start_server("fetch", tmp_dir=tmp_path)
    try:
        with GatewayFront([AggregateRoute("/mcp", (Target("fetch", server.url),))]) as gateway:
            client = raw_session(gateway, "/mcp")
            for _ in range(2):
                assert rpc(client.request("tools/list"))["result"]["tools"][0]["name"] == "fetch"
            assert "result" in rpc(client.call_tool("fetch", {"url": "https://example.com/"}))
            client.delete()
    finally:
        server.stop()
    records = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    methods = [record.get("method", record.get("rpc_method")) for record in records
               if record.get("http_method") == "POST"]
    assert methods.count("initialize") == 1, methods
    assert methods.count("tools/list") >= 2 and methods.count("tools/call") == 1  # the SDK client may re-list
    assert methods.index("initialize") < methods.index("tools/list")
