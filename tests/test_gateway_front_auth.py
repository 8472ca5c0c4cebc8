"""The test front's JWT validation and rule combination follow agentgateway v1.4.1 (tests/gateway_front_auth.py
cites the upstream source of each rule). Keys are generated per module; tokens minted with PyJWT."""
from __future__ import annotations

import time

import pytest

from tests.gateway_front_auth import (AuthConfigError, JwtAuthentication, RuleSet, authenticate, authorized,
                                      protected_resource_metadata, www_authenticate)
from tests.jwt_tokens import AUDIENCE, ISSUER, SigningKey, alg_none_token, claims, jwt_spec, provider

RSA = SigningKey.rsa("rsa-1")
EC = SigningKey.ec("ec-1")
OTHER = SigningKey.rsa("other-1")  # not in the JWKS


def config(mode: str = "Strict", audiences: list[str] | None = None, mcp: dict | None = None) -> JwtAuthentication:
    return JwtAuthentication.from_spec(jwt_spec(mode, [provider(ISSUER, audiences or [AUDIENCE], RSA, EC)], mcp))


def headers(token: str | None, prefix: str = "Bearer ") -> list[tuple[bytes, bytes]]:
    return [(b"host", b"gw")] + ([(b"authorization", f"{prefix}{token}".encode())] if token is not None else [])


# ------------------------------------------------------------------------------------------------ validation

def test_rsa_and_ec_tokens_are_accepted_and_yield_their_claims():
    for key in (RSA, EC):
        outcome = authenticate(config(), headers(key.mint(claims(groups=["a"]))))
        assert outcome.error is None and outcome.strip and outcome.claims["groups"] == ["a"]


def test_the_bearer_prefix_is_case_insensitive():
    assert authenticate(config(), headers(RSA.mint(claims()), prefix="bEaReR ")).claims is not None


