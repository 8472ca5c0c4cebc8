"""What a side's child process prints is checked before the diff uses it: exactly the requested stacks, each a
complete inventory or an error, and the base's dev-stack list. Anything less fails the review (it never reads as
"no change" or as a stack missing at that side)."""
from __future__ import annotations

import copy

import pytest

from render.harness import REPO_ROOT
from review.inventory import stack_inventory
from review.validate import ChildOutputError, side_output


@pytest.fixture(scope="module")
def prod():
    return stack_inventory("prod", REPO_ROOT, ())


def test_complete_results_pass(prod):
    document = {"stacks": {"prod": {"inventory": prod}, "qa": {"error": {"kind": "config", "message": "bad"}}},
                "devStacks": ["dev"]}
    results, devs = side_output(copy.deepcopy(document), ["prod", "qa"], True)
    assert results == document["stacks"] and devs == ("dev",)
    assert side_output({"stacks": {}}, [], False) == ({}, None)


def _broken(prod, change):
    document = {"stacks": {"prod": {"inventory": copy.deepcopy(prod)}}, "devStacks": ["dev"]}
    change(document)
    return document


@pytest.mark.parametrize("change, message", [
    (lambda d: d["stacks"].clear(), "results for stacks [], asked for ['prod']"),
    (lambda d: d.pop("devStacks"), "keys missing ['devStacks']"),
    (lambda d: d.update(devStacks=["dev\nprod"]), "devStacks is not a list of stack names"),
    (lambda d: d["stacks"].update(qa={"error": {"kind": "config", "message": "x"}}), "asked for ['prod']"),
    (lambda d: d["stacks"]["prod"].update(error={"kind": "config", "message": "x"}), "neither one inventory nor"),
    (lambda d: d["stacks"].update(prod={"error": {"kind": "fine", "message": "x"}}), "error kind/message"),
    (lambda d: d["stacks"]["prod"]["inventory"].update(routes=[]) or d["stacks"]["prod"]["inventory"].pop("stack"),
     "keys missing ['stack']"),
    (lambda d: d["stacks"]["prod"]["inventory"].update(stack="dev"), "stack/devStack"),
    (lambda d: d["stacks"]["prod"]["inventory"].update(version=2), "schema/version"),
    (lambda d: d["stacks"]["prod"]["inventory"]["routes"].append(d["stacks"]["prod"]["inventory"]["routes"][0]),
     "a route name appears twice"),
    (lambda d: d["stacks"]["prod"]["inventory"]["routes"][0]["tools"][0].update(state="open"), "state 'open'"),
    (lambda d: d["stacks"]["prod"]["inventory"]["routes"][0]["tools"][0].update(dangerous="no"), "dangerous"),
    (lambda d: d["stacks"]["prod"]["inventory"]["routes"][0]["tools"][0].update(deniedBy=["nobody"]), "deniedBy"),
    (lambda d: d["stacks"]["prod"]["inventory"]["routes"][0]["tools"][0].update(state="denied", deniedBy=[]),
     "deniedBy does not match the state"),
    (lambda d: d["stacks"]["prod"]["inventory"]["routes"][0]["tools"][0]["access"].update(groups=[[]]),
     "access.groups"),
    (lambda d: d["stacks"]["prod"]["inventory"]["routes"][0]["tools"].pop(0) and
     d["stacks"]["prod"]["inventory"]["routes"][0]["tools"].append(
         d["stacks"]["prod"]["inventory"]["routes"][0]["tools"][0]), "a tool name appears twice"),
    (lambda d: d["stacks"]["prod"]["inventory"]["routes"][0].pop("tools"), "keys missing ['tools']"),
])
def test_incomplete_or_malformed_results_are_refused(prod, change, message):
    with pytest.raises(ChildOutputError, match=None) as raised:
        side_output(_broken(prod, change), ["prod"], True)
    assert message in str(raised.value)


@pytest.mark.parametrize("document", [None, [], "x", {"stacks": []}, {"stacks": {"prod": []}}])
def test_output_of_the_wrong_shape_is_refused(document):
    with pytest.raises(ChildOutputError):
        side_output(document, ["prod"], False)
