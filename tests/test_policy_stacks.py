"""Whole stacks through the policy pack: dev and every non-dev stack (Pulumi.<stack>.yaml) pass every policy, and
dangerous tools may stay callable in dev stacks only; mutated copies of the real AgentgatewayPolicies and
backends show what the dangerous-tools-denied rule reports."""
from __future__ import annotations

import pytest

from components.catalog import load_catalog
from components.config import CODE_DIR
from components.tool_policy import tool_expression
from policy.dangerous_tools import DANGEROUS_TOOLS_ANNOTATION
from render.core import run_stack as run_rendered
from render.stack_config import stack_config
from tests.pulumi_mocks import REPO_ROOT, cli_config, mocks  # noqa: F401 (fixture)
from tests.test_policy_program import BACKEND, IMAGE_SERVER_DANGEROUS, SERVERS, PolicyView, dev, policy_view, run_stack  # noqa: F401,E501
from tests.resource_types import POLICY

# What a non-dev stack needs to pass jwt-authentication-required (tests/test_policy_auth.py tests that rule).
STRICT_AUTH = {"mode": "Strict", "providers": [{"issuer": "https://idp.example.com", "audiences": ["mcp"],
                                                "jwks": {"remote": {"url": "https://idp.example.com/certs"}}}]}
NON_DEV_STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in REPO_ROOT.glob("Pulumi.*.yaml")
                        if p.name != "Pulumi.dev.yaml")


def stack_file_view(stack: str) -> PolicyView:
    """Stack `stack` as the CLI would run it (Pulumi.yaml, then Pulumi.<stack>.yaml; secrets the file cannot hold
    get placeholders, as `python -m render` does), as the policy engine sees it."""
    declared, recorder, _ = run_rendered(stack_config(stack, REPO_ROOT), REPO_ROOT / "__main__.py", lambda _: None)
    return policy_view(declared, recorder)


def test_there_are_non_dev_stacks_to_check():
    assert NON_DEV_STACKS, "no Pulumi.<stack>.yaml besides dev"


@pytest.fixture(params=NON_DEV_STACKS)
def non_dev(request) -> PolicyView:
    return stack_file_view(request.param)


def _dangerous_pairs() -> dict[str, list[str]]:
    """Per server, the `<target>/<tool>` pairs its backend must declare (from the real tool catalogs)."""
    return {**{name: [f"{name}/{tool}" for tool in sorted(load_catalog(CODE_DIR, f"{name}.py").dangerous_tool_names)]
               for name in SERVERS},
            **{name: [f"{name}/{tool}" for tool in sorted(tools)] for name, tools in IMAGE_SERVER_DANGEROUS.items()}}


def _aggregate_pairs(view: PolicyView) -> dict[str, list[str]]:
    """The aggregated route's backend (dev enables it) must declare every target's pairs."""
    aggregate = [r.name[:-len("-backend")] for r in view.inputs if r.resource_type == BACKEND
                 and r.name[:-len("-backend")] not in {*SERVERS, *IMAGE_SERVER_DANGEROUS}]
    return {name: sorted(p for pairs in _dangerous_pairs().values() for p in pairs) for name in aggregate}


def _denials(view: PolicyView) -> list[tuple[str, str]]:
    """(backend URN, message) of every dangerous-tools-denied violation."""
    return sorted((v.urn, v.message) for v in view.check() if v.policy == "dangerous-tools-denied")


def _authorization_policy(view: PolicyView, backend: str) -> str:
    """The Pulumi name of the AgentgatewayPolicy that targets `backend`."""
    found = [r.name for r in view.inputs if r.resource_type == POLICY
             and any(ref.get("name") == backend and ref.get("kind") == "AgentgatewayBackend"
                     for ref in r.props["spec"]["targetRefs"])]
    assert len(found) == 1, f"expected one AgentgatewayPolicy targeting {backend}, found {found}"
    return found[0]


def test_the_dev_stack_passes_every_policy(dev):
    assert dev.check() == []


def test_every_non_dev_stack_passes_every_policy(non_dev):
    assert non_dev.check() == []
    assert any(r.resource_type == POLICY for r in non_dev.inputs)


def test_backends_carry_the_dangerous_tools_the_policy_checks(dev):
    pairs = _dangerous_pairs()
    assert pairs["github"] and pairs["slack"]  # otherwise the dangerous-tools tests below would prove nothing
    for name in pairs:
        annotations = dev.props(BACKEND, f"{name}-backend")["metadata"]["annotations"]
        assert annotations[DANGEROUS_TOOLS_ANNOTATION] == ",".join(pairs[name])


