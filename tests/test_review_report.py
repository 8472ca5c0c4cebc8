"""The review's pieces without git: the inventory of the real stacks (in process, stable JSON keys), the change
rules (which change makes a dangerous tool callable), who-may-call wording and the Markdown guards."""
from __future__ import annotations

import copy

import pytest

from render.harness import REPO_ROOT
from review import diff, report
from review.inventory import access_of, stack_inventory

INVENTORY_KEYS = {"schema", "version", "stack", "devStack", "routes"}
ROUTE_KEYS = {"name", "path", "aggregated", "servers", "prefixed", "auth", "allowedGroups", "tools"}
TOOL_KEYS = {"name", "tool", "server", "state", "deniedBy", "dangerous", "readOnly", "access"}
CHANGE_KEYS = {"route", "path", "name", "server", "tool", "change", "dangerous", "dangerousMadeReachable",
               "dangerousMarkRemoved", "before", "after"}


@pytest.fixture(scope="module")
def inventories():
    return {stack: stack_inventory(stack, REPO_ROOT, ("dev",)) for stack in ("dev", "prod")}


def test_the_inventory_json_keys_are_the_documented_ones(inventories):
    dev = inventories["dev"]
    assert set(dev) == INVENTORY_KEYS and (dev["schema"], dev["version"]) == ("mcp-federation/tool-inventory", 1)
    for route in dev["routes"]:
        assert set(route) == ROUTE_KEYS
        for tool in route["tools"]:
            assert set(tool) == TOOL_KEYS and set(tool["access"]) == {"authentication", "groups"}
    readme = (REPO_ROOT / "README.md").read_text().split("## Tool review", 1)[1].split("\n## ", 1)[0]
    flat = " ".join(readme.split())
    for key in INVENTORY_KEYS | ROUTE_KEYS | TOOL_KEYS | CHANGE_KEYS:
        assert key in flat, f"--json key {key!r} is not documented in the README's Tool review section"


def test_the_real_stacks_inventory(inventories):
    dev, prod = inventories["dev"], inventories["prod"]
    assert dev["devStack"] and not prod["devStack"]
    names = [r["name"] for r in dev["routes"]]
    assert names[:3] == ["fetch", "github", "slack"] and names[-1] == "mcp-all"
    images = [r for r in dev["routes"] if r["name"] == "everything"]  # an image server: read-only hints unknown
    assert all(t["readOnly"] is None for r in images for t in r["tools"])
    github = {t["name"]: t for t in prod["routes"][0]["tools"]}
    assert github["delete_repo"]["deniedBy"] == ["allowList", "dangerous"] and github["delete_repo"]["dangerous"]
    assert github["get_repo"]["readOnly"] is True and github["create_issue"]["readOnly"] is False
    # prod's auth config, through the program's own plan: authenticated callers, create_issue for mcp-writers only
    assert github["get_repo"]["state"] == "reachable"
    assert github["get_repo"]["access"] == {"authentication": True, "groups": []}
    assert github["create_issue"]["state"] == "restricted"
    assert github["create_issue"]["access"] == {"authentication": True, "groups": [["mcp-writers"]]}
    aggregated = dev["routes"][-1]
    assert aggregated["aggregated"] and aggregated["prefixed"]
    assert aggregated["servers"][:3] == ["fetch", "github", "slack"]
    assert "github_delete_repo" in {t["name"] for t in aggregated["tools"]}  # dev: dangerous tools reachable
    markdown = report.inventory_markdown(prod)
    assert "| `delete_repo` | `github/delete_repo` | denied: left off the allow list (allowedTools), dangerous " \
           "tool (denyDangerousTools) | nobody | ⚠️ dangerous |" in markdown


def test_access_follows_the_plan_contract():
    assert access_of({}, "get_repo") == {"authentication": False, "groups": []}
    entry = {"auth": {"required": True}, "allowedGroups": ["b", "a"], "toolGroups": {"create_issue": ["w"]}}
    assert access_of(entry, "create_issue") == {"authentication": True, "groups": [["a", "b"], ["w"]]}
    assert access_of(entry, "get_repo") == {"authentication": True, "groups": [["a", "b"]]}
    assert access_of({"auth": {"required": True}, "allowedGroups": []}, "x")["groups"] == []  # empty: everyone


