"""Caller authentication objects (issue 12): the typed jwtAuthentication / static TLS backend classes (checked at
construction, valid against the real CRDs incl. their CEL rules), and what the program declares: exactly one
jwtAuthentication per request path, on the Gateway or on every route, waiting for Attached on a Gateway."""
from __future__ import annotations

import json

import pytest

from components.crds import (
    AgentgatewayBackendSpec,
    AgentgatewayPolicySpec,
    BackendPolicies,
    BackendTLS,
    CrdValueError,
    Jwks,
    JwksBackendRef,
    JwtAuthentication,
    JwtCookieLocation,
    JwtHeaderLocation,
    JwtLocation,
    JwtMcp,
    JwtProvider,
    McpBackend,
    McpTarget,
    PolicyTargetReference,
    RemoteJwks,
    StaticBackend,
    StaticMcpTarget,
    TrafficPolicy,
)
from components.crds.agentgateway import BackendPolicy, McpAuthorization, McpPolicy, AuthorizationPolicy
from components.readiness import POLICY_WAIT_FOR
from tests.k8s_schema import assert_valid, validate_object
from tests.pulumi_mocks import cli_config, mocks, run_program  # noqa: F401 (fixture)
from tests.resource_types import BACKEND, HTTP_ROUTE, POLICY
from verify.plan import parse_plan

INLINE = json.dumps({"keys": [{"kty": "EC", "kid": "k1", "crv": "P-256", "x": "AA", "y": "AA"}]})
GATEWAY_REF = PolicyTargetReference(group="gateway.networking.k8s.io", kind="Gateway", name="mcp-gateway")
AUTH = {"mode": "Strict", "providers": [{"issuer": "https://idp.example.com/realms/mcp", "audiences": ["mcp"],
                                         "jwks": {"remote": {"url": "https://idp.example.com/realms/mcp/certs"}}}]}


def _policy(spec: dict) -> dict:
    return {"apiVersion": "agentgateway.dev/v1alpha1", "kind": "AgentgatewayPolicy",
            "metadata": {"name": "p", "namespace": "mcp"}, "spec": spec}


def _backend(spec: dict) -> dict:
    return {"apiVersion": "agentgateway.dev/v1alpha1", "kind": "AgentgatewayBackend",
            "metadata": {"name": "jwks", "namespace": "mcp"}, "spec": spec}


def _inline_provider(**extra) -> JwtProvider:
    return JwtProvider(issuer="https://idp.example.com", audiences=["mcp"], jwks=Jwks(inline=INLINE), **extra)


@pytest.mark.parametrize("authentication", [
    JwtAuthentication(providers=[_inline_provider()], mode="Strict"),
    JwtAuthentication(providers=[_inline_provider()], mode="Optional",
                      location=JwtLocation(header=JwtHeaderLocation(name="X-Mcp-Token", prefix="Token "))),
    JwtAuthentication(providers=[_inline_provider()], mode="Permissive",
                      location=JwtLocation(cookie=JwtCookieLocation(name="mcp_token"))),
    JwtAuthentication(providers=[JwtProvider(issuer="https://idp.example.com", audiences=["a", "b"], jwks=Jwks(
        remote=RemoteJwks(backendRef=JwksBackendRef(name="jwks", group="agentgateway.dev", kind="AgentgatewayBackend"),
                          jwksPath="realms/mcp/certs", cacheDuration="10m")))],
                      mode="Strict", mcp=JwtMcp(provider="Keycloak", resourceMetadata={
                          "resource": "https://mcp.example.com/mcp", "scopesSupported": ["openid"]})),
])
def test_jwt_authentication_renders_to_crd_valid_policies(authentication):
    spec = AgentgatewayPolicySpec(targetRefs=[GATEWAY_REF], traffic=TrafficPolicy(jwtAuthentication=authentication))
    assert_valid(_policy(spec.to_dict()))