def test_dangerous_tools_may_stay_callable_in_dev_stacks_only(dev):
    assert _denials(dev) == []
    staging = dev.as_stack("staging")
    expected = sorted(
        (staging.urn(BACKEND, f"{name}-backend"),
         f"AgentgatewayBackend mcp/{name}: dangerous tool {pair} is not denied in stack 'staging'")
        for name, pairs in {**_dangerous_pairs(), **_aggregate_pairs(dev)}.items() for pair in pairs)
    assert [(urn, message.split(";")[0]) for urn, message in _denials(staging)] == expected
    # The policy config names the dev stacks.
    config = {"dangerous-tools-denied": {"devStacks": ["dev", "staging"]}}
    assert [v for v in staging.check(config) if v.policy == "dangerous-tools-denied"] == []


def test_a_dangerous_tool_left_callable_outside_dev_is_reported(non_dev):
    found = _denials(non_dev.without(POLICY, _authorization_policy(non_dev, "github")))
    assert [(urn, message.split(";")[0]) for urn, message in found] == [
        (non_dev.urn(BACKEND, "github-backend"), f"AgentgatewayBackend mcp/github: dangerous tool {pair} is not "
                                                  f"denied in stack {non_dev.inputs[0].urn.split(':')[2]!r}")
        for pair in _dangerous_pairs()["github"]]


def _authorization(props: dict) -> dict:
    return props["spec"]["backend"]["mcp"]["authorization"]


def test_a_deny_rule_must_match_the_canonical_expression(non_dev):
    name = _authorization_policy(non_dev, "slack")
    assert _authorization(non_dev.props(POLICY, name))["action"] == "Deny"
    loose = non_dev.mutated(POLICY, name, lambda d: _authorization(d)["policy"].update(
        matchExpressions=['mcp.tool.name.startsWith("delete")']))
    assert [urn for urn, _ in _denials(loose)] == [non_dev.urn(BACKEND, "slack-backend")]


def test_an_allow_list_denies_every_tool_it_does_not_list(non_dev):
    name = _authorization_policy(non_dev, "github")
    dangerous_expression = tool_expression(None, "delete_repo")
    safe = 'mcp.tool.name == "search_repositories"'
    allow_safe = non_dev.mutated(POLICY, name, lambda d: _authorization(d).update(
        action="Allow", policy={"matchExpressions": [safe]}))
    assert _denials(allow_safe) == []
    allow_all = non_dev.mutated(POLICY, name, lambda d: _authorization(d).update(
        action="Allow", policy={"matchExpressions": [safe, dangerous_expression]}))
    assert [urn for urn, _ in _denials(allow_all)] == [non_dev.urn(BACKEND, "github-backend")]


def _inline_authorization(action: str, *expressions: str):
    """Sets the backend's own `spec.policies.mcp.authorization`."""
    return lambda d: d["spec"].update(policies={"mcp": {"authorization": {
        "action": action, "policy": {"matchExpressions": list(expressions)}}}})


def test_the_backends_own_allow_rules_compose_with_the_policies(non_dev):
    """agentgateway adds the backend's inline authorization to the AgentgatewayPolicies' (httpproxy.rs
    get_backend_policies): its Allow rules may open a tool the policy's Allow list leaves out."""
    name = _authorization_policy(non_dev, "github")
    allow_safe = non_dev.mutated(POLICY, name, lambda d: _authorization(d).update(
        action="Allow", policy={"matchExpressions": ['mcp.tool.name == "search_repositories"']}))
    assert _denials(allow_safe) == []
    inline = "(the backend's spec.policies.mcp.authorization)"
    for expression, reason in (("true", "is not in a form the program writes, so it may match any tool"),
                               (tool_expression(None, "delete_repo"), "allows it")):
        opened = allow_safe.mutated(BACKEND, "github-backend", _inline_authorization("Allow", expression))
        ((urn, message),) = _denials(opened)
        assert urn == non_dev.urn(BACKEND, "github-backend")
        assert f"github/delete_repo is not denied in stack {non_dev.inputs[0].urn.split(':')[2]!r}; Allow rule " \
               f"{expression!r} {reason} {inline}; declare" in message