def tool(state: str, dangerous: bool = True, groups: list | None = None, auth: bool = False) -> dict:
    return {"state": state, "deniedBy": ["dangerous"] if state == "denied" else [], "dangerous": dangerous,
            "readOnly": False, "access": {"authentication": bool(groups) or auth, "groups": groups or []}}


@pytest.mark.parametrize("before, after, expected", [
    (None, tool("reachable"), True),
    (tool("denied"), tool("reachable"), True),
    (tool("denied"), tool("restricted", groups=[["admins"]]), True),
    (tool("restricted", groups=[["admins"]]), tool("reachable"), True),
    (tool("reachable"), tool("reachable"), False),
    (tool("reachable"), tool("restricted", groups=[["admins"]]), False),
    (tool("restricted", groups=[["a"]]), tool("restricted", groups=[["b"]]), False),
    (tool("reachable"), tool("denied"), False),
    (None, tool("denied"), False),
    (tool("denied", dangerous=False), tool("reachable", dangerous=False), False),
    (tool("reachable", dangerous=True), None, False),
    # the dangerous mark dropped in the same change that opens the tool: marked on one side is enough
    (tool("denied"), tool("reachable", dangerous=False), True),
    (tool("restricted", groups=[["admins"]]), tool("reachable", dangerous=False), True),
    (tool("reachable"), tool("reachable", dangerous=False), False),  # already callable before
    # a token was needed, now anonymous callers get the tool
    (tool("reachable", auth=True), tool("reachable"), True),
    (tool("restricted", groups=[["admins"]]), tool("reachable", auth=False), True),
    (tool("reachable", auth=True), tool("reachable", auth=True), False),
    (tool("reachable"), tool("reachable", auth=True), False),
    (tool("reachable", dangerous=False, auth=True), tool("reachable", dangerous=False), False),
])
def test_which_changes_make_a_dangerous_tool_callable(before, after, expected):
    assert diff.makes_dangerous_reachable(before, after) is expected


def test_a_diff_of_one_inventory_with_itself_is_unchanged_and_a_stack_only_on_one_side_is_all_new(inventories):
    dev = inventories["dev"]
    same = diff.diff_stack("dev", dev, copy.deepcopy(dev), ("dev",))
    assert same["status"] == "unchanged" and same["tools"] == []
    assert report.diff_markdown({"base": {"ref": "main", "commit": "f" * 40}, "dangerousMadeReachable": [],
                                 "stacks": [same]}).splitlines()[-1] == \
        "**Stack `dev` (dev stack): no change in routes or tools.**"
    new = diff.diff_stack("qa", None, inventories["prod"], ("dev",))
    assert new["status"] == "added" and {c["change"] for c in new["tools"]} == {"appeared"}
    assert all(set(c) == CHANGE_KEYS for c in new["tools"])
    assert [r["name"] for r in new["routesAdded"]] == ["github", "slack"]
    assert not any(c["dangerousMadeReachable"] for c in new["tools"])  # prod denies them
    gone = diff.diff_stack("prod", inventories["prod"], None, ("dev",))
    assert gone["status"] == "removed" and {c["change"] for c in gone["tools"]} == {"disappeared"}


def test_a_dropped_dangerous_mark_that_opens_the_tool_is_called_out(inventories):
    """A change that removes `dangerous=True` from a tool also takes it off denyDangerousTools' list: the tool opens
    in every stack that denied it for that reason only, and the report says the mark was removed."""
    before = inventories["prod"]
    after = copy.deepcopy(before)
    (slack,) = [r for r in after["routes"] if r["name"] == "slack"]
    (tool_after,) = [t for t in slack["tools"] if t["tool"] == "delete_channel"]
    assert tool_after["deniedBy"] == ["dangerous"]  # prod denies it for being dangerous only
    tool_after.update(dangerous=False, state="reachable", deniedBy=[])
    stack = diff.diff_stack("prod", before, after, ("dev",))
    (change,) = stack["tools"]
    assert change["change"] == "becameReachable" and change["dangerous"]
    assert change["dangerousMadeReachable"] and change["dangerousMarkRemoved"]
    assert diff.dangerous_made_reachable([stack]) == [{"stack": "prod", "devStack": False, "route": "slack",
                                                       "path": "/mcp/slack", "name": "delete_channel",
                                                       "dangerousMarkRemoved": True}]
    text = report.diff_markdown({"base": {"ref": "main", "commit": "f" * 40}, "head": "working tree",
                                 "dangerousMadeReachable": diff.dangerous_made_reachable([stack]),
                                 "stacks": [stack]})
    assert "> - `delete_channel`: stack `prod`, route `slack` `/mcp/slack` (dangerous mark removed)" in text
    assert "| becomes reachable; dangerous mark removed |" in text


