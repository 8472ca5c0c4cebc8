"""The `auth` config key and the server group keys (issue 12): defaults, every error (all at once, each naming the
key), and the safety rules that stop a stack before any resource is declared."""
from __future__ import annotations

import json

import pytest

from components.config import AuthConfig, RemoteJwksConfig
from components.config import ConfigError, parse_config
from components.token_location import NAME_RULE, PREFIX_RULE
from tests.pulumi_mocks import cli_config, mocks, run_program  # noqa: F401 (fixture)

PUBLIC_JWK = {"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": "sXch", "e": "AQAB"}
INLINE = json.dumps({"keys": [PUBLIC_JWK]})
REMOTE = {"remote": {"url": "https://idp.example.com/realms/mcp/protocol/openid-connect/certs"}}


def provider(**overrides) -> dict:
    return {"issuer": "https://idp.example.com/realms/mcp", "audiences": ["mcp"], "jwks": {"inline": INLINE},
            **overrides}


def strict(**overrides) -> dict:
    return {"mode": "Strict", "providers": [provider()], **overrides}


def errors_of(**raw) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    return caught.value.errors


def test_auth_defaults_to_none():
    assert parse_config({}).auth == AuthConfig(mode="none", providers=(), allowAnonymous=False, groupsClaim="groups")
    assert not parse_config({}).auth.enabled


@pytest.mark.parametrize("mode", ["Strict", "Optional", "Permissive"])
def test_each_mode_with_an_inline_provider(mode):
    auth = parse_config({"auth": strict(mode=mode)}).auth
    assert auth.mode == mode and auth.required is (mode == "Strict")
    (parsed,) = auth.providers
    assert (parsed.issuer, parsed.audiences, parsed.inline_jwks, parsed.remote_jwks) == \
        ("https://idp.example.com/realms/mcp", ("mcp",), INLINE, None)


def test_a_remote_jwks_url_is_split_into_host_port_and_path():
    auth = parse_config({"auth": strict(providers=[provider(jwks={"remote": {
        "url": "https://idp.example.com:8443/realms/mcp/certs", "cacheDuration": "10m"}})])}).auth
    assert auth.providers[0].remote_jwks == RemoteJwksConfig(
        url="https://idp.example.com:8443/realms/mcp/certs", host="idp.example.com", port=8443,
        path="realms/mcp/certs", cache_duration="10m")
    assert parse_config({"auth": strict(providers=[provider(jwks=REMOTE)])}).auth.providers[0].remote_jwks.port == 443


