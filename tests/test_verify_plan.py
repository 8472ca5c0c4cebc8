"""Plan loading and validation: every problem names the entry and the key."""
import json
import os
import stat
from pathlib import Path

import pytest

from verify.plan import PlanError, RoutePlan, load_plan_file, load_plan_from_stack, parse_plan

GOOD = {"name": "github", "path": "/mcp/github", "expectedTools": ["get_repo", "list_issues"],
        "deniedTools": ["delete_repo"], "probe": {"tool": "get_repo", "arguments": {"repo": "a/b"}}}


def entry(**changes):
    data = {**GOOD, **changes}
    return {key: value for key, value in data.items() if value is not None}


def test_good_plan_parses_into_route_plans():
    (route,) = parse_plan([GOOD])
    assert route == RoutePlan(name="github", path="/mcp/github", expected_tools=("get_repo", "list_issues"),
                              probe_tool="get_repo", probe_arguments={"repo": "a/b"}, denied_tools=("delete_repo",))


def test_denied_tools_and_probe_arguments_are_optional():
    (route,) = parse_plan([entry(deniedTools=None, probe={"tool": "get_repo"})])
    assert route.denied_tools == () and route.probe_arguments == {}


@pytest.mark.parametrize("data, message", [
    ({"name": "x"}, "must be a JSON list of routes, got dict"),
    ([], "the plan has no routes"),
    (["github"], "plan entry 0: must be an object, got str"),
    ([entry(path=None)], "plan entry 0 ('github'): missing key(s) 'path'"),
    ([entry(expectedTool=["a"])], "unknown key(s) 'expectedTool'"),
    ([entry(name="")], "plan entry 0: 'name' must be a non-empty string"),
    ([entry(path="mcp/github")], "'path' must be a URL path starting with '/'"),
    ([entry(expectedTools="get_repo")], "'expectedTools' must be a list of non-empty strings"),
    ([entry(deniedTools=[1])], "'deniedTools' must be a list of non-empty strings"),
    ([entry(expectedTools=["get_repo", "get_repo"])], "'expectedTools' lists get_repo more than once"),
    ([entry(deniedTools=["get_repo"])], "get_repo cannot be both in 'expectedTools' and 'deniedTools'"),
    ([entry(probe="get_repo")], "'probe' must be an object with a non-empty string 'tool'"),
    ([entry(probe={"tool": "get_repo", "args": {}})], "unknown key(s) 'args' in 'probe'"),
    ([entry(probe={"tool": "get_repo", "arguments": []})], "'probe.arguments' must be an object"),
    ([entry(probe={"tool": "nope"})], "'probe.tool' 'nope' is not in 'expectedTools'"),
    ([GOOD, entry(path="/mcp/other")], "two plan entries have the same 'name': github"),
    ([GOOD, entry(name="other")], "two plan entries have the same 'path': /mcp/github"),
])
def test_malformed_plans_name_the_entry_and_key(data, message):
    with pytest.raises(PlanError) as caught:
        parse_plan(data)
    assert message in str(caught.value)


def test_second_entry_is_named_by_index_and_name():
    with pytest.raises(PlanError, match=r"plan entry 1 \('slack'\): missing key\(s\) 'expectedTools'"):
        parse_plan([GOOD, entry(name="slack", path="/mcp/slack", expectedTools=None)])


def test_probe_is_optional_and_tools_match_defaults_to_exact():
    (route,) = parse_plan([entry(probe=None)])
    assert route.probe_tool is None and route.probe_arguments == {}
    assert route.tools_match == "exact" and route.targets == () and not route.prefixed
    (route,) = parse_plan([entry(toolsMatch="atLeast")])
    assert route.tools_match == "atLeast"


AGGREGATE = {"name": "mcp-all", "path": "/mcp", "targets": ["github", "slack"], "toolsMatch": "exact",
             "expectedTools": ["github_get_repo", "github_list_issues", "slack_list_channels"],
             "deniedTools": ["github_delete_repo", "slack_delete_channel"],
             "probe": {"tool": "slack_list_channels", "arguments": {}}}


def aggregate(**changes):
    data = {**AGGREGATE, **changes}
    return {key: value for key, value in data.items() if value is not None}