def test_a_static_tls_backend_renders_to_a_crd_valid_backend():
    spec = AgentgatewayBackendSpec(static=StaticBackend(host="idp.example.com", port=443),
                                   policies=BackendPolicies(tls=BackendTLS(sni="idp.example.com")))
    assert spec.to_dict() == {"static": {"host": "idp.example.com", "port": 443},
                              "policies": {"tls": {"sni": "idp.example.com"}}}
    assert_valid(_backend(spec.to_dict()))


def test_the_crd_check_catches_what_the_classes_refuse():
    """The schema check itself rejects the shapes the classes refuse below (it is not vacuous)."""
    provider = {"issuer": "x", "jwks": {"inline": INLINE}}
    assert validate_object(_policy({"targetRefs": [GATEWAY_REF.to_dict()], "traffic": {"jwtAuthentication": {
        "providers": [provider, provider], "mcp": {}}}}))
    assert validate_object(_policy({"targetRefs": [GATEWAY_REF.to_dict()], "traffic": {"jwtAuthentication": {
        "providers": [{"issuer": "x", "jwks": {"inline": INLINE, "remote": {
            "backendRef": {"name": "j"}, "jwksPath": "k"}}}]}}}))
    assert validate_object(_policy({"targetRefs": [{"group": "agentgateway.dev", "kind": "AgentgatewayBackend",
                                                    "name": "b"}],
                                    "traffic": {"jwtAuthentication": {"providers": [provider]}}}))
    assert validate_object(_backend({"static": {"host": "x", "port": 443}, "mcp": {"targets": []}}))


@pytest.mark.parametrize("build, field", [
    (lambda: Jwks(), "AgentgatewayPolicy spec.traffic.jwtAuthentication.providers[].jwks"),
    (lambda: Jwks(inline=INLINE, remote=RemoteJwks(backendRef=JwksBackendRef(name="j", port=443), jwksPath="k")),
     "AgentgatewayPolicy spec.traffic.jwtAuthentication.providers[].jwks"),
    (lambda: Jwks(inline="[]"), "AgentgatewayPolicy spec.traffic.jwtAuthentication.providers[].jwks.inline"),
    (lambda: JwksBackendRef(name="svc"), "AgentgatewayPolicy spec.traffic.jwtAuthentication.providers[].jwks.remote"
                                         ".backendRef.port"),
    (lambda: RemoteJwks(backendRef=JwksBackendRef(name="j", port=1), jwksPath="k", cacheDuration="4m"),
     "AgentgatewayPolicy spec.traffic.jwtAuthentication.providers[].jwks.remote.cacheDuration"),
    (lambda: JwtProvider(issuer="x", audiences=[], jwks=Jwks(inline=INLINE)),
     "AgentgatewayPolicy spec.traffic.jwtAuthentication.providers[].audiences"),
    (lambda: JwtAuthentication(providers=[]), "AgentgatewayPolicy spec.traffic.jwtAuthentication.providers"),
    (lambda: JwtAuthentication(providers=[_inline_provider()], mode="strict"),
     "AgentgatewayPolicy spec.traffic.jwtAuthentication.mode"),
    (lambda: JwtAuthentication(providers=[_inline_provider(), _inline_provider()], mcp=JwtMcp()),
     "AgentgatewayPolicy spec.traffic.jwtAuthentication.mcp"),
    (lambda: JwtAuthentication(providers=[_inline_provider()], mode="Optional", mcp=JwtMcp()),
     "AgentgatewayPolicy spec.traffic.jwtAuthentication.mcp"),
    (lambda: JwtMcp(provider="Google"), "AgentgatewayPolicy spec.traffic.jwtAuthentication.mcp.provider"),
    (lambda: JwtLocation(), "AgentgatewayPolicy spec.traffic.jwtAuthentication.location"),
    (lambda: JwtHeaderLocation(name="bad header"), "AgentgatewayPolicy spec.traffic.jwtAuthentication.location"
                                                   ".header.name"),
    (lambda: StaticBackend(host="idp.example.com", port=0), "AgentgatewayBackend spec.static.port"),
    (lambda: BackendTLS(sni="IdP.Example.com"), "AgentgatewayBackend spec.policies.tls.sni"),
    (lambda: AgentgatewayBackendSpec(), "AgentgatewayBackend spec"),
    (lambda: AgentgatewayBackendSpec(mcp=McpBackend(targets=[McpTarget(name="t", static=StaticMcpTarget(
        host="h", port=1))]), static=StaticBackend(host="h", port=1)), "AgentgatewayBackend spec"),
    (lambda: AgentgatewayPolicySpec(targetRefs=[GATEWAY_REF]), "AgentgatewayPolicy spec"),
    (lambda: AgentgatewayPolicySpec(
        targetRefs=[PolicyTargetReference(group="agentgateway.dev", kind="AgentgatewayBackend", name="b")],
        traffic=TrafficPolicy(jwtAuthentication=JwtAuthentication(providers=[_inline_provider()]))),
     "AgentgatewayPolicy spec.targetRefs[0].kind"),
    (lambda: AgentgatewayPolicySpec(targetRefs=[GATEWAY_REF], backend=BackendPolicy(mcp=McpPolicy(
        authorization=McpAuthorization(policy=AuthorizationPolicy(matchExpressions=["true"])))),
        traffic=TrafficPolicy(jwtAuthentication=JwtAuthentication(providers=[_inline_provider()]))),
     "AgentgatewayPolicy spec"),
])
def test_impossible_values_name_the_field(build, field):
    with pytest.raises(CrdValueError) as caught:
        build()
    assert caught.value.path == field


