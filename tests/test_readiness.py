"""The waitFor annotations the program declares, run the way pulumi-kubernetes runs them (tests/pulumi_await.py)
against statuses shaped like agentgateway v1.4.1 writes them (components/readiness.py cites where)."""
from __future__ import annotations

import json

import pytest

from components import readiness
from components.federation import GATEWAY_WAIT_FOR
from components.mcp_route import BACKEND_WAIT_FOR, ROUTE_WAIT_FOR
from components.tool_policy import POLICY_WAIT_FOR
from tests.pulumi_await import AwaitError, expressions, satisfied
from tests.pulumi_mocks import cli_config, mocks, run_program  # noqa: F401 (fixture)
from tests.resource_types import BACKEND, GATEWAY, HTTP_ROUTE, POLICY

CONTROLLER = "agentgateway.dev/agentgateway"
GATEWAY_REF = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "mcp-gateway",
               "namespace": "agentgateway-system"}
STATUS_SUMMARY = {"group": "agentgateway.dev", "name": "StatusSummary"}


def cond(kind: str, status: str = "True", generation: int = 1, reason: str = "") -> dict:
    return {"type": kind, "status": status, "observedGeneration": generation, "reason": reason or kind,
            "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}


def policy(generation: int, *ancestors: tuple[dict, list[dict]]) -> dict:
    return {"metadata": {"generation": generation}, "status": {"ancestors": [
        {"ancestorRef": ref, "controllerName": CONTROLLER, "conditions": conditions} for ref, conditions in ancestors]}}


def route(generation: int, conditions: list[dict]) -> dict:
    return {"metadata": {"generation": generation}, "status": {"parents": [
        {"parentRef": {**GATEWAY_REF, "sectionName": "http"}, "controllerName": CONTROLLER,
         "conditions": conditions}]}}


# --- AgentgatewayPolicy -----------------------------------------------------------------------------------------

def test_policy_on_a_gateway_at_its_generation_is_ready():
    assert satisfied(POLICY_WAIT_FOR, policy(1, (GATEWAY_REF, [cond("Accepted"), cond("Attached")])))


def test_policy_not_attached_to_any_gateway_is_not_ready():
    """traffic_plugin.go: a target on no Gateway gives only the StatusSummary ancestor, Accepted=True and
    Attached=False (Pending). The old wait (any ancestor's first Accepted) passed on it."""
    summary = policy(1, (STATUS_SUMMARY, [cond("Accepted", reason="Valid"), cond("Attached", "False", reason="Pending")]))
    assert not satisfied(POLICY_WAIT_FOR, summary)


def test_policy_status_summary_sorted_first_does_not_decide():
    """Ancestors are sorted by ParentString (group first): StatusSummary (agentgateway.dev) before the Gateway
    (gateway.networking.k8s.io). Pulumi compares only the first match, so the Gateway must be selected."""
    mixed = policy(1, (STATUS_SUMMARY, [cond("Accepted"), cond("Attached", "False")]),
                   (GATEWAY_REF, [cond("Accepted"), cond("Attached", "False")]))
    assert not satisfied(POLICY_WAIT_FOR, mixed)
    mixed["status"]["ancestors"][1]["conditions"][1]["status"] = "True"
    assert satisfied(POLICY_WAIT_FOR, mixed)


def test_policy_status_of_an_older_generation_is_not_ready():
    stale = policy(2, (GATEWAY_REF, [cond("Accepted", generation=1), cond("Attached", generation=1)]))
    assert not satisfied(POLICY_WAIT_FOR, stale)


def test_partially_valid_policy_keeps_a_stale_attached_and_is_not_ready():
    """PolicyConditionMap: errors with some output give Accepted=True/PartiallyValid and leave Attached as it
    was (e.g. a JWKS not fetched yet): the old Attached=True is of the previous generation."""
    partial = policy(2, (GATEWAY_REF, [cond("Accepted", generation=2, reason="PartiallyValid"),
                                       cond("Attached", generation=1)]))
    assert not satisfied(POLICY_WAIT_FOR, partial)


def test_jwt_policy_whose_jwks_is_not_fetched_yet_is_not_ready():
    """agentgateway-auth.md §6: a fresh JWT policy with an unfetched remote JWKS is Accepted=True/PartiallyValid
    with no Attached condition at all, and every request gets 401 meanwhile."""
    fresh = policy(1, (GATEWAY_REF, [cond("Accepted", reason="PartiallyValid")]))
    assert not satisfied(POLICY_WAIT_FOR, fresh)


def test_invalid_policy_is_not_ready():
    invalid = policy(1, (GATEWAY_REF, [cond("Accepted", "False", reason="Invalid"),
                                       cond("Attached", "False", reason="Pending")]))
    assert not satisfied(POLICY_WAIT_FOR, invalid)


def test_policy_without_status_is_not_ready():
    assert not satisfied(POLICY_WAIT_FOR, {"metadata": {"generation": 1}})


# --- HTTPRoute ----------------------------------------------------------------------------------------------------

def test_route_accepted_and_resolved_at_its_generation_is_ready():
    assert satisfied(ROUTE_WAIT_FOR, route(3, [cond("Accepted", generation=3), cond("ResolvedRefs", generation=3)]))


def test_route_status_of_an_older_generation_is_not_ready():
    assert not satisfied(ROUTE_WAIT_FOR, route(2, [cond("Accepted"), cond("ResolvedRefs")]))


def test_route_whose_backend_is_not_resolved_is_not_ready():
    unresolved = route(1, [cond("Accepted"), cond("ResolvedRefs", "False", reason="BackendNotFound")])
    assert not satisfied(ROUTE_WAIT_FOR, unresolved)


# --- top-level conditions (Gateway, AgentgatewayBackend) --------------------------------------------------------

def test_gateway_needs_accepted_and_programmed_at_its_generation():
    gateway = {"metadata": {"generation": 1}, "status": {"conditions": [cond("Accepted"), cond("Programmed")]}}
    assert satisfied(GATEWAY_WAIT_FOR, gateway)
    gateway["status"]["conditions"][1]["status"] = "False"
    assert not satisfied(GATEWAY_WAIT_FOR, gateway)
    gateway["status"]["conditions"][1]["status"] = "True"
    gateway["metadata"]["generation"] = 2
    assert not satisfied(GATEWAY_WAIT_FOR, gateway)


def test_backend_condition_wait_is_generation_aware():
    backend = {"metadata": {"generation": 2}, "status": {"conditions": [cond("Accepted", generation=1)]}}
    assert not satisfied(BACKEND_WAIT_FOR, backend)
    backend["status"]["conditions"][0]["observedGeneration"] = 2
    assert satisfied(BACKEND_WAIT_FOR, backend)


# --- the helper and the emulation ---------------------------------------------------------------------------------

def test_several_expressions_become_a_json_array():
    assert readiness.wait_for("condition=A") == "condition=A"
    assert json.loads(readiness.wait_for("condition=A", "condition=B")) == ["condition=A", "condition=B"]
    assert expressions(POLICY_WAIT_FOR) == json.loads(POLICY_WAIT_FOR) and len(expressions(POLICY_WAIT_FOR)) == 2
    with pytest.raises(ValueError, match="prefix"):
        readiness.wait_for("status=Ready")
    with pytest.raises(ValueError):
        readiness.wait_for()


def test_only_double_equals_inside_expressions():
    """The provider splits on a single '=': a '!=' or '>=' inside would make the annotation invalid."""
    for annotation in (POLICY_WAIT_FOR, ROUTE_WAIT_FOR, GATEWAY_WAIT_FOR, BACKEND_WAIT_FOR):
        for expression in expressions(annotation):
            assert "!=" not in expression and ">=" not in expression and "<=" not in expression
    with pytest.raises(AwaitError, match="format should be"):
        satisfied("jsonpath={.status.x[?(@.a!=1)]}=True", {})


def test_the_emulation_compares_the_first_match_only():
    """The provider's documented weakness the waits work around: the first selected value decides."""
    obj = {"status": {"items": [{"v": "False"}, {"v": "True"}]}}
    assert not satisfied("jsonpath={.status.items[*].v}=True", obj)
    assert satisfied("jsonpath={.status.items[1].v}=True", obj)


# --- every object the program declares carries them ---------------------------------------------------------------

STRICT_AUTH = {"mode": "Strict", "providers": [{"issuer": "https://idp.example.com", "audiences": ["mcp"],
                                                "jwks": {"remote": {"url": "https://idp.example.com/certs"}}}]}


def test_the_program_puts_the_waits_on_every_object(mocks):
    """Every Gateway, HTTPRoute, AgentgatewayBackend (MCP and JWKS ones) and AgentgatewayPolicy (tool and JWT)."""
    declared = run_program(mocks, cli_config("dev", {"mcp-federation:denyDangerousTools": True,
                                                     "mcp-federation:auth": STRICT_AUTH}))
    assert any("traffic" in p.inputs["spec"] for p in declared.of_type(POLICY))  # the JWT policy is among them
    assert any("static" in b.inputs["spec"] for b in declared.of_type(BACKEND))  # and the JWKS backend
    expected = {GATEWAY: GATEWAY_WAIT_FOR, HTTP_ROUTE: ROUTE_WAIT_FOR, BACKEND: BACKEND_WAIT_FOR,
                POLICY: POLICY_WAIT_FOR}
    for kind, wait in expected.items():
        objects = declared.of_type(kind)
        assert objects, kind
        for obj in objects:
            assert obj.inputs["metadata"]["annotations"][readiness.WAIT_FOR_ANNOTATION] == wait, (kind, obj.name)