def test_aggregated_entry_with_prefixed_names_parses():
    (route,) = parse_plan([AGGREGATE])
    assert route.prefixed and route.targets == ("github", "slack")
    assert route.expected_tools == ("github_get_repo", "github_list_issues", "slack_list_channels")
    assert route.denied_tools == ("github_delete_repo", "slack_delete_channel")
    assert route.probe_tool == "slack_list_channels"


def test_a_tool_name_may_contain_the_delimiter_after_the_target():
    (route,) = parse_plan([aggregate(expectedTools=["github_get_repo_v2"], deniedTools=None, probe=None)])
    assert route.expected_tools == ("github_get_repo_v2",)


@pytest.mark.parametrize("data, message", [
    ([entry(toolsMatch="subset")], "plan entry 0 ('github'): 'toolsMatch' must be one of exact, atLeast, got 'subset'"),
    ([entry(toolsMatch=None, probe=None, targets="github")],
     "plan entry 0 ('github'): 'targets' must be a list of non-empty strings"),
    ([aggregate(targets=[])], "plan entry 0 ('mcp-all'): 'targets' must list at least one target"),
    ([aggregate(targets=["github", "github"])], "'targets' lists github more than once"),
    ([aggregate(targets=["git_hub", "slack"])], "'targets' has invalid target name(s) 'git_hub'"),
    ([aggregate(targets=["GitHub", "slack"])], "'targets' has invalid target name(s) 'GitHub'"),
    ([aggregate(expectedTools=["get_repo", "slack_list_channels"], probe=None)],
     "plan entry 0 ('mcp-all'): 'expectedTools' name 'get_repo' is not '<target>_<tool>' with a target in "
     "'targets' (github, slack)"),
    ([aggregate(expectedTools=["jira_get_issue", "slack_list_channels"], probe=None)],
     "'expectedTools' name 'jira_get_issue' is not '<target>_<tool>'"),
    ([aggregate(expectedTools=["github_", "slack_list_channels"], probe=None)],
     "'expectedTools' name 'github_' is not '<target>_<tool>'"),
    ([aggregate(deniedTools=["delete_repo"])],
     "plan entry 0 ('mcp-all'): 'deniedTools' name 'delete_repo' is not '<target>_<tool>'"),
    ([aggregate(targets=["github"], expectedTools=["github_get_repo", "slack_list_channels"], deniedTools=None,
                probe=None)],
     "'expectedTools' name 'slack_list_channels' is not '<target>_<tool>' with a target in 'targets' (github)"),
    ([aggregate(targets=["github"], expectedTools=["github_get_repo"], deniedTools=None,
                probe={"tool": "slack_list_channels"})],
     "'probe.tool' 'slack_list_channels' is not in 'expectedTools'"),
])
def test_malformed_new_keys_name_the_entry_and_key(data, message):
    with pytest.raises(PlanError) as caught:
        parse_plan(data)
    assert message in str(caught.value)


def test_plan_file_errors_name_the_file(tmp_path):
    with pytest.raises(PlanError, match="cannot read plan file .*missing.json"):
        load_plan_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    with pytest.raises(PlanError, match=r"bad.json: not valid JSON"):
        load_plan_file(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps([entry(path="x")]))
    with pytest.raises(PlanError, match=r"wrong.json: plan entry 0 \('github'\): 'path'"):
        load_plan_file(wrong)


def fake_pulumi(bin_dir: Path, script: str) -> None:
    """Put an executable `pulumi` shell script on a directory meant for PATH."""
    path = bin_dir / "pulumi"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_stack_plan_comes_from_pulumi_stack_output(tmp_path, monkeypatch):
    args_file = tmp_path / "args"
    fake_pulumi(tmp_path, f'echo "$@" > "{args_file}"\ncat <<"EOF"\n{json.dumps([GOOD])}\nEOF\n')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    (route,) = load_plan_from_stack("dev")
    assert route.name == "github"
    assert args_file.read_text().split() == ["stack", "output", "verificationPlan", "--json", "--stack", "dev"]


def test_stack_plan_reports_pulumi_failure_with_its_message(tmp_path, monkeypatch):
    fake_pulumi(tmp_path, 'echo "error: no stack named \'qa\' found" >&2\nexit 255\n')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(PlanError, match=r"failed with exit code 255: error: no stack named 'qa' found"):
        load_plan_from_stack("qa")


