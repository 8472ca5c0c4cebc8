"""Name comparison of the verifier (verify/tool_names.py): exact/atLeast and the per-target view of prefixed names."""
from verify.tool_names import TargetDiff, compare_tools, diff_by_target, split_prefixed

PLANNED = ["github_get_repo", "github_list_issues", "slack_list_channels", "slack_send_message"]


def test_split_prefixed_splits_at_the_first_delimiter():
    assert split_prefixed("github_get_repo") == ("github", "get_repo")
    assert split_prefixed("my-server_do_it_now") == ("my-server", "do_it_now")
    assert [split_prefixed(name) for name in ("fetch", "_fetch", "fetch_")] == [None, None, None]


def test_exact_reports_missing_and_unexpected():
    diff = compare_tools(["a", "b"], ["b", "c"])
    assert (diff.missing, diff.unexpected, diff.extra, diff.matches) == (("a",), ("c",), (), False)


def test_at_least_allows_extra_tools_but_not_missing_ones():
    diff = compare_tools(["a", "b"], ["a", "b", "c"], "atLeast")
    assert (diff.missing, diff.unexpected, diff.extra, diff.matches) == ((), (), ("c",), True)
    assert compare_tools(["a", "b"], ["a", "c"], "atLeast").missing == ("b",)


def test_names_reported_elsewhere_are_neither_unexpected_nor_extra():
    assert compare_tools(["a"], ["a", "danger"], reported_elsewhere=["danger"]).matches
    assert compare_tools(["a"], ["a", "danger"], "atLeast", reported_elsewhere=["danger"]).extra == ()


def by_target(seen, expected=PLANNED, targets=("github", "slack")):
    return diff_by_target(compare_tools(expected, seen), expected, seen, targets)


def test_a_target_whose_tools_are_all_gone_is_down():
    per_target, unprefixed = by_target(["slack_list_channels", "slack_send_message"])
    assert per_target == [TargetDiff("github", ("get_repo", "list_issues"), (), down=True)]
    assert unprefixed == ()


def test_a_target_that_still_lists_something_is_not_down():
    per_target, _ = by_target(["github_other", "slack_list_channels", "slack_send_message"])
    assert per_target == [TargetDiff("github", ("get_repo", "list_issues"), ("other",), down=False)]
    per_target, _ = by_target(["github_get_repo", "slack_list_channels", "slack_send_message"])
    assert per_target == [TargetDiff("github", ("list_issues",), (), down=False)]


def test_unknown_targets_and_unprefixed_names_are_kept_apart():
    seen = PLANNED + ["jira_get_issue", "lonely"]
    per_target, unprefixed = by_target(seen)
    assert per_target == [TargetDiff("jira", (), ("get_issue",), down=False, known=False)]
    assert unprefixed == ("lonely",)


def test_targets_are_reported_in_plan_order():
    per_target, _ = by_target([], targets=("slack", "github"))
    assert [(part.target, part.down) for part in per_target] == [("slack", True), ("github", True)]