REJECTED = {
    "missing token": (None, "no bearer token found"),
    "expired past the 60 s leeway": (RSA.mint(claims(lifetime=-120)), "ExpiredSignature"),
    "wrong issuer": (RSA.mint({**claims(), "iss": "https://evil.invalid"}), "InvalidIssuer"),
    "wrong audience": (RSA.mint({**claims(), "aud": "someone-else"}), "InvalidAudience"),
    "audience list without ours": (RSA.mint({**claims(), "aud": ["x", "y"]}), "InvalidAudience"),
    "bad signature": (SigningKey("rsa-1", OTHER.private_key, "RS256").mint(claims()), "InvalidSignature"),
    "alg none": (alg_none_token(claims(), "rsa-1"), "malformed"),
    "missing kid": (RSA.mint(claims(), headers={"kid": None}), "does not specify a `kid`"),
    "missing exp": (RSA.mint({k: v for k, v in claims().items() if k != "exp"}), 'MissingRequiredClaim("exp")'),
    "exp not a number": (RSA.mint({**claims(), "exp": "tomorrow"}), 'InvalidClaimFormat("exp")'),
    "unknown kid": (OTHER.mint(claims()), "unknown key 'other-1'"),
    "HS256 with an RSA kid": (None, "InvalidAlgorithm"),
    "not a JWT": ("not-a-jwt", "malformed"),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_every_rejection_reason_is_a_401_in_strict_mode(case):
    token, reason = REJECTED[case]
    if case == "HS256 with an RSA kid":  # the RSA key's family allows RS*/PS* only
        import jwt
        token = jwt.encode(claims(), "a-shared-secret-that-is-long-enough-for-hs256!", algorithm="HS256",
                           headers={"kid": "rsa-1"})
    outcome = authenticate(config(), headers(token))
    assert outcome.error is not None and reason in outcome.error, outcome
    assert outcome.claims is None and not outcome.strip


def test_exp_within_the_leeway_and_future_nbf_are_accepted_as_upstream():
    """jsonwebtoken 10.4.0 Validation::new_impl: leeway 60, validate_nbf false (agentgateway never enables it)."""
    assert authenticate(config(), headers(RSA.mint(claims(lifetime=-30)))).claims is not None
    future = claims(nbf=int(time.time()) + 3600)
    assert authenticate(config(), headers(RSA.mint(future))).claims is not None


def test_iss_and_aud_are_only_checked_when_present():
    payload = {k: v for k, v in claims().items() if k not in ("iss", "aud")}
    assert authenticate(config(), headers(RSA.mint(payload))).claims is not None
    no_audiences = JwtAuthentication.from_spec(jwt_spec("Strict", [provider(ISSUER, None, RSA)]))
    assert authenticate(no_audiences, headers(RSA.mint({**claims(), "aud": "anything"}))).claims is not None
    assert authenticate(config(), headers(RSA.mint({**claims(), "aud": ["x", AUDIENCE]}))).claims is not None


@pytest.mark.parametrize("mode, token, expected", [
    ("Strict", None, "401"), ("Strict", "bad", "401"), ("Strict", "good", "claims"),
    ("Optional", None, "pass"), ("Optional", "bad", "401"), ("Optional", "good", "claims"),
    ("Permissive", None, "pass"), ("Permissive", "bad", "pass"), ("Permissive", "good", "claims"),
])
def test_modes_behave_as_upstream(mode, token, expected):
    value = {None: None, "bad": OTHER.mint(claims()), "good": RSA.mint(claims())}[token]
    outcome = authenticate(config(mode), headers(value))
    got = "401" if outcome.error else "claims" if outcome.claims else "pass"
    assert got == expected
    assert outcome.strip == (expected == "claims")  # only a validated token is removed


def test_the_first_provider_holding_the_kid_decides_issuer_and_audience():
    spec = jwt_spec("Strict", [provider("https://a.invalid", ["a"], RSA), provider(ISSUER, [AUDIENCE], RSA)])
    outcome = authenticate(JwtAuthentication.from_spec(spec), headers(RSA.mint(claims())))
    assert outcome.error is not None and "InvalidIssuer" in outcome.error


@pytest.mark.parametrize("spec, message", [
    ({"mode": "Sometimes", "providers": []}, "mode must be one of"),
    ({"providers": []}, "providers must be a non-empty list"),
    ({"providers": [{"issuer": ISSUER, "jwks": {"remote": {}}}]}, "jwks must be {inline"),
    ({"providers": [{"issuer": ISSUER, "jwks": {"inline": '{"keys": [{"kty": "RSA"}]}'}}]}, "has no 'kid'"),
])
def test_unusable_policy_specs_are_refused_naming_the_key(spec, message):
    with pytest.raises(AuthConfigError, match=message):
        JwtAuthentication.from_spec(spec)


def test_oauth_metadata_and_www_authenticate_follow_mcp_auth_rs():
    mcp = {"resourceMetadata": {"resource": "https://gw.example.com/base", "scopesSupported": ["openid"]}}
    strict = config(mcp=mcp)
    assert www_authenticate(strict, "http://127.0.0.1:1", "/mcp") == \
        'Bearer resource_metadata="https://gw.example.com/.well-known/oauth-protected-resource/mcp"'
    assert www_authenticate(config(mcp={}), "http://h:1", "/mcp/x") == \
        'Bearer resource_metadata="http://h:1/.well-known/oauth-protected-resource/mcp/x"'
    body = protected_resource_metadata(config(mcp={"resourceMetadata": {"scopesSupported": ["openid"]}}),
                                       "http://h:1", "/.well-known/oauth-protected-resource/mcp")
    assert body == {"resource": "http://h:1/mcp", "authorization_servers": [ISSUER],
                    "mcp_protocol_version": "2025-06-18", "resource_type": "mcp-server", "scopes_supported": ["openid"]}


# -------------------------------------------------------------------------------------------- authorization

def rules(action: str, *expressions: str) -> RuleSet:
    return RuleSet.from_spec({"action": action, "policy": {"matchExpressions": list(expressions)}})


WRITERS = 'has(jwt.groups) && "mcp-writers" in jwt.groups'


def test_no_rules_allow_everything_and_deny_only_rules_are_a_denylist():
    assert authorized([], "create_issue", "github", None)
    deny = [rules("Deny", 'mcp.tool.name == "delete_repo"')]
    assert authorized(deny, "get_repo", "github", None) and not authorized(deny, "delete_repo", "github", None)


def test_once_an_allow_rule_exists_everything_else_is_denied():
    allow = [rules("Allow", f'mcp.tool.name == "create_issue" && {WRITERS}', 'mcp.tool.name != "create_issue"')]
    writer, reader = {"groups": ["mcp-writers"]}, {"groups": ["readers"]}
    assert authorized(allow, "create_issue", "github", writer)
    assert not authorized(allow, "create_issue", "github", reader)
    assert not authorized(allow, "create_issue", "github", None)  # no claims: has() is false
    assert authorized(allow, "get_repo", "github", reader)  # matchExpressions entries are OR'ed


def test_policies_combine_and_any_deny_wins():
    combined = [rules("Deny", 'mcp.tool.name == "delete_repo"'), rules("Allow", WRITERS)]
    admin = {"groups": ["mcp-writers"]}
    assert authorized(combined, "get_repo", "github", admin)
    assert not authorized(combined, "delete_repo", "github", admin)
    assert not authorized(combined, "get_repo", "github", {"groups": []})  # Allow exists, none matched


def test_a_cel_error_is_no_match_so_a_claim_deny_fails_open():
    deny = [rules("Deny", '"banned" in jwt.roles')]
    assert authorized(deny, "get_repo", "github", {"sub": "x"})  # jwt.roles missing: error -> no match
    assert not authorized(deny, "get_repo", "github", {"roles": ["banned"]})


def test_in_on_a_string_claim_is_a_substring_test_as_in_the_cel_fork():
    allow = [rules("Allow", WRITERS)]
    assert authorized(allow, "t", "g", {"groups": "not-mcp-writers-really"})  # upstream objects.rs operators::IN
    assert not authorized(allow, "t", "g", {"groups": ["not-mcp-writers-really"]})


def test_require_rules_must_all_match():
    combined = [rules("Require", "has(jwt.sub)"), rules("Allow", "true")]
    assert authorized(combined, "t", "g", {"sub": "x"}) and not authorized(combined, "t", "g", {})


def test_target_is_part_of_the_cel_context():
    allow = [rules("Allow", 'mcp.tool.target == "slack"')]
    assert authorized(allow, "post_message", "slack", None) and not authorized(allow, "get_repo", "github", None)


def test_a_cached_token_is_still_refused_once_it_expires():
    """The front caches signature checks per token; exp is checked on every request, as upstream checks it."""
    strict = config()
    token = RSA.mint(claims(lifetime=10))
    assert strict.validate(token)["sub"] == "verifier"
    with pytest.raises(Exception, match="ExpiredSignature"):
        strict.validate(token, now=time.time() + 10 + 61)