def test_stack_plan_without_pulumi_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no pulumi
    with pytest.raises(PlanError, match="'pulumi' is not on PATH"):
        load_plan_from_stack("dev")


# ---------------------------------------------------------------------------------- auth keys (issue 12)

AUTHED = entry(auth={"required": True, "resourceMetadata": True}, allowedGroups=["mcp-github"],
               toolGroups={"list_issues": ["mcp-writers", "admins"]}, groupsClaim="roles")


def test_auth_keys_parse():
    (route,) = parse_plan([AUTHED])
    assert route.auth_required and route.resource_metadata and route.groups_claim == "roles"
    assert route.allowed_groups == ("mcp-github",)
    assert route.tool_groups == (("list_issues", ("mcp-writers", "admins")),)
    assert route.restricted_tools() == ("get_repo", "list_issues", "delete_repo")  # allowedGroups: all of them
    (plain,) = parse_plan([entry(auth={"required": True}, toolGroups={"delete_repo": ["x"]})])
    assert not plain.resource_metadata and plain.restricted_tools() == ("delete_repo",)
    (anonymous,) = parse_plan([GOOD])
    assert not anonymous.auth_required and not anonymous.group_restricted


@pytest.mark.parametrize("changes, message", [
    ({"auth": True}, "'auth' must be an object, got True"),
    ({"auth": {"required": "yes"}}, "'auth.required' must be true or false, got 'yes'"),
    ({"auth": {"resourceMetadata": True}}, "'auth' must have 'required'"),
    ({"auth": {"required": False, "resourceMetadata": True}}, "'auth.resourceMetadata' true needs 'auth.required'"),
    ({"auth": {"required": True, "scopes": []}}, "unknown key(s) 'scopes' in 'auth'"),
    ({"allowedGroups": "mcp-github"}, "'allowedGroups' must be a list of non-empty strings"),
    ({"toolGroups": {"nope": ["a"]}}, "'toolGroups' names 'nope', which is in neither"),
    ({"toolGroups": {"get_repo": []}}, "'toolGroups.get_repo' must list at least one group"),
    ({"toolGroups": ["get_repo"]}, "'toolGroups' must be an object of tool name -> list of groups"),
    ({"groupsClaim": ""}, "'groupsClaim' must be a non-empty string"),
    ({"auth": None, "toolGroups": {"get_repo": ["a"]}}, "need 'auth': {'required': true}"),
])
def test_malformed_auth_keys_name_the_entry_and_key(changes, message):
    data = {**AUTHED, **changes}
    data = {key: value for key, value in data.items() if value is not None}
    with pytest.raises(PlanError) as caught:
        parse_plan([data])
    assert message in str(caught.value) and "plan entry 0 ('github')" in str(caught.value)


# ------------------------------------------------------------------------- auth.location (where the token goes)

def _located(location: object) -> dict:
    return entry(auth={"required": True, "location": location})


@pytest.mark.parametrize("location, expected", [
    (None, ("Authorization", "Bearer abc.def")),
    ({"header": {"name": "X-Mcp-Token", "prefix": "Token "}}, ("X-Mcp-Token", "Token abc.def")),
    ({"header": {"name": "X-Mcp-Token"}}, ("X-Mcp-Token", "abc.def")),  # no prefix: the whole value is the token
    ({"cookie": {"name": "mcp_token"}}, ("Cookie", "mcp_token=abc.def")),
])
def test_auth_location_says_where_the_token_goes(location, expected):
    data = entry(auth={"required": True}) if location is None else _located(location)
    (route,) = parse_plan([data])
    assert route.token_location.header_for("abc.def") == expected


