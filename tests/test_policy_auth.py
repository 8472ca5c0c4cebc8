"""The policy pack's jwt-authentication-required rule (issue 12) on whole stacks: the real staging and prod stacks
(Gateway-level and route-level checks) pass, and mutated copies of their real objects show what it reports."""
from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from tests.pulumi_mocks import cli_config, mocks  # noqa: F401 (fixture)
from tests.resource_types import HTTP_ROUTE, POLICY
from tests.test_policy_program import PolicyView, dev, run_stack  # noqa: F401 (fixture)
from tests.test_policy_stacks import stack_file_view

RULE = "jwt-authentication-required"


def _reported(view: PolicyView, config: dict | None = None) -> list[tuple[str, str]]:
    return sorted((v.urn, v.message) for v in view.check(config) if v.policy == RULE)


def _jwt_policy_names(view: PolicyView) -> list[str]:
    return [r.name for r in view.inputs if r.resource_type == POLICY and "traffic" in r.props["spec"]]


def _route_names(view: PolicyView) -> list[str]:
    return [r.name for r in view.inputs if r.resource_type == HTTP_ROUTE]


@pytest.fixture(scope="module")
def staging() -> PolicyView:
    return stack_file_view("staging")


@pytest.fixture(scope="module")
def prod() -> PolicyView:
    return stack_file_view("prod")


def _with_copy(view: PolicyView, name: str, new_name: str, mutate) -> PolicyView:
    """`view` plus a copy of its AgentgatewayPolicy `name`, renamed `new_name` and changed by `mutate`."""
    original = view.get(POLICY, name)
    props = copy.deepcopy(dict(original.props))
    props["metadata"] = {**props["metadata"], "name": new_name}
    mutate(props)
    extra = original._replace(props=props, name=new_name, urn=original.urn.replace(name, new_name))
    return replace(view, inputs=view.inputs + (extra,), outputs=view.outputs + (extra,))


def test_the_real_non_dev_stacks_comply(staging, prod):
    assert _reported(staging) == [] and _reported(prod) == []
    assert _jwt_policy_names(staging) == ["mcp-gateway-jwt"]                  # one check on the Gateway
    assert sorted(_jwt_policy_names(prod)) == ["github-jwt", "slack-jwt"]    # one per route


def test_dev_may_stay_anonymous_and_only_dev(dev):
    assert _jwt_policy_names(dev) == [] and _reported(dev) == []
    as_staging = dev.as_stack("staging")
    found = _reported(as_staging)
    assert [urn for urn, _ in found] == sorted(as_staging.urn(HTTP_ROUTE, name) for name in _route_names(dev))
    assert all("is not covered by JWT authentication in stack 'staging'" in message for _, message in found)
    assert _reported(as_staging, {RULE: {"devStacks": ["dev", "staging"]}}) == []


def test_without_the_gateway_check_every_route_is_reported(staging):
    found = _reported(staging.without(POLICY, "mcp-gateway-jwt"))
    assert [urn for urn, _ in found] == sorted(staging.urn(HTTP_ROUTE, name) for name in _route_names(staging))
    assert len(found) == 4  # fetch, github, slack and the aggregated route


def test_a_route_without_its_check_is_reported(prod):
    ((urn, message),) = _reported(prod.without(POLICY, "slack-jwt"))
    assert urn == prod.urn(HTTP_ROUTE, "slack-route")
    assert message.startswith("HTTPRoute mcp/slack is not covered by JWT authentication in stack 'prod'")


@pytest.mark.parametrize("mode", ["Optional", "Permissive", None])
def test_a_check_that_is_not_explicitly_strict_is_reported(staging, mode):
    def set_mode(props: dict) -> None:
        authentication = props["spec"]["traffic"]["jwtAuthentication"]
        if mode is None:
            del authentication["mode"]
        else:
            authentication["mode"] = mode
    found = _reported(staging.mutated(POLICY, "mcp-gateway-jwt", set_mode))
    assert len(found) == 4
    assert all(f"has jwtAuthentication mode {mode!r}; stack 'staging' needs mode Strict" in m for _, m in found)


