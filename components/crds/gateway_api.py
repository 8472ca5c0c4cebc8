"""Typed specs of the Gateway API resources (v1.6.1 standard channel): Gateway, HTTPRoute, ReferenceGrant.

Modelled: what an MCP federation needs (listeners with allowedRoutes, path matches, backendRefs,
ReferenceGrant from/to). Not modelled: TLS, filters, timeouts, header/query/method matches.
Field names are the CRD's exact camelCase names, except ``from_`` (``from`` is a Python keyword).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Optional, Sequence

from ._base import DNS_LABEL, DNS_SUBDOMAIN, GROUP, HOSTNAME, KIND, NameInput, LABEL_RULE, SUBDOMAIN_RULE, CrdObject, \
    CrdValueError, as_items, check_enum, check_int, check_str, check_type, first_duplicate, is_output
from .meta import LabelSelector

GATEWAY_GROUP = "gateway.networking.k8s.io"
HOSTNAME_RULE = "a valid hostname (lowercase DNS name, optionally starting with '*.')"
GROUP_RULE = "a valid API group (a DNS subdomain, or '' for the core group)"
KIND_RULE = "a valid kind (a letter, then letters, digits and '-')"

ListenerProtocol = Literal["HTTP", "HTTPS", "TCP", "UDP"]
FromNamespaces = Literal["All", "Selector", "Same"]
PathMatchType = Literal["Exact", "PathPrefix", "RegularExpression"]

_PATH_CHARS = re.compile(r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$")
_PATH_FORBIDDEN = ("//", "/./", "/../", "%2f", "%2F", "#")


def _check_group_kind(at: str, group: Optional[str], kind: Optional[str]) -> None:
    if group is not None:
        check_str(f"{at}.group", group, min_len=0, max_len=253, pattern=GROUP, rule=GROUP_RULE)
    if kind is not None:
        check_str(f"{at}.kind", kind, max_len=63, pattern=KIND, rule=KIND_RULE)


def _check_namespace(at: str, namespace: Optional[NameInput]) -> None:
    if namespace is not None:
        check_str(f"{at}.namespace", namespace, max_len=63, pattern=DNS_LABEL, rule=LABEL_RULE)


# --- Gateway ------------------------------------------------------------------------------------------

_LISTENERS = "Gateway spec.listeners"


@dataclass(frozen=True)
class RouteNamespaces(CrdObject):
    """``allowedRoutes.namespaces``: routes from ``All``, the ``Same`` namespace, or a ``Selector``.

    ``from_`` is rendered as ``from``."""

    WIRE_NAMES = {"from_": "from"}

    from_: Optional[FromNamespaces] = None
    selector: Optional[LabelSelector] = None

    def __post_init__(self) -> None:
        at = f"{_LISTENERS}[].allowedRoutes.namespaces"
        if self.from_ is not None:
            check_enum(f"{at}.from", self.from_, ("All", "Selector", "Same"))
        if self.selector is not None:
            check_type(f"{at}.selector", self.selector, LabelSelector)
        if self.from_ == "Selector" and self.selector is None:
            raise CrdValueError(f"{at}.selector", None, "is required when from is 'Selector'")


@dataclass(frozen=True)
class RouteGroupKind(CrdObject):
    """One ``allowedRoutes.kinds`` entry (group defaults to gateway.networking.k8s.io)."""

    kind: str
    group: Optional[str] = None

    def __post_init__(self) -> None:
        _check_group_kind(f"{_LISTENERS}[].allowedRoutes.kinds[]", self.group, self.kind)


@dataclass(frozen=True)
class AllowedRoutes(CrdObject):
    """Which routes may attach to a listener (default: same namespace only)."""

    namespaces: Optional[RouteNamespaces] = None
    kinds: Optional[Sequence[RouteGroupKind]] = None

    def __post_init__(self) -> None:
        at = f"{_LISTENERS}[].allowedRoutes"
        if self.namespaces is not None:
            check_type(f"{at}.namespaces", self.namespaces, RouteNamespaces)
        if self.kinds is not None:
            self._set("kinds", as_items(f"{at}.kinds", self.kinds, RouteGroupKind, max_items=8))


@dataclass(frozen=True)
class Listener(CrdObject):
    """A Gateway listener. TLS is not modelled, so the protocols are HTTP, HTTPS (TLS set elsewhere), TCP, UDP."""

    name: str
    port: int
    protocol: ListenerProtocol
    hostname: Optional[str] = None
    allowedRoutes: Optional[AllowedRoutes] = None

    def __post_init__(self) -> None:
        at = f"{_LISTENERS}[]"
        check_str(f"{at}.name", self.name, max_len=253, pattern=DNS_SUBDOMAIN, rule=SUBDOMAIN_RULE)
        check_int(f"{at}.port", self.port, 1, 65535)
        check_enum(f"{at}.protocol", self.protocol, ("HTTP", "HTTPS", "TCP", "UDP"))
        if self.hostname is not None:
            check_str(f"{at}.hostname", self.hostname, max_len=253, pattern=HOSTNAME, rule=HOSTNAME_RULE)
            if self.protocol in ("TCP", "UDP"):
                raise CrdValueError(f"{at}.hostname", self.hostname, f"is not allowed for protocol {self.protocol}")
        if self.allowedRoutes is not None:
            check_type(f"{at}.allowedRoutes", self.allowedRoutes, AllowedRoutes)


@dataclass(frozen=True)
class LocalParametersReference(CrdObject):
    """``spec.infrastructure.parametersRef``: implementation-specific parameters in the Gateway's namespace
    (for agentgateway: ``agentgateway.dev``/``AgentgatewayParameters``)."""

    group: str
    kind: str
    name: NameInput

    def __post_init__(self) -> None:
        at = "Gateway spec.infrastructure.parametersRef"
        _check_group_kind(at, self.group, self.kind)
        check_str(f"{at}.name", self.name, max_len=253)


@dataclass(frozen=True)
class GatewayInfrastructure(CrdObject):
    """``spec.infrastructure`` (only ``parametersRef`` is modelled)."""

    parametersRef: Optional[LocalParametersReference] = None

    def __post_init__(self) -> None:
        if self.parametersRef is not None:
            check_type("Gateway spec.infrastructure.parametersRef", self.parametersRef, LocalParametersReference)


@dataclass(frozen=True)
class GatewaySpec(CrdObject):
    """Spec of a Gateway: the GatewayClass name and 1..64 listeners (unique names; unique port+protocol+hostname),
    and optionally the infrastructure (parameters of the data plane the implementation provisions)."""

    gatewayClassName: str
    listeners: Sequence[Listener]
    infrastructure: Optional[GatewayInfrastructure] = None

    def __post_init__(self) -> None:
        check_str("Gateway spec.gatewayClassName", self.gatewayClassName, max_len=253)
        if self.infrastructure is not None:
            check_type("Gateway spec.infrastructure", self.infrastructure, GatewayInfrastructure)
        self._set("listeners", as_items(_LISTENERS, self.listeners, Listener, min_items=1, max_items=64))
        duplicate = first_duplicate(listener.name for listener in self.listeners)
        if duplicate:
            raise CrdValueError(f"{_LISTENERS}[{duplicate[0]}].name", duplicate[1], "is a duplicate listener name")
        duplicate = first_duplicate((lis.port, lis.protocol, lis.hostname) for lis in self.listeners)
        if duplicate:
            raise CrdValueError(f"{_LISTENERS}[{duplicate[0]}]", duplicate[1],
                                "repeats the port, protocol and hostname of an earlier listener")


# --- HTTPRoute ----------------------------------------------------------------------------------------

_ROUTE = "HTTPRoute spec"


@dataclass(frozen=True)
class ParentReference(CrdObject):
    """``spec.parentRefs[]``: the Gateway (default group/kind) a route attaches to."""

    name: NameInput
    group: Optional[str] = None
    kind: Optional[str] = None
    namespace: Optional[NameInput] = None
    sectionName: Optional[str] = None
    port: Optional[int] = None

    def __post_init__(self) -> None:
        at = f"{_ROUTE}.parentRefs[]"
        check_str(f"{at}.name", self.name, max_len=253)
        _check_group_kind(at, self.group, self.kind)
        _check_namespace(at, self.namespace)
        if self.sectionName is not None:
            check_str(f"{at}.sectionName", self.sectionName, max_len=253, pattern=DNS_SUBDOMAIN, rule=SUBDOMAIN_RULE)
        if self.port is not None:
            check_int(f"{at}.port", self.port, 1, 65535)

    def parent_key(self) -> tuple:
        """The parent this reference points at, with the CRD defaults filled in."""
        group = GATEWAY_GROUP if self.group is None else self.group
        return (group, self.kind or "Gateway", self.name, self.namespace or "")


@dataclass(frozen=True)
class HTTPPathMatch(CrdObject):
    """A path match: ``PathPrefix`` (default) or ``Exact`` need an absolute, normalised path."""

    value: str = "/"
    type: PathMatchType = "PathPrefix"

    def __post_init__(self) -> None:
        at = f"{_ROUTE}.rules[].matches[].path"
        check_enum(f"{at}.type", self.type, ("Exact", "PathPrefix", "RegularExpression"))
        check_str(f"{at}.value", self.value, min_len=0, max_len=1024)
        if self.type == "RegularExpression" or is_output(self.value):
            return
        if not self.value.startswith("/"):
            raise CrdValueError(f"{at}.value", self.value, "does not start with '/'")
        for forbidden in _PATH_FORBIDDEN:
            if forbidden in self.value:
                raise CrdValueError(f"{at}.value", self.value, f"must not contain {forbidden!r}")
        if self.value.endswith(("/..", "/.")):
            raise CrdValueError(f"{at}.value", self.value, "must not end with '/.' or '/..'")
        if not _PATH_CHARS.fullmatch(self.value):
            raise CrdValueError(f"{at}.value", self.value, "contains characters that are not valid in a path")


@dataclass(frozen=True)
class HTTPRouteMatch(CrdObject):
    """One ``matches[]`` entry (only the path is modelled)."""

    path: Optional[HTTPPathMatch] = None

    def __post_init__(self) -> None:
        if self.path is not None:
            check_type(f"{_ROUTE}.rules[].matches[].path", self.path, HTTPPathMatch)


@dataclass(frozen=True)
class HTTPBackendRef(CrdObject):
    """``rules[].backendRefs[]``: a Service (needs ``port``) or e.g. ``agentgateway.dev``/``AgentgatewayBackend``."""

    name: NameInput
    group: Optional[str] = None
    kind: Optional[str] = None
    namespace: Optional[NameInput] = None
    port: Optional[int] = None
    weight: Optional[int] = None

    def __post_init__(self) -> None:
        at = f"{_ROUTE}.rules[].backendRefs[]"
        check_str(f"{at}.name", self.name, max_len=253)
        _check_group_kind(at, self.group, self.kind)
        _check_namespace(at, self.namespace)
        if self.port is not None:
            check_int(f"{at}.port", self.port, 1, 65535)
        if self.weight is not None:
            check_int(f"{at}.weight", self.weight, 0, 1_000_000)
        if (self.group or "") == "" and (self.kind or "Service") == "Service" and self.port is None:
            raise CrdValueError(f"{at}.port", None, f"is required for a Service reference (name {self.name!r})")


@dataclass(frozen=True)
class HTTPRouteRule(CrdObject):
    """One routing rule: up to 64 matches (default: PathPrefix /) and up to 16 backendRefs."""

    matches: Optional[Sequence[HTTPRouteMatch]] = None
    backendRefs: Optional[Sequence[HTTPBackendRef]] = None
    name: Optional[str] = None

    def __post_init__(self) -> None:
        at = f"{_ROUTE}.rules[]"
        if self.matches is not None:
            self._set("matches", as_items(f"{at}.matches", self.matches, HTTPRouteMatch, max_items=64))
        if self.backendRefs is not None:
            self._set("backendRefs", as_items(f"{at}.backendRefs", self.backendRefs, HTTPBackendRef, max_items=16))
        if self.name is not None:
            check_str(f"{at}.name", self.name, max_len=253, pattern=DNS_SUBDOMAIN, rule=SUBDOMAIN_RULE)


@dataclass(frozen=True)
class HTTPRouteSpec(CrdObject):
    """Spec of an HTTPRoute: parentRefs (≤32), rules (1..16, ≤128 matches in all), optional hostnames (≤16)."""

    parentRefs: Sequence[ParentReference]
    rules: Sequence[HTTPRouteRule]
    hostnames: Optional[Sequence[str]] = None

    def __post_init__(self) -> None:
        self._set("parentRefs", as_items(f"{_ROUTE}.parentRefs", self.parentRefs, ParentReference, max_items=32))
        self._set("rules", as_items(f"{_ROUTE}.rules", self.rules, HTTPRouteRule, min_items=1, max_items=16))
        total = sum(len(rule.matches or ()) for rule in self.rules)
        if total > 128:
            raise CrdValueError(f"{_ROUTE}.rules", f"{total} matches", "exceeds 128 matches across all rules")
        if self.hostnames is not None:
            self._set("hostnames", as_items(f"{_ROUTE}.hostnames", self.hostnames, str, max_items=16))
            for index, hostname in enumerate(self.hostnames):
                check_str(f"{_ROUTE}.hostnames[{index}]", hostname, max_len=253, pattern=HOSTNAME, rule=HOSTNAME_RULE)
        self._check_parent_sections()

    def _check_parent_sections(self) -> None:
        """Several refs to one parent must each name a distinct sectionName (CEL rules on parentRefs)."""
        by_parent: dict = {}
        for index, ref in enumerate(self.parentRefs):
            if any(is_output(part) for part in ref.parent_key()):
                continue
            by_parent.setdefault(ref.parent_key(), []).append((index, ref.sectionName))
        for refs in by_parent.values():
            if len(refs) < 2:
                continue
            for index, section in refs:
                if not section:
                    raise CrdValueError(f"{_ROUTE}.parentRefs[{index}].sectionName", section,
                                        "must be set when several parentRefs point at the same parent")
            duplicate = first_duplicate(section for _, section in refs)
            if duplicate:
                raise CrdValueError(f"{_ROUTE}.parentRefs[{refs[duplicate[0]][0]}].sectionName", duplicate[1],
                                    "is repeated for the same parent")


# --- ReferenceGrant -----------------------------------------------------------------------------------

_GRANT = "ReferenceGrant spec"


@dataclass(frozen=True)
class ReferenceGrantFrom(CrdObject):
    """Who may refer: objects of ``group``/``kind`` in ``namespace`` (e.g. HTTPRoutes in ``mcp``)."""

    group: str
    kind: str
    namespace: str

    def __post_init__(self) -> None:
        _check_group_kind(f"{_GRANT}.from[]", self.group, self.kind)
        check_str(f"{_GRANT}.from[].namespace", self.namespace, max_len=63, pattern=DNS_LABEL, rule=LABEL_RULE)


@dataclass(frozen=True)
class ReferenceGrantTo(CrdObject):
    """What may be referred to in the grant's namespace: ``group``/``kind``, optionally one ``name``."""

    group: str
    kind: str
    name: Optional[str] = None

    def __post_init__(self) -> None:
        _check_group_kind(f"{_GRANT}.to[]", self.group, self.kind)
        if self.name is not None:
            check_str(f"{_GRANT}.to[].name", self.name, max_len=253)


@dataclass(frozen=True)
class ReferenceGrantSpec(CrdObject):
    """Spec of a ReferenceGrant: ``from_`` (rendered ``from``) and ``to``, 1..16 entries each."""

    WIRE_NAMES = {"from_": "from"}

    from_: Sequence[ReferenceGrantFrom]
    to: Sequence[ReferenceGrantTo]

    def __post_init__(self) -> None:
        self._set("from_", as_items(f"{_GRANT}.from", self.from_, ReferenceGrantFrom, min_items=1, max_items=16))
        self._set("to", as_items(f"{_GRANT}.to", self.to, ReferenceGrantTo, min_items=1, max_items=16))
