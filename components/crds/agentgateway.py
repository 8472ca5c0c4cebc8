"""Typed specs of the agentgateway.dev/v1alpha1 custom resources (agentgateway v1.4.1) used for MCP.

Only the parts this project uses are modelled: ``AgentgatewayBackend.spec.mcp`` (or ``spec.static`` with
``spec.policies.tls``, for a remote JWKS), ``AgentgatewayPolicy.spec.backend.mcp.authorization`` and
``spec.traffic.jwtAuthentication`` (agentgateway_auth.py). Field names are the CRD's exact camelCase names.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional, Sequence

from ._base import DNS_SUBDOMAIN, GROUP, KIND, NameInput, SUBDOMAIN_RULE, CrdObject, CrdValueError, as_items, \
    check_enum, check_int, check_str, check_type, first_duplicate, is_output
from .agentgateway_auth import BackendPolicies, StaticBackend, TrafficPolicy
from .meta import LocalObjectReference

McpProtocol = Literal["StreamableHTTP", "SSE"]
SessionRouting = Literal["Stateful", "Stateless"]
FailureMode = Literal["FailClosed", "FailOpen"]
PrefixMode = Literal["Always", "Conditional", "Never"]
AuthorizationAction = Literal["Allow", "Deny", "Require"]

TARGET_NAME_RULE = ("a valid target name (lowercase letters, digits, '-' and '.'; "
                    "'_' is reserved by agentgateway)")
MAX_TARGETS = 32

_TARGETS = "AgentgatewayBackend spec.mcp.targets[]"


@dataclass(frozen=True)
class StaticMcpTarget(CrdObject):
    """A fixed MCP server: ``host`` (DNS name or IP) or ``backendRef`` (a Service in the same namespace),
    exactly one of them, plus ``port`` and optional ``path`` (default ``/mcp``) and ``protocol``."""

    port: int
    host: Optional[str] = None
    backendRef: Optional[LocalObjectReference] = None
    path: Optional[str] = None
    protocol: Optional[McpProtocol] = None

    def __post_init__(self) -> None:
        at = f"{_TARGETS}.static"
        check_int(f"{at}.port", self.port, 1, 65535)
        if (self.host is None) == (self.backendRef is None):
            raise CrdValueError(at, {"host": self.host, "backendRef": self.backendRef},
                                "must set exactly one of host | backendRef")
        if self.host is not None:
            check_str(f"{at}.host", self.host, max_len=256)
        if self.backendRef is not None:
            check_type(f"{at}.backendRef", self.backendRef, LocalObjectReference)
        if self.path is not None:
            check_str(f"{at}.path", self.path, max_len=1024)
            if not is_output(self.path) and not self.path.startswith("/"):
                raise CrdValueError(f"{at}.path", self.path, "does not start with '/'")
        if self.protocol is not None:
            check_enum(f"{at}.protocol", self.protocol, ("StreamableHTTP", "SSE"))


@dataclass(frozen=True)
class McpTarget(CrdObject):
    """One entry of ``spec.mcp.targets``: a ``name`` and its ``static`` address (the CRD's other choice,
    ``selector`` service discovery, is not used by this project and not modelled)."""

    name: str
    static: StaticMcpTarget

    def __post_init__(self) -> None:
        check_str(f"{_TARGETS}.name", self.name, max_len=253, pattern=DNS_SUBDOMAIN, rule=TARGET_NAME_RULE)
        check_type(f"{_TARGETS}.static", self.static, StaticMcpTarget)


@dataclass(frozen=True)
class McpBackend(CrdObject):
    """``spec.mcp`` of an AgentgatewayBackend: 1..32 targets with unique names, and the routing modes."""

    targets: Sequence[McpTarget]
    sessionRouting: Optional[SessionRouting] = None
    failureMode: Optional[FailureMode] = None
    prefixMode: Optional[PrefixMode] = None

    def __post_init__(self) -> None:
        at = "AgentgatewayBackend spec.mcp"
        self._set("targets", as_items(f"{at}.targets", self.targets, McpTarget, min_items=1, max_items=MAX_TARGETS))
        duplicate = first_duplicate(target.name for target in self.targets)
        if duplicate:
            index, name = duplicate
            raise CrdValueError(f"{at}.targets[{index}].name", name, "is a duplicate target name")
        for field, allowed in (("sessionRouting", ("Stateful", "Stateless")),
                               ("failureMode", ("FailClosed", "FailOpen")),
                               ("prefixMode", ("Always", "Conditional", "Never"))):
            if getattr(self, field) is not None:
                check_enum(f"{at}.{field}", getattr(self, field), allowed)


@dataclass(frozen=True)
class AgentgatewayBackendSpec(CrdObject):
    """Spec of an AgentgatewayBackend: ``mcp`` or ``static`` (the CRD takes exactly one of
    ai | static | dynamicForwardProxy | mcp | aws | a2a; the others are not modelled), and ``policies`` (only
    ``tls``, for a static backend)."""

    mcp: Optional[McpBackend] = None
    static: Optional[StaticBackend] = None
    policies: Optional[BackendPolicies] = None

    def __post_init__(self) -> None:
        if (self.mcp is None) == (self.static is None):
            raise CrdValueError("AgentgatewayBackend spec", {"mcp": self.mcp, "static": self.static},
                                "must set exactly one of mcp | static")
        if self.mcp is not None:
            check_type("AgentgatewayBackend spec.mcp", self.mcp, McpBackend)
        if self.static is not None:
            check_type("AgentgatewayBackend spec.static", self.static, StaticBackend)
        if self.policies is not None:
            check_type("AgentgatewayBackend spec.policies", self.policies, BackendPolicies)


# --- AgentgatewayPolicy -------------------------------------------------------------------------------

_POLICY = "AgentgatewayPolicy spec"

# (kind -> group) pairs that targetRefs accept (CEL rule on spec.targetRefs).
POLICY_TARGET_GROUPS = {
    "Service": "",
    "AgentgatewayBackend": "agentgateway.dev",
    "Gateway": "gateway.networking.k8s.io",
    "HTTPRoute": "gateway.networking.k8s.io",
    "GRPCRoute": "gateway.networking.k8s.io",
    "ListenerSet": "gateway.networking.k8s.io",
    "InferencePool": "inference.networking.k8s.io",
}


@dataclass(frozen=True)
class PolicyTargetReference(CrdObject):
    """One ``spec.targetRefs`` entry: the object the policy attaches to (group may be ``""`` for core)."""

    group: str
    kind: str
    name: NameInput
    sectionName: Optional[str] = None

    def __post_init__(self) -> None:
        at = f"{_POLICY}.targetRefs[]"
        check_str(f"{at}.group", self.group, min_len=0, max_len=253, pattern=GROUP, rule=SUBDOMAIN_RULE)
        check_str(f"{at}.kind", self.kind, max_len=63, pattern=KIND, rule="a valid kind")
        check_str(f"{at}.name", self.name, max_len=253)
        if self.sectionName is not None:
            check_str(f"{at}.sectionName", self.sectionName, max_len=253, pattern=DNS_SUBDOMAIN, rule=SUBDOMAIN_RULE)
        expected = POLICY_TARGET_GROUPS.get(self.kind)
        if expected is None:
            raise CrdValueError(f"{at}.kind", self.kind, f"is not one of {', '.join(POLICY_TARGET_GROUPS)}")
        if self.group != expected:
            raise CrdValueError(f"{at}.group", self.group, f"is not the group of kind {self.kind} ({expected!r})")


@dataclass(frozen=True)
class AuthorizationPolicy(CrdObject):
    """``policy`` of an MCP authorization: CEL expressions, each one a separate rule of the action."""

    matchExpressions: Sequence[str]

    def __post_init__(self) -> None:
        at = f"{_POLICY}.backend.mcp.authorization.policy.matchExpressions"
        self._set("matchExpressions", as_items(at, self.matchExpressions, str, min_items=1, max_items=256))
        for index, expression in enumerate(self.matchExpressions):
            check_str(f"{at}[{index}]", expression, max_len=16384)


@dataclass(frozen=True)
class McpAuthorization(CrdObject):
    """MCP tool authorization: Allow (any rule matches), Deny (any rule denies) or Require (all must match)."""

    policy: AuthorizationPolicy
    action: Optional[AuthorizationAction] = None

    def __post_init__(self) -> None:
        at = f"{_POLICY}.backend.mcp.authorization"
        check_type(f"{at}.policy", self.policy, AuthorizationPolicy)
        if self.action is not None:
            check_enum(f"{at}.action", self.action, ("Allow", "Deny", "Require"))


@dataclass(frozen=True)
class McpPolicy(CrdObject):
    """``spec.backend.mcp`` of an AgentgatewayPolicy (only ``authorization`` is modelled)."""

    authorization: McpAuthorization

    def __post_init__(self) -> None:
        check_type(f"{_POLICY}.backend.mcp.authorization", self.authorization, McpAuthorization)


@dataclass(frozen=True)
class BackendPolicy(CrdObject):
    """``spec.backend`` of an AgentgatewayPolicy (only ``mcp`` is modelled)."""

    mcp: McpPolicy

    def __post_init__(self) -> None:
        check_type(f"{_POLICY}.backend.mcp", self.mcp, McpPolicy)


# Kinds a `traffic` policy may target: the CEL rule on spec of the CRD (v1.4.1
# `agentgateway.dev_agentgatewaypolicies.yaml`, "the 'traffic' field can only target a Gateway, ListenerSet, ...").
TRAFFIC_TARGET_KINDS = ("Gateway", "HTTPRoute", "GRPCRoute", "ListenerSet", "InferencePool")


@dataclass(frozen=True)
class AgentgatewayPolicySpec(CrdObject):
    """Spec of an AgentgatewayPolicy with ``targetRefs`` (1..16, all of one kind) and exactly one of ``backend``
    (``backend.mcp``) | ``traffic`` (``traffic.jwtAuthentication``).

    A ``backend.mcp`` policy may not target a Service, nor an AgentgatewayBackend with a sectionName; a ``traffic``
    policy targets only a Gateway, HTTPRoute, GRPCRoute, ListenerSet or InferencePool.
    """

    targetRefs: Sequence[PolicyTargetReference]
    backend: Optional[BackendPolicy] = None
    traffic: Optional[TrafficPolicy] = None

    def __post_init__(self) -> None:
        at = f"{_POLICY}.targetRefs"
        self._set("targetRefs", as_items(at, self.targetRefs, PolicyTargetReference, min_items=1, max_items=16))
        if (self.backend is None) == (self.traffic is None):
            raise CrdValueError(_POLICY, {"backend": self.backend, "traffic": self.traffic},
                                "must set exactly one of backend | traffic (as modelled here)")
        if self.backend is not None:
            check_type(f"{_POLICY}.backend", self.backend, BackendPolicy)
        if self.traffic is not None:
            check_type(f"{_POLICY}.traffic", self.traffic, TrafficPolicy)
        first_kind = self.targetRefs[0].kind
        for index, ref in enumerate(self.targetRefs):
            if ref.kind != first_kind:
                raise CrdValueError(f"{at}[{index}].kind", ref.kind,
                                    f"differs from targetRefs[0].kind {first_kind!r} (one kind per policy)")
            if self.traffic is not None:
                if ref.kind not in TRAFFIC_TARGET_KINDS:
                    raise CrdValueError(f"{at}[{index}].kind", ref.kind, "cannot be targeted by a traffic policy "
                                        f"(allowed: {', '.join(TRAFFIC_TARGET_KINDS)})")
                continue
            if ref.kind == "Service":
                raise CrdValueError(f"{at}[{index}].kind", ref.kind, "cannot be targeted by a backend.mcp policy")
            if ref.kind == "AgentgatewayBackend" and ref.sectionName is not None:
                raise CrdValueError(f"{at}[{index}].sectionName", ref.sectionName,
                                    "is not allowed for a backend.mcp policy on an AgentgatewayBackend "
                                    "(use mcp.tool.target in the expression instead)")


# --- AgentgatewayParameters ---------------------------------------------------------------------------

_PARAMETERS = "AgentgatewayParameters spec"
ServiceType = Literal["ClusterIP", "LoadBalancer", "NodePort"]
SERVICE_TYPES = ("ClusterIP", "LoadBalancer", "NodePort")


@dataclass(frozen=True)
class ServiceSpecOverlay(CrdObject):
    """The part of a ``ServiceSpec`` this project overlays on the generated data-plane Service (the CRD accepts any
    partial ServiceSpec there and merges it with strategic merge patch)."""

    type: ServiceType

    def __post_init__(self) -> None:
        check_enum(f"{_PARAMETERS}.service.spec.type", self.type, SERVICE_TYPES)


@dataclass(frozen=True)
class ServiceOverlay(CrdObject):
    """``spec.service``: overrides for the generated ``Service`` (``spec``; metadata overlays not modelled)."""

    spec: ServiceSpecOverlay

    def __post_init__(self) -> None:
        check_type(f"{_PARAMETERS}.service.spec", self.spec, ServiceSpecOverlay)


@dataclass(frozen=True)
class AgentgatewayParametersSpec(CrdObject):
    """Spec of an AgentgatewayParameters: how the controller provisions a Gateway's data plane. Only the
    ``service`` overlay is modelled (image, resources, deployment overlays, HPA, PDB, ... are not)."""

    service: Optional[ServiceOverlay] = None

    def __post_init__(self) -> None:
        if self.service is not None:
            check_type(f"{_PARAMETERS}.service", self.service, ServiceOverlay)