def test_a_policy_for_another_gateway_or_listener_does_not_count(staging):
    other_gateway = staging.mutated(POLICY, "mcp-gateway-jwt",
                                    lambda p: p["spec"]["targetRefs"][0].update(name="other-gateway"))
    assert len(_reported(other_gateway)) == 4
    other_listener = staging.mutated(POLICY, "mcp-gateway-jwt",
                                     lambda p: p["spec"]["targetRefs"][0].update(sectionName="https"))
    assert len(_reported(other_listener)) == 4
    same_listener = staging.mutated(POLICY, "mcp-gateway-jwt",
                                    lambda p: p["spec"]["targetRefs"][0].update(sectionName="http"))
    assert _reported(same_listener) == []


def test_a_second_check_on_a_route_is_reported(staging):
    """A route-level policy next to the Gateway's: two checks on one request (the second sees no token)."""
    def on_the_route(props: dict) -> None:
        props["metadata"]["namespace"] = "mcp"
        props["spec"]["targetRefs"] = [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "github"}]
    doubled = _with_copy(staging, "mcp-gateway-jwt", "github-jwt", on_the_route)
    ((urn, message),) = _reported(doubled)
    assert urn == staging.urn(HTTP_ROUTE, "github-route")
    assert message.startswith("HTTPRoute mcp/github is covered by 2 jwtAuthentication policies")


def _by_selector(mode: str):
    def select(props: dict) -> None:
        del props["spec"]["targetRefs"]
        props["spec"]["targetSelectors"] = [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                             "matchLabels": {"app.kubernetes.io/part-of": "mcp-federation"}}]
        props["spec"]["traffic"]["jwtAuthentication"]["mode"] = mode
    return select


@pytest.mark.parametrize("mode", ["Permissive", "Strict"])
def test_a_check_attached_by_label_selector_is_reported(prod, mode):
    """Which routes a selector picks is unknown here, so a second check (a random winner) could hide behind it."""
    view = _with_copy(prod, "github-jwt", "loose-jwt", _by_selector(mode))
    ((urn, message),) = _reported(view)
    assert urn == view.urn(POLICY, "loose-jwt")
    assert message == ("AgentgatewayPolicy mcp/loose-jwt sets traffic.jwtAuthentication on targets chosen by label "
                       "(spec.targetSelectors) in stack 'prod', so which routes it covers cannot be checked, and "
                       "with another check on a route it makes two; the program never writes selectors: use "
                       "targetRefs naming the Gateway or the route")
    assert _reported(view.as_stack("dev")) == []


def test_a_route_covered_only_by_a_selector_is_not_covered(prod):
    view = prod.mutated(POLICY, "github-jwt", _by_selector("Strict"))
    assert [urn for urn, _ in _reported(view)] == sorted([prod.urn(POLICY, "github-jwt"),
                                                         prod.urn(HTTP_ROUTE, "github-route")])


def test_an_aggregated_stack_on_an_existing_gateway_complies(mocks):
    view = run_stack(mocks, "prod", cli_config("prod", {"mcp-federation:aggregate": {"enabled": True},
                                                        "mcp-federation:secrets": {"sessionKey": "k" * 32}}))
    assert "mcp-all-jwt" in _jwt_policy_names(view) and _reported(view) == []


def test_a_dangerous_tool_allowed_to_a_group_still_counts_as_callable(prod):
    """An Allow rule narrowed by a claim condition allows the tool to that group: not a denial."""
    def allow_delete_to_admins(props: dict) -> None:
        props["spec"]["backend"]["mcp"]["authorization"]["policy"]["matchExpressions"].append(
            'mcp.tool.name == "delete_repo" && has(jwt.groups) && type(jwt.groups) == list && "admins" in jwt.groups')
    found = [v for v in prod.mutated(POLICY, "github-tools", allow_delete_to_admins).check()
             if v.policy == "dangerous-tools-denied"]
    assert [v.message.split(";")[0] for v in found] == [
        "AgentgatewayBackend mcp/github: dangerous tool github/delete_repo is not denied in stack 'prod'"]