def test_the_wait_is_the_shared_policy_wait():
    """Accepted AND Attached on a Gateway ancestor at the current generation; what it accepts and refuses (a
    PartiallyValid policy whose JWKS is not fetched yet included) is tested in tests/test_readiness.py."""
    assert json.loads(POLICY_WAIT_FOR) == [
        "jsonpath={.status.ancestors[?(@.ancestorRef.kind=='Gateway')].conditions"
        "[?(@.type=='Accepted' && @.observedGeneration==$.metadata.generation)].status}=True",
        "jsonpath={.status.ancestors[?(@.ancestorRef.kind=='Gateway')].conditions"
        "[?(@.type=='Attached' && @.observedGeneration==$.metadata.generation)].status}=True"]


def _jwt_policies(declared) -> list:
    return [r for r in declared.of_type(POLICY) if "traffic" in r.inputs["spec"]]


def _covered_routes(declared) -> dict[str, int]:
    """How many jwtAuthentication checks a request on each route passes: the Gateway's (if any) plus the route's."""
    gateway_level = sum(1 for p in _jwt_policies(declared) for ref in p.inputs["spec"]["targetRefs"]
                        if ref["kind"] == "Gateway")
    counts = {}
    for route in declared.of_type(HTTP_ROUTE):
        name = route.inputs["metadata"]["name"]
        counts[name] = gateway_level + sum(1 for p in _jwt_policies(declared)
                                           for ref in p.inputs["spec"]["targetRefs"]
                                           if ref["kind"] == "HTTPRoute" and ref["name"] == name)
    return counts


