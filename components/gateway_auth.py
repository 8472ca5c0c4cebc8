"""GatewayAuth: caller authentication at the gateway. One `traffic.jwtAuthentication` per request path, and the
static TLS AgentgatewayBackends remote JWKS are fetched from.

Where the one check sits (agentgateway v1.4.1 source, files below):
* the project creates the Gateway: one AgentgatewayPolicy targeting the Gateway. A Gateway-level PostRouting
  policy applies to every route on it (`crates/agentgateway/src/store/binds.rs` `route_policies`), so every route
  of the stack is covered, and nothing else validates the token;
* the Gateway exists already: one policy per HTTPRoute of the stack. A route-level `jwtAuthentication` replaces
  the Gateway's (`store/policy.rs`: the more specific level wins per field), so there is still exactly one check.
  Never both: a validated token is stripped (`http/jwt.rs`), so a second Strict check would answer 401.

Remote JWKS: the controller fetches `https://<static.host>:<static.port>/<jwksPath>` for a static
AgentgatewayBackend (`controller/pkg/agentgateway/remotehttp/connection_resolver.go`), over TLS only when the
backend has TLS settings (`remotehttp/resolver.go`: otherwise plain http://). The backend's inline
`spec.policies.tls` is the first TLS source the controller consults (`remotehttp/tls_resolver.go` `resolveTLS`),
so no second policy can race it; `sni` is set to the host explicitly (it becomes tls.Config.ServerName there).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi

from .config import AuthConfig, ProviderConfig
# Waits (components/readiness.py): every AgentgatewayBackend, static ones too, gets .status.conditions Accepted
# (controller pkg/syncer/backend/backend_plugin.go `TranslateAgwBackend`); the JWT policy must be Accepted AND
# Attached on a Gateway ancestor at its generation: Accepted alone is True (reason PartiallyValid) while a remote
# JWKS is not fetched yet and every request gets 401, and Attached is set only when translation had no error
# (controller `pkg/agentgateway/plugins/traffic_plugin.go`, the ancestor status it writes).
from .readiness import BACKEND_WAIT_FOR, POLICY_WAIT_FOR, WAIT_FOR_ANNOTATION
from .labels import PART_OF
from .crds import (
    AgentgatewayBackend,
    AgentgatewayBackendSpec,
    AgentgatewayPolicy,
    AgentgatewayPolicySpec,
    BackendPolicies,
    BackendTLS,
    Gateway,
    HTTPRoute,
    Jwks,
    JwksBackendRef,
    JwtAuthentication,
    JwtCookieLocation,
    JwtHeaderLocation,
    JwtLocation,
    JwtMcp,
    JwtProvider,
    PolicyTargetReference,
    RemoteJwks,
    StaticBackend,
    TrafficPolicy,
)



def oauth_metadata_paths(auth: AuthConfig, route_path: str) -> tuple[str, ...]:
    """The well-known paths a route must also match when the `mcp` block is set: agentgateway serves them from the
    JWT policy (`crates/agentgateway/src/mcp/auth.rs` `handle_mcp_request`), but a PostRouting policy only runs
    for a request that matched a route (`crates/agentgateway/src/proxy/httpproxy.rs`: only PreRouting policies run
    before route selection). Same paths as upstream's Keycloak example
    (website `mcp-auth-setup.md`): protected-resource metadata and authorization-server metadata of the route."""
    if auth.mcp is None:
        return ()
    return (f"/.well-known/oauth-protected-resource{route_path}", f"/.well-known/oauth-authorization-server{route_path}")


def jwks_backend_name(prefix: str, index: int) -> str:
    """The AgentgatewayBackend serving provider `index`'s remote JWKS."""
    return f"{prefix}-jwks-{index}"


def jwt_authentication(auth: AuthConfig, backend_names: Sequence[Optional[str]]) -> JwtAuthentication:
    """The typed `traffic.jwtAuthentication` of `auth` (`backend_names[i]`: provider i's JWKS backend, None for an
    inline JWKS)."""
    providers = []
    for provider, backend in zip(auth.providers, backend_names):
        providers.append(JwtProvider(issuer=provider.issuer, audiences=list(provider.audiences), jwks=_jwks(
            provider, backend)))
    mcp = JwtMcp(**auth.mcp.model_dump(exclude_unset=True)) if auth.mcp is not None else None
    if auth.mode == "none":
        raise ValueError("jwt_authentication: auth.mode is none (no JWT policy is declared then)")
    return JwtAuthentication(providers=providers, mode=auth.mode, location=jwt_location(auth), mcp=mcp)