def _dangerous(view: PolicyView) -> list[str]:
    return [v.message for v in view.check() if v.policy == "dangerous-tools-denied"]


@pytest.mark.parametrize("expression", [
    "mcp.tool.name == 'delete_repo'", 'mcp.tool.name == "get_repo" || mcp.tool.name == "delete_repo"', "true",
    'mcp.tool.target == "github"', 'mcp.tool.name == "get_repo" && has(jwt.groups) || true'])
def test_an_allow_rule_the_program_would_not_write_counts_as_allowing_anything(prod, expression):
    """Fail closed: only the canonical tool rules (optionally narrowed by a group condition) are understood."""
    def add_rule(props: dict) -> None:
        props["spec"]["backend"]["mcp"]["authorization"]["policy"]["matchExpressions"].append(expression)
    (message,) = _dangerous(prod.mutated(POLICY, "github-tools", add_rule))
    assert message.startswith("AgentgatewayBackend mcp/github: dangerous tool github/delete_repo is not denied in "
                              f"stack 'prod'; Allow rule {expression!r} is not in a form the program writes")


def test_a_deny_on_a_section_of_the_backend_does_not_count(prod):
    """MCP authorization is evaluated with the whole backend's policies (agentgateway mcp/router.rs)."""
    def aim_at_a_section(props: dict) -> None:
        props["spec"]["targetRefs"][0]["sectionName"] = "slack"
    (message,) = _dangerous(prod.mutated(POLICY, "slack-tools", aim_at_a_section))
    assert message.startswith("AgentgatewayBackend mcp/slack: dangerous tool slack/delete_channel is not denied")


def test_an_allow_rule_on_a_route_may_reach_the_backend(prod):
    """Backend policies on a route reach its backends and compose with the backend's own (binds.rs)."""
    def allow_everything_on_the_route(props: dict) -> None:
        props["spec"]["targetRefs"] = [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "other"}]
        props["spec"]["backend"]["mcp"]["authorization"] = {"action": "Allow", "policy": {"matchExpressions": ["true"]}}
    view = prod.mutated(POLICY, "slack-tools", allow_everything_on_the_route)
    assert any(m.startswith("AgentgatewayBackend mcp/github: dangerous tool github/delete_repo is not denied")
               for m in _dangerous(view))


def test_a_route_policy_on_one_rule_of_the_route_is_partial(prod):
    def one_rule(props: dict) -> None:
        props["spec"]["targetRefs"][0]["sectionName"] = "tools"
    ((urn, message),) = _reported(prod.mutated(POLICY, "github-jwt", one_rule))
    assert urn == prod.urn(HTTP_ROUTE, "github-route")
    assert message.startswith("HTTPRoute mcp/github: AgentgatewayPolicy mcp/github-jwt authenticates only its rule "
                              "'tools' (targetRef sectionName)")


def test_a_route_on_two_listeners_needs_both_covered(staging):
    def second_listener(props: dict) -> None:
        props["spec"]["parentRefs"].append({**props["spec"]["parentRefs"][0], "sectionName": "https"})
    on_two = staging.mutated(HTTP_ROUTE, "github-route", second_listener)
    assert _reported(on_two) == []  # the Gateway-wide policy covers both
    http_only = on_two.mutated(POLICY, "mcp-gateway-jwt",
                               lambda p: p["spec"]["targetRefs"][0].update(sectionName="http"))
    ((urn, message),) = _reported(http_only)
    assert urn == staging.urn(HTTP_ROUTE, "github-route")
    assert message.startswith("HTTPRoute mcp/github is not covered by JWT authentication in stack 'staging' "
                              "through every parentRef")