@pytest.mark.parametrize("location, message", [
    ("X-Mcp-Token", "'auth.location' must be an object, got 'X-Mcp-Token'"),
    ({}, "'auth.location' must set exactly one of header | cookie"),
    ({"header": {"name": "X-T"}, "cookie": {"name": "t"}}, "'auth.location' must set exactly one of header | cookie"),
    ({"queryParameter": {"name": "token"}}, "unknown key(s) 'queryParameter' in 'auth.location' (allowed: header, "
                                            "cookie)"),
    ({"header": "X-T"}, "'auth.location.header' must be an object"),
    ({"header": {"prefix": "Token "}}, "'auth.location.header' must have 'name'"),
    ({"header": {"name": "X-T", "value": "x"}}, "unknown key(s) 'value' in 'auth.location.header'"),
    ({"header": {"name": "X Token"}}, "'auth.location.header.name' must be an RFC 9110 header name"),
    ({"header": {"name": "X-T\r\nX-Evil"}}, "'auth.location.header.name' must be an RFC 9110 header name"),
    ({"header": {"name": "X-Tök"}}, "'auth.location.header.name' must be an RFC 9110 header name"),
    ({"header": {"name": ""}}, "'auth.location.header.name' must be an RFC 9110 header name"),
    ({"header": {"name": "x" * 257}}, "'auth.location.header.name' must be an RFC 9110 header name"),
    ({"header": {"name": "content-type"}}, "'auth.location.header.name' 'content-type' is a header the verifier "
                                           "sets itself"),
    ({"header": {"name": "Mcp-Session-Id"}}, "is a header the verifier sets itself"),
    ({"header": {"name": "X-T", "prefix": "Token\r\nX-Evil: 1 "}}, "'auth.location.header.prefix' must be 1-256 "
                                                                   "visible ASCII characters or spaces"),
    ({"header": {"name": "X-T", "prefix": "Token\n"}}, "(no control characters such as CR or LF), got 'Token\\n'"),
    ({"header": {"name": "X-T", "prefix": "Tok\x00en "}}, "'auth.location.header.prefix' must be"),
    ({"header": {"name": "X-T", "prefix": "Tok\ten "}}, "'auth.location.header.prefix' must be"),
    ({"header": {"name": "X-T", "prefix": "Jetón "}}, "'auth.location.header.prefix' must be"),
    ({"header": {"name": "X-T", "prefix": " Token"}}, "not starting with a space"),
    ({"header": {"name": "X-T", "prefix": ""}}, "'auth.location.header.prefix' must be"),
    ({"header": {"name": "X-T", "prefix": None}}, "'auth.location.header.prefix' must be"),
    ({"header": {"name": "X-T", "prefix": "x" * 257}}, "'auth.location.header.prefix' must be"),
    ({"cookie": {}}, "'auth.location.cookie' must have 'name'"),
    ({"cookie": {"name": "mcp_token", "path": "/"}}, "unknown key(s) 'path' in 'auth.location.cookie'"),
    ({"cookie": {"name": "mcp token"}}, "'auth.location.cookie.name' must be an RFC 6265 cookie name"),
    ({"cookie": {"name": "a=b"}}, "'auth.location.cookie.name' must be an RFC 6265 cookie name"),
    ({"cookie": {"name": "a;b"}}, "'auth.location.cookie.name' must be an RFC 6265 cookie name"),
    ({"cookie": {"name": "tok\r\n"}}, "'auth.location.cookie.name' must be an RFC 6265 cookie name"),
    ({"cookie": {"name": 7}}, "'auth.location.cookie.name' must be an RFC 6265 cookie name"),
])
def test_a_malformed_auth_location_names_the_entry_and_key(location, message):
    with pytest.raises(PlanError) as caught:
        parse_plan([_located(location)])
    assert message in str(caught.value) and "plan entry 0 ('github')" in str(caught.value)


def test_auth_location_needs_auth_required():
    with pytest.raises(PlanError, match=r"plan entry 0 \('github'\): 'auth.location' needs 'auth.required' true"):
        parse_plan([entry(auth={"required": False, "location": {"cookie": {"name": "mcp_token"}}})])


def test_a_token_location_is_checked_however_it_is_built():
    """Library callers build TokenLocation directly: a bad name or prefix never reaches a request either."""
    from verify.token_location import LocationError, TokenLocation
    for kwargs in ({"header": "X-T\r\nX-Evil"}, {"header": "X-T", "prefix": "Token\r\n"}, {"header": None},
                   {"header": None, "prefix": None, "cookie": "a;b"}, {"header": "X-T", "cookie": "t"}):
        with pytest.raises(LocationError):
            TokenLocation(**kwargs)
