"""The review with the plan contract's auth keys (HELPERS.md: `auth`, `allowedGroups`, `toolGroups` per plan
entry): restricted tools, who may call them, and changes of either, from a program whose `verificationPlan`
carries the keys: the test's copy adds them to the plan of routes whose config has none, so each rule is exercised
independently of the stacks' own auth config (prod's toolGroups are covered in tests/test_review_report.py)."""
from __future__ import annotations

import pytest

from tests.review_repo import make_repo, stack_entry, tool_change

# Added to the copied __main__.py right before the plan is exported: what an authenticated program would emit.
AUTH_PLAN = '''
for _entry in federation.verification_plan:
    if _entry["name"] == "github":
        _entry.update(auth={"required": True, "resourceMetadata": True}, groupsClaim="groups",
                      allowedGroups=["mcp-github"],
                      toolGroups={"create_issue": ["mcp-writers"], "delete_repo": ["mcp-admins"]})
    elif _entry["name"] == "slack":
        _entry.update(auth={"required": True, "resourceMetadata": False})
'''
EXPORT = 'pulumi.export("verificationPlan", federation.verification_plan)'


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = make_repo(tmp_path_factory.mktemp("review-auth"))
    repo.edit("__main__.py", EXPORT, AUTH_PLAN + EXPORT)
    repo.commit("github route: authentication and groups")
    return repo


def test_the_inventory_shows_restricted_tools_and_who_may_call_them(repo):
    inventory = repo.review_json("inventory", "--stack", "dev")
    (github,) = [r for r in inventory["routes"] if r["name"] == "github"]
    assert github["auth"] == {"required": True} and github["allowedGroups"] == ["mcp-github"]
    tools = {t["name"]: t for t in github["tools"]}
    assert tools["create_issue"]["state"] == "restricted"
    assert tools["create_issue"]["access"] == {"authentication": True, "groups": [["mcp-github"], ["mcp-writers"]]}
    assert tools["delete_repo"]["state"] == "restricted"  # dev leaves dangerous tools callable: by admins only here
    assert tools["get_repo"]["state"] == "restricted"  # the route's allowedGroups restrict every tool
    assert tools["get_repo"]["access"]["groups"] == [["mcp-github"]]
    text = repo.review("inventory", "--stack", "dev").stdout
    assert "| `create_issue` | `github/create_issue` | restricted | groups `mcp-github` and `mcp-writers` |" in text
    (slack,) = [r for r in inventory["routes"] if r["name"] == "slack"]
    assert {t["state"] for t in slack["tools"]} == {"reachable"}  # any authenticated caller: not restricted
    assert "| `send_message` | `slack/send_message` | reachable | any authenticated caller |" in text
    (fetch,) = [r for r in inventory["routes"] if r["name"] == "fetch"]
    assert fetch["tools"][0]["access"] == {"authentication": False, "groups": []}  # untouched route: anonymous


def test_the_diff_shows_who_may_call_changes_and_flags_a_widened_dangerous_tool(repo):
    review = repo.review_json("diff", "--base", "base", "--stack", "dev", "--stack", "staging")
    create = tool_change(review, "staging", "github", "create_issue")  # staging authenticates every route already
    assert create["change"] == "becameRestricted"
    assert create["before"]["access"] == {"authentication": True, "groups": []}
    assert create["after"]["access"]["groups"] == [["mcp-github"], ["mcp-writers"]]
    # denied on both sides in staging: who could call it does not matter, so no change is reported
    assert "delete_repo" not in {c["name"] for c in stack_entry(review, "staging")["tools"]}
    delete = tool_change(review, "dev", "github", "delete_repo")
    assert delete["change"] == "becameRestricted" and not delete["dangerousMadeReachable"]  # narrowed
    send = tool_change(review, "dev", "slack", "send_message")  # dev was anonymous
    assert send["change"] == "accessChanged" and send["after"]["access"] == {"authentication": True, "groups": []}
    assert send["before"]["access"] == {"authentication": False, "groups": []}

    repo.edit("__main__.py", ', "delete_repo": ["mcp-admins"]', "")
    repo.edit("__main__.py", 'allowedGroups=["mcp-github"],', "")
    repo.commit("delete_repo for every authenticated caller")
    widened = repo.review_json("diff", "--base", "HEAD~1", "--stack", "dev")
    change = tool_change(widened, "dev", "github", "delete_repo")
    assert change["change"] == "becameReachable" and change["dangerousMadeReachable"]
    assert change["after"]["access"] == {"authentication": True, "groups": []}
    get_repo = tool_change(widened, "dev", "github", "get_repo")
    assert get_repo["change"] == "becameReachable" and not get_repo["dangerousMadeReachable"]
    text = repo.review("diff", "--base", "HEAD~1", "--stack", "dev").stdout
    assert "| restricted (groups `mcp-github` and `mcp-admins`) | reachable (any authenticated caller) |" in text