def test_no_value_from_a_stack_or_server_file_leaves_its_code_span(inventories):
    """Every name, path and group a stack file or server file controls reaches the Markdown through `code()`: a
    value with a line break cannot end the table row or start a line of its own."""
    before = inventories["prod"]
    after = copy.deepcopy(before)
    route = after["routes"][1]
    route.update(name=FORGED, path=FORGED, servers=[FORGED])
    for item in route["tools"]:
        item.update(name=FORGED + item["name"], server=FORGED, tool=FORGED)
        item.update(state="restricted", deniedBy=[], access={"authentication": True, "groups": [[FORGED, "b"]]})
    after["routes"].append({**route, "name": FORGED + "2", "aggregated": True, "prefixed": True})
    after["routes"][0]["tools"][0].update(state="denied", deniedBy=[FORGED])
    after["stack"] = FORGED
    stack = diff.diff_stack(FORGED, before, after, ())
    stack["routesMoved"].append({"name": FORGED, "pathBefore": FORGED, "pathAfter": FORGED})
    review = {"base": {"ref": FORGED, "commit": "f" * 40}, "head": FORGED, "stacks": [stack],
              "dangerousMadeReachable": [{"stack": FORGED, "devStack": False, "route": FORGED, "path": FORGED,
                                          "name": FORGED, "dangerousMarkRemoved": False}]}
    for text in (report.diff_markdown(review), report.inventory_markdown(after)):
        for line in text.splitlines():
            assert not line.startswith("x"), line
            outside = "".join(line.split("`")[0::2])  # the text outside the code spans
            assert "@octocat" not in outside and "<!--" not in outside, line


def test_dangerous_changes_come_first_in_a_stack(inventories):
    before = inventories["dev"]
    after = copy.deepcopy(before)
    for route in after["routes"]:
        for item in route["tools"]:
            item["readOnly"] = not item["readOnly"]  # every tool changes; the dangerous ones must lead
    changes = diff.diff_stack("dev", before, after, ("dev",))["tools"]
    flags = [c["dangerous"] for c in changes]
    assert flags == sorted(flags, reverse=True) and flags[0] and not flags[-1]


FORGED = "x\n\n**Stack `prod`: no change in routes or tools.** @octocat <!--"


def test_markdown_cells_cannot_break_the_table_and_long_reports_are_cut():
    assert report.code("a|b`c") == "`a\\|b'c`"
    # line breaks and other control or invisible characters are collapsed or escaped visibly, never passed on
    assert report.code(FORGED) == "`x **Stack 'prod': no change in routes or tools.** @octocat <!--`"
    assert report.code("a\r\nb\tc\u2028d\x85e") == "`a b c d e`"
    assert report.code("a\x00b\x1bc\u202ed\u200be") == "`a\\u0000b\\u001bc\\u202ed\\u200be`"
    assert report.code("\ud800") == "`\\ud800`"
    long = report.code("t" * 1000)
    assert len(long) == report.MAX_CODE_CHARS + 2 and long.endswith("…`")
    assert report.code("t" * report.MAX_CODE_CHARS) == f"`{'t' * report.MAX_CODE_CHARS}`"
    text = "".join(f"line {i}\n" for i in range(5000))
    cut = report.fit(text, 1000)
    assert len(cut) <= 1000 and cut.endswith("make review` locally for all of it)\n")
    assert cut.split("…")[0].endswith("\n\n") or cut.split("…")[0].endswith("\n")
    assert report.fit(text, None) == text and report.fit("short\n", 1000) == "short\n"