def jwt_location(auth: AuthConfig) -> Optional[JwtLocation]:
    """The typed `jwtAuthentication.location` of `auth` (None: agentgateway's default, `Authorization: Bearer`).
    The verification plan states the same object (components/plan.py), so the verifier sends the token there."""
    if auth.location is None:
        return None
    header, cookie = auth.location.header, auth.location.cookie
    if header is not None:
        return JwtLocation(header=JwtHeaderLocation(name=header.name, prefix=header.prefix))
    assert cookie is not None, "LocationConfig sets exactly one of header | cookie"
    return JwtLocation(cookie=JwtCookieLocation(name=cookie.name))


def _jwks(provider: ProviderConfig, backend: Optional[str]) -> Jwks:
    if provider.remote_jwks is None:
        return Jwks(inline=provider.inline_jwks)
    assert backend is not None
    remote = provider.remote_jwks
    return Jwks(remote=RemoteJwks(backendRef=JwksBackendRef(
        name=backend, group=AgentgatewayBackend.GROUP, kind=AgentgatewayBackend.KIND),
                                  jwksPath=remote.path, cacheDuration=remote.cache_duration))


@dataclass(frozen=True)
class AuthTarget:
    """What one jwtAuthentication policy attaches to: a Gateway or an HTTPRoute, by name (in the policy's
    namespace), and the Pulumi name stem of its policy."""

    kind: str                   # Gateway.KIND | HTTPRoute.KIND (one API group)
    name: pulumi.Input[str]
    stem: str

    def __post_init__(self) -> None:
        if self.kind not in (Gateway.KIND, HTTPRoute.KIND):
            raise ValueError(f"AuthTarget.kind: {self.kind!r} is not Gateway or HTTPRoute")


@dataclass(frozen=True)
class GatewayAuthArgs:
    """Inputs of a GatewayAuth: the validated auth config, the namespace of the targets (policies and JWKS
    backends live there: targetRefs and the JWKS backendRef are local) and the targets themselves."""

    auth: AuthConfig
    namespace: pulumi.Input[str]
    targets: Sequence[AuthTarget]

    def __post_init__(self) -> None:
        if not self.auth.enabled:
            raise ValueError("GatewayAuthArgs.auth: mode is none (nothing to declare)")
        if not self.targets:
            raise ValueError("GatewayAuthArgs.targets: is empty (every route must be covered)")
        if len({target.stem for target in self.targets}) != len(self.targets):
            raise ValueError("GatewayAuthArgs.targets: stems repeat")


class GatewayAuth(pulumi.ComponentResource):
    """The JWKS backends of the remote providers and one jwtAuthentication AgentgatewayPolicy per target."""

    policy_names: list[pulumi.Output[str]]

    def __init__(self, name: str, args: GatewayAuthArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mcpfederation:components:GatewayAuth", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.jwks_backends: list[AgentgatewayBackend] = []
        backend_names: list[Optional[str]] = []
        for index, provider in enumerate(args.auth.providers):
            if provider.remote_jwks is None:
                backend_names.append(None)
                continue
            backend_name = jwks_backend_name(name, index)
            remote = provider.remote_jwks
            self.jwks_backends.append(AgentgatewayBackend(
                backend_name,
                metadata={"name": backend_name, "namespace": args.namespace, "labels": PART_OF,
                          "annotations": {WAIT_FOR_ANNOTATION: BACKEND_WAIT_FOR,
                                          "mcp-federation.dev/jwks-url": remote.url}},
                spec=AgentgatewayBackendSpec(static=StaticBackend(host=remote.host, port=remote.port),
                                             policies=BackendPolicies(tls=BackendTLS(sni=remote.host))),
                opts=child))
            backend_names.append(backend_name)
        authentication = jwt_authentication(args.auth, backend_names)
        self.policies: list[AgentgatewayPolicy] = []
        for target in args.targets:
            policy_name = f"{target.stem}-jwt"
            self.policies.append(AgentgatewayPolicy(
                policy_name,
                metadata={"name": policy_name, "namespace": args.namespace, "labels": PART_OF,
                          "annotations": {WAIT_FOR_ANNOTATION: POLICY_WAIT_FOR}},
                spec=AgentgatewayPolicySpec(
                    targetRefs=[PolicyTargetReference(group=Gateway.GROUP, kind=target.kind, name=target.name)],
                    traffic=TrafficPolicy(jwtAuthentication=authentication)),
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.jwks_backends))))
        self.policy_names = [policy.metadata["name"] for policy in self.policies]
        self.register_outputs({"policyNames": self.policy_names})