def test_the_backends_own_authorization_applies_to_the_whole_backend(non_dev):
    """With no AgentgatewayPolicy, the inline authorization alone decides: a canonical Deny or an Allow list
    without the tool denies it, a Deny rule in another form denies nothing."""
    bare = non_dev.without(POLICY, _authorization_policy(non_dev, "github"))
    denied = [tool_expression(None, pair.split("/")[1]) for pair in _dangerous_pairs()["github"]]
    assert _denials(bare.mutated(BACKEND, "github-backend", _inline_authorization("Deny", *denied))) == []
    assert _denials(bare.mutated(BACKEND, "github-backend", _inline_authorization(
        "Allow", 'mcp.tool.name == "search_repositories"'))) == []
    loose = bare.mutated(BACKEND, "github-backend", _inline_authorization("Deny", 'mcp.tool.name.startsWith("delete")'))
    assert {urn for urn, _ in _denials(loose)} == {non_dev.urn(BACKEND, "github-backend")}


def test_a_backend_without_the_annotation_cannot_be_checked_outside_dev(non_dev):
    stripped = non_dev.mutated(BACKEND, "slack-backend",
                               lambda d: d["metadata"]["annotations"].pop(DANGEROUS_TOOLS_ANNOTATION))
    assert _denials(stripped) == [(non_dev.urn(BACKEND, "slack-backend"),
                                   "AgentgatewayBackend mcp/slack has no annotation mcp-federation.dev/dangerous-tools "
                                   "(the program sets it on every backend), so its dangerous tools cannot be checked")]


def test_an_aggregated_backend_is_checked_per_target(mocks):
    config = {"mcp-federation:denyDangerousTools": True, "mcp-federation:auth": STRICT_AUTH,
              "mcp-federation:aggregate": {"enabled": True, "name": "mcp-all", "servers": list(SERVERS)}}
    view = run_stack(mocks, "staging", cli_config("dev", config))
    assert view.check() == []
    backend = view.props(BACKEND, "mcp-all-backend")
    assert len(backend["spec"]["mcp"]["targets"]) == len(SERVERS)
    assert backend["metadata"]["annotations"][DANGEROUS_TOOLS_ANNOTATION] == \
        ",".join(sorted(pair for name in SERVERS for pair in _dangerous_pairs()[name]))
    name, urn = _authorization_policy(view, "mcp-all"), view.urn(BACKEND, "mcp-all-backend")

    def expressions(*rules: str):
        return lambda d: _authorization(d)["policy"].update(matchExpressions=list(rules))
    # A rule by tool name alone denies the tool on every target, so it counts.
    by_name = view.mutated(POLICY, name, expressions('mcp.tool.name == "delete_repo"',
                                                          'mcp.tool.name == "delete_channel"'))
    assert _denials(by_name) == []
    # A rule for another target leaves the tool callable; the message gives the target-qualified rule.
    wrong_target = view.mutated(POLICY, name, expressions(
        'mcp.tool.target == "slack" && mcp.tool.name == "delete_repo"',
        'mcp.tool.target == "slack" && mcp.tool.name == "delete_channel"'))
    ((found_urn, message),) = _denials(wrong_target)
    assert found_urn == urn
    assert message.startswith("AgentgatewayBackend mcp/mcp-all: dangerous tool github/delete_repo is not denied")
    assert 'matchExpressions [mcp.tool.target == "github" && mcp.tool.name == "delete_repo"]' in message
    assert [u for u, _ in _denials(view.without(POLICY, name))] == [urn, urn]


def test_an_image_server_passes_and_its_dangerous_tools_are_checked(mocks):
    servers = [{"name": "github"},
               {"name": "remote", "type": "image", "image": "ghcr.io/example/mcp-remote:1.2.0",
                "healthPath": "/healthz", "expectedTools": ["search", "wipe"], "dangerousTools": ["wipe"]}]
    view = run_stack(mocks, "staging", cli_config("dev", {"mcp-federation:denyDangerousTools": True,
                                                          "mcp-federation:auth": STRICT_AUTH,
                                                          "mcp-federation:servers": servers}))
    assert view.check() == []
    annotations = view.props(BACKEND, "remote-backend")["metadata"]["annotations"]
    assert annotations[DANGEROUS_TOOLS_ANNOTATION] == "remote/wipe"
    found = _denials(view.without(POLICY, _authorization_policy(view, "remote")))
    assert [(urn, message.split(";")[0]) for urn, message in found] == [
        (view.urn(BACKEND, "remote-backend"),
         "AgentgatewayBackend mcp/remote: dangerous tool remote/wipe is not denied in stack 'staging'")]