@pytest.mark.parametrize("gateway", [{"create": True}, {"create": False, "name": "shared", "namespace": "gw"}])
def test_every_route_gets_exactly_one_check(mocks, gateway):
    declared = run_program(mocks, cli_config("dev", {"mcp-federation:auth": AUTH, "mcp-federation:gateway": gateway,
                                                     "mcp-federation:aggregate": {"enabled": True}}))
    counts = _covered_routes(declared)
    assert set(counts) == {"fetch", "github", "slack", "everything", "mcp-all"} and set(counts.values()) == {1}
    for policy in _jwt_policies(declared):
        assert_valid(policy.inputs)
        assert policy.inputs["metadata"]["annotations"]["pulumi.com/waitFor"] == POLICY_WAIT_FOR
        ref = policy.inputs["spec"]["traffic"]["jwtAuthentication"]["providers"][0]["jwks"]["remote"]["backendRef"]
        backend = declared.one(BACKEND, ref["name"]).inputs
        assert_valid(backend)
        assert backend["metadata"]["namespace"] == policy.inputs["metadata"]["namespace"]
    namespaces = {p.inputs["metadata"]["namespace"] for p in _jwt_policies(declared)}
    assert namespaces == ({"agentgateway-system"} if gateway["create"] else {"mcp"})
    assert all(entry["auth"] == {"required": True, "resourceMetadata": False}
               for entry in declared.outputs["verificationPlan"])


def test_anonymous_stacks_declare_no_check(mocks):
    declared = run_program(mocks, cli_config("dev"))
    assert _jwt_policies(declared) == [] and set(_covered_routes(declared).values()) == {0}


def test_the_mcp_block_adds_the_well_known_paths_and_is_in_the_plan(mocks):
    auth = {**AUTH, "mcp": {"provider": "Keycloak", "resourceMetadata": {"scopesSupported": ["openid"]}}}
    declared = run_program(mocks, cli_config("dev", {"mcp-federation:auth": auth,
                                                     "mcp-federation:aggregate": {"enabled": False}}))
    route = declared.one(HTTP_ROUTE, "github-route").inputs
    assert_valid(route)
    assert [m["path"]["value"] for m in route["spec"]["rules"][0]["matches"]] == [
        "/mcp/github", "/.well-known/oauth-protected-resource/mcp/github",
        "/.well-known/oauth-authorization-server/mcp/github"]
    (policy,) = _jwt_policies(declared)
    assert policy.inputs["spec"]["traffic"]["jwtAuthentication"]["mcp"] == auth["mcp"]
    assert all(entry["auth"] == {"required": True, "resourceMetadata": True}
               for entry in declared.outputs["verificationPlan"])


@pytest.mark.parametrize("mode", ["Optional", "Permissive"])
def test_optional_modes_keep_anonymous_access_in_the_plan(mocks, mode):
    declared = run_program(mocks, cli_config("dev", {"mcp-federation:auth": {**AUTH, "mode": mode}}))
    (policy,) = _jwt_policies(declared)
    assert policy.inputs["spec"]["traffic"]["jwtAuthentication"]["mode"] == mode
    assert all("auth" not in entry for entry in declared.outputs["verificationPlan"])


@pytest.mark.parametrize("location, expected", [
    ({"header": {"name": "X-Mcp-Token", "prefix": "Token "}}, {"header": {"name": "X-Mcp-Token", "prefix": "Token "}}),
    ({"header": {"name": "X-Mcp-Token"}}, {"header": {"name": "X-Mcp-Token"}}),
    ({"cookie": {"name": "mcp_token"}}, {"cookie": {"name": "mcp_token"}}),
])
def test_the_token_location_reaches_the_policy_and_the_plan(mocks, location, expected):
    declared = run_program(mocks, cli_config("dev", {"mcp-federation:auth": {**AUTH, "location": location},
                                                     "mcp-federation:aggregate": {"enabled": True}}))
    (policy,) = _jwt_policies(declared)
    assert_valid(policy.inputs)
    assert policy.inputs["spec"]["traffic"]["jwtAuthentication"]["location"] == expected
    plan = declared.outputs["verificationPlan"]
    assert [entry["auth"] for entry in plan] == [{"required": True, "resourceMetadata": False,
                                                  "location": expected}] * len(plan)
    name, value = parse_plan(plan)[0].token_location.header_for("t0ken")  # the verifier reads it
    assert (name, value) == ("Cookie", "mcp_token=t0ken") if "cookie" in expected else \
        (name, value) == ("X-Mcp-Token", expected["header"].get("prefix", "") + "t0ken")