@pytest.mark.parametrize("auth, expected", [
    ({"mode": "strict"}, ["auth.mode: 'strict' is not one of Strict, Optional, Permissive, none"]),
    ({"mode": "Strict"}, ["auth.providers: is empty but auth.mode is 'Strict': declare at least one provider "
                          "{issuer, audiences, jwks} (a missing JWKS would refuse every token)"]),
    (strict(providers=[provider(audiences=[])]), ["auth.providers[0].audiences: [] is empty: list at least one "
                                                  "audience"]),
    (strict(providers=[{"issuer": "x", "jwks": {"inline": INLINE}}]),
     ["auth.providers[0].audiences: is required: list the 'aud' values the gateway accepts (without it, tokens "
      "minted for any other application would be accepted)"]),
    (strict(providers=[{"issuer": "x", "audiences": ["a"]}]),
     ["auth.providers[0].jwks: is required: {inline: '<JWKS JSON>'} or {remote: {url: https://...}}"]),
    (strict(providers=[provider(jwks={})]), ["auth.providers[0].jwks: must set exactly one of inline | remote"]),
    (strict(providers=[provider(jwks={"inline": INLINE, **REMOTE})]),
     ["auth.providers[0].jwks: must set exactly one of inline | remote"]),
    (strict(providers=[provider(issuer="https://idp.example.com\n")]),
     ["auth.providers[0].issuer: 'https://idp.example.com\\n' is not an issuer (1 to 256 printable ASCII "
      "characters, no spaces)"]),
    (strict(providers=[provider(audiences=["a", "a"])]), ["auth.providers[0].audiences: a listed more than once"]),
    (strict(providers=[provider(jwks={"inline": "{nope"})]),
     ["auth.providers[0].jwks.inline: is not valid JSON (Expecting property name enclosed in double quotes: "
      "line 1 column 2 (char 1))"]),
    (strict(providers=[provider(jwks={"inline": '{"keys": []}'})]),
     ["auth.providers[0].jwks.inline: is not a JWKS: a JSON object with a non-empty 'keys' list"]),
    (strict(providers=[provider(jwks={"inline": json.dumps({"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]})})]),
     ["auth.providers[0].jwks.inline.keys[0].kid: is required (agentgateway ignores a key set with a key without "
      "kid)"]),
    (strict(providers=[provider(jwks={"inline": json.dumps({"keys": [{**PUBLIC_JWK, "d": "secret"}]})})]),
     ["auth.providers[0].jwks.inline.keys[0]: has private or symmetric key member(s) d: publish only public keys"]),
    (strict(providers=[provider(jwks={"remote": {"url": "http://idp.example.com/certs"}})]),
     ["auth.providers[0].jwks.remote.url: 'http://idp.example.com/certs' is not an https:// URL with a DNS host "
      "name and a path, without user, query or fragment"]),
    (strict(providers=[provider(jwks={"remote": {"url": "https://10.0.0.1/certs"}})]),
     ["auth.providers[0].jwks.remote.url: 'https://10.0.0.1/certs' is not an https:// URL with a DNS host name "
      "and a path, without user, query or fragment"]),
    (strict(providers=[provider(jwks={"remote": {"url": "https://idp.example.com/"}})]),
     ["auth.providers[0].jwks.remote.url: 'https://idp.example.com/' is not an https:// URL with a DNS host name "
      "and a path, without user, query or fragment"]),
    (strict(providers=[provider(jwks={"remote": {"url": "https://idp.example.com/c", "cacheDuration": "1m"}})]),
     ["auth.providers[0].jwks.remote.cacheDuration: '1m' is shorter than 5m (agentgateway's minimum)"]),
    (strict(providers=[provider(jwks={"remote": {}})]),
     ["auth.providers[0].jwks.remote.url: is required (e.g. https://idp.example.com/.well-known/jwks.json)"]),
    (strict(groupsClaim="in"), ["auth.groupsClaim: 'in' is a CEL reserved word"]),
    (strict(groupsClaim="cognito:groups"),
     ["auth.groupsClaim: 'cognito:groups' is not a claim name usable in CEL (letters, digits, '_'; not starting "
      "with a digit)"]),
    (strict(mode="Optional", mcp={"provider": "Keycloak"}),
     ["auth.mcp: requires auth.mode Strict (mode is 'Optional'; the CRD's rule)"]),
    (strict(providers=[provider(), provider(issuer="b")], mcp={}),
     ["auth.mcp: requires exactly one provider (2 declared; the CRD's rule)"]),
    (strict(mcp={"provider": "Google"}),
     ["auth.mcp.provider: 'Google' is not one of Auth0, Authentik, Descope, Entra, Keycloak, Okta"]),
    (strict(location={"header": {"name": "X-Token"}, "cookie": {"name": "t"}}),
     ["auth.location: must set exactly one of header | cookie"]),
    (strict(location={"header": {"name": "X Token"}}),
     [f"auth.location.header.name: 'X Token' is not an RFC 9110 header name ({NAME_RULE})"]),
    (strict(allowAnonymous=True), ["auth.allowAnonymous: only applies to auth.mode none"]),
    ({"mode": "none", "providers": [provider()]},
     ["auth.providers: is set but auth.mode is none (set mode Strict, Optional or Permissive, or remove it)"]),
    ({"mode": "none", "tokens": True},
     ["auth.tokens: unknown key; allowed: mode, allowAnonymous, groupsClaim, providers, location, mcp"]),
])
def test_each_auth_error_names_the_key(auth, expected):
    assert errors_of(auth=auth) == expected


# auth.location: what the verifier refuses (verify/token_location.py), the config refuses too, naming the key.
BAD_LOCATIONS = {
    "cookie name with a space": ({"cookie": {"name": "mcp token"}},
                                 f"auth.location.cookie.name: 'mcp token' is not an RFC 6265 cookie name ({NAME_RULE})"),
    "cookie name with '='": ({"cookie": {"name": "mcp=t"}},
                             f"auth.location.cookie.name: 'mcp=t' is not an RFC 6265 cookie name ({NAME_RULE})"),
    "cookie name with ';'": ({"cookie": {"name": "a;b"}},
                             f"auth.location.cookie.name: 'a;b' is not an RFC 6265 cookie name ({NAME_RULE})"),
    "cookie name not ASCII": ({"cookie": {"name": "jeton_é"}},
                              f"auth.location.cookie.name: 'jeton_é' is not an RFC 6265 cookie name ({NAME_RULE})"),
    "cookie name empty": ({"cookie": {"name": ""}},
                          f"auth.location.cookie.name: '' is not an RFC 6265 cookie name ({NAME_RULE})"),
    "cookie name too long": ({"cookie": {"name": "c" * 257}},
                             f"auth.location.cookie.name: {'c' * 257!r} is not an RFC 6265 cookie name ({NAME_RULE})"),
    "header a framing header": ({"header": {"name": "content-type"}},
                                "auth.location.header.name: 'content-type' is a header MCP clients (the verifier too) "
                                "set themselves for MCP or HTTP framing: the token cannot go there"),
    "header the session header": ({"header": {"name": "Mcp-Session-Id", "prefix": "Token "}},
                                  "auth.location.header.name: 'Mcp-Session-Id' is a header MCP clients (the verifier "
                                  "too) set themselves for MCP or HTTP framing: the token cannot go there"),
    "prefix with CR LF": ({"header": {"name": "X-T", "prefix": "Token\r\nX-Evil: 1"}},
                          f"auth.location.header.prefix: 'Token\\r\\nX-Evil: 1' must be {PREFIX_RULE}"),
    "prefix with a tab": ({"header": {"name": "X-T", "prefix": "Token\t"}},
                          f"auth.location.header.prefix: 'Token\\t' must be {PREFIX_RULE}"),
    "prefix with DEL": ({"header": {"name": "X-T", "prefix": "Token\x7f"}},
                        f"auth.location.header.prefix: 'Token\\x7f' must be {PREFIX_RULE}"),
    "prefix not ASCII": ({"header": {"name": "X-T", "prefix": "Jéton "}},
                         f"auth.location.header.prefix: 'Jéton ' must be {PREFIX_RULE}"),
    "prefix with a leading space": ({"header": {"name": "X-T", "prefix": " Token"}},
                                    f"auth.location.header.prefix: ' Token' must be {PREFIX_RULE}"),
    "prefix empty": ({"header": {"name": "X-T", "prefix": ""}},
                     f"auth.location.header.prefix: '' must be {PREFIX_RULE}"),
}


@pytest.mark.parametrize("location, expected", BAD_LOCATIONS.values(), ids=BAD_LOCATIONS.keys())
def test_a_token_location_the_verifier_would_refuse_is_a_config_error(location, expected):
    assert errors_of(auth=strict(location=location)) == [expected]


def _verifier_accepts(location: dict) -> bool:
    from verify.token_location import LocationError, TokenLocation  # the verifier's own check of a plan's location

    try:
        if "cookie" in location:
            TokenLocation(header=None, prefix=None, cookie=location["cookie"]["name"])
        else:
            TokenLocation(header=location["header"]["name"], prefix=location["header"].get("prefix"))
    except LocationError:
        return False
    return True


def _config_accepts(location: dict) -> bool:
    try:
        parse_config({"auth": strict(location=location)})
    except ConfigError:
        return False
    return True


NAMES = ["mcp_token", "X-Mcp-Token", "Authorization", "a", "!#$%&'*+-.^_`|~", "n" * 256, "n" * 257, "", "x y",
         "x=y", "x;y", "x,y", 'x"y', "x(y)", "x/y", "x:y", "x@y", "x\ty", "x\ny", "jeton_é", "\u00a0", "accept",
         "Host", "MCP-PROTOCOL-VERSION", "Cookie"]
PREFIXES = [None, "Bearer ", "Token ", "t", "~!", "Token  x", "p" * 256, "p" * 257, "", " Token", "Token\r\n",
            "Token\n", "\tToken", "Token\t", "Token\x00", "Token\x7f", "Jéton ", "Token\u2028"]


@pytest.mark.parametrize("location", [{"cookie": {"name": name}} for name in NAMES]
                         + [{"header": {"name": name}} for name in NAMES]
                         + [{"header": {"name": "X-T", **({} if prefix is None else {"prefix": prefix})}}
                            for prefix in PREFIXES], ids=repr)
def test_the_config_accepts_exactly_the_locations_the_verifier_accepts(location):
    assert _config_accepts(location) == _verifier_accepts(location)


def test_all_auth_errors_are_reported_at_once():
    errors = errors_of(auth={"mode": "Strict", "groupsClaim": "1x",
                             "providers": [provider(audiences=[]), provider(jwks={"remote": {"url": "ftp://x/y"}})]})
    assert [error.split(":")[0] for error in errors] == [
        "auth.groupsClaim", "auth.providers[0].audiences", "auth.providers[1].jwks.remote.url"]


@pytest.mark.parametrize("service_type", ["LoadBalancer", "NodePort"])
def test_an_exposed_gateway_without_auth_needs_allow_anonymous(service_type):
    (error,) = errors_of(gateway={"serviceType": service_type})
    assert error.startswith(f"auth.mode: 'none' leaves the gateway open, and gateway.serviceType {service_type!r} "
                            "exposes it outside the cluster")
    allowed = parse_config({"gateway": {"serviceType": service_type}, "auth": {"allowAnonymous": True}})
    assert allowed.auth.allow_anonymous and not allowed.auth.enabled
    assert parse_config({"gateway": {"serviceType": service_type}, "auth": strict()}).auth.required


def test_a_cluster_internal_gateway_may_stay_anonymous():
    assert not parse_config({"gateway": {"serviceType": "ClusterIP"}}).auth.enabled
    assert not parse_config({"gateway": {"create": False}}).auth.enabled


def test_group_keys_are_parsed():
    config = parse_config({"auth": strict(), "servers": [
        {"name": "github", "allowedGroups": ["mcp-github"], "toolGroups": {"create_issue": ["mcp-writers", "admins"]}},
        {"name": "slack"}]})
    github, slack = config.servers
    assert github.groups.allowed == ("mcp-github",) and dict(github.groups.tools) == \
        {"create_issue": ("mcp-writers", "admins")}
    assert github.groups.restricted and not slack.groups.restricted


@pytest.mark.parametrize("server, expected", [
    ({"allowedGroups": []}, "servers[0].allowedGroups: [] is empty: list at least one group"),
    ({"allowedGroups": "mcp-github"}, "servers[0].allowedGroups: 'mcp-github' is not a list of groups"),
    ({"toolGroups": {}}, "servers[0].toolGroups: {} is not a non-empty object {tool: [groups]}"),
    ({"toolGroups": {"create_issue": []}}, "servers[0].toolGroups.create_issue: [] is empty: list at least one group"),
    ({"toolGroups": {"create_issue": ["a b"]}},
     "servers[0].toolGroups.create_issue[0]: 'a b' is not a group (1 to 256 printable ASCII characters, no spaces)"),
])
def test_group_key_errors_name_the_key(server, expected):
    assert errors_of(auth=strict(), servers=[{"name": "github", **server}]) == [expected]


@pytest.mark.parametrize("key, value", [("allowedGroups", ["mcp-github"]), ("toolGroups", {"create_issue": ["w"]})])
def test_a_group_rule_without_a_provider_is_an_error(key, value):
    assert errors_of(servers=[{"name": "github", key: value}]) == [
        f"servers[0].{key}: is a group rule, but auth.mode is none: no caller has a groups claim (set auth.mode and "
        "auth.providers)"]


def test_config_errors_stop_the_program_before_any_resource(mocks):
    with pytest.raises(ConfigError):
        run_program(mocks, cli_config("dev", {"mcp-federation:auth": {"mode": "Strict"}}))
    assert mocks.created == []


def test_the_schema_refuses_a_cookie_name_or_prefix_the_config_refuses():
    import jsonschema

    from components.config.schema import SCHEMA_FILE

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))

    def schema_accepts(location: dict) -> bool:
        return validator.is_valid({"config": {"mcp-federation:auth": strict(location=location)}})

    for location in ({"cookie": {"name": "mcp token"}}, {"header": {"name": "X-T", "prefix": "Token\r\nX-Evil: 1"}},
                     {"header": {"name": "X-T", "prefix": " Token"}}, {"header": {"name": "X-T", "prefix": "Jéton "}}):
        assert not schema_accepts(location) and not _config_accepts(location), location
    for location in ({"cookie": {"name": "mcp_token"}}, {"header": {"name": "X-Mcp-Token", "prefix": "Token "}}):
        assert schema_accepts(location) and _config_accepts(location), location
