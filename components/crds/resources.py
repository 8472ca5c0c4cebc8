"""Pulumi resources for the custom resources, one class per kind, each taking only its typed spec.

The Pulumi type token is ``kubernetes:<apiVersion>:<kind>`` (e.g.
``kubernetes:agentgateway.dev/v1alpha1:AgentgatewayBackend``), as for any ``CustomResource``.
"""
from __future__ import annotations

from typing import Any, ClassVar, Mapping, Optional, Union

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.meta.v1 import ObjectMetaArgs

from ._base import DNS_LABEL, DNS_SUBDOMAIN, LABEL_RULE, SUBDOMAIN_RULE, CrdObject, check_str
from .agentgateway import AgentgatewayBackendSpec, AgentgatewayParametersSpec, AgentgatewayPolicySpec
from .gateway_api import GatewaySpec, HTTPRouteSpec, ReferenceGrantSpec

Metadata = Union[Mapping[str, Any], ObjectMetaArgs]


def _metadata_field(metadata: Optional[Metadata], name: str) -> Any:
    if metadata is None:
        return None
    if isinstance(metadata, Mapping):
        return metadata.get(name)
    return getattr(metadata, name, None)


class TypedCustomResource(CustomResource):
    """Base class: a ``CustomResource`` whose apiVersion/kind are fixed and whose spec is a typed spec object.

    ``metadata`` is a dict or ``ObjectMetaArgs``; a literal ``name`` must be a DNS-1123 subdomain and a
    literal ``namespace`` a DNS-1123 label. The typed spec stays available as ``typed_spec``.
    """

    API_VERSION: ClassVar[str]
    GROUP: ClassVar[str]  # the API group: API_VERSION without its version (set for every subclass)
    KIND: ClassVar[str]
    SPEC_TYPE: ClassVar[type]
    metadata: pulumi.Output[Any]  # set by CustomResource at runtime (its outputs); declared for the type checker

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.GROUP = cls.API_VERSION.rpartition("/")[0]

    def __init__(self, resource_name: str, *, spec: CrdObject, metadata: Optional[Metadata] = None,
                 opts: Optional[pulumi.ResourceOptions] = None) -> None:
        if not isinstance(spec, self.SPEC_TYPE):
            raise TypeError(f"{self.KIND} {resource_name!r}: spec must be a {self.SPEC_TYPE.__name__}, "
                            f"got {type(spec).__name__}")
        name = _metadata_field(metadata, "name")
        if name is not None:
            check_str(f"{self.KIND} metadata.name", name, max_len=253, pattern=DNS_SUBDOMAIN, rule=SUBDOMAIN_RULE)
        namespace = _metadata_field(metadata, "namespace")
        if namespace is not None:
            check_str(f"{self.KIND} metadata.namespace", namespace, max_len=63, pattern=DNS_LABEL, rule=LABEL_RULE)
        self.typed_spec = spec
        super().__init__(resource_name, api_version=self.API_VERSION, kind=self.KIND,
                         metadata=metadata, spec=spec.to_dict(), opts=opts)

    @classmethod
    def type_token(cls) -> str:
        """The Pulumi type token of this kind, e.g. ``kubernetes:gateway.networking.k8s.io/v1:HTTPRoute``."""
        return f"kubernetes:{cls.API_VERSION}:{cls.KIND}"


class AgentgatewayBackend(TypedCustomResource):
    """An agentgateway.dev/v1alpha1 AgentgatewayBackend (MCP variant)."""

    API_VERSION = "agentgateway.dev/v1alpha1"
    KIND = "AgentgatewayBackend"
    SPEC_TYPE = AgentgatewayBackendSpec


class AgentgatewayPolicy(TypedCustomResource):
    """An agentgateway.dev/v1alpha1 AgentgatewayPolicy (MCP authorization)."""

    API_VERSION = "agentgateway.dev/v1alpha1"
    KIND = "AgentgatewayPolicy"
    SPEC_TYPE = AgentgatewayPolicySpec


class AgentgatewayParameters(TypedCustomResource):
    """An agentgateway.dev/v1alpha1 AgentgatewayParameters (data-plane provisioning; referenced by a Gateway's
    spec.infrastructure.parametersRef, in the Gateway's namespace)."""

    API_VERSION = "agentgateway.dev/v1alpha1"
    KIND = "AgentgatewayParameters"
    SPEC_TYPE = AgentgatewayParametersSpec


class Gateway(TypedCustomResource):
    """A gateway.networking.k8s.io/v1 Gateway."""

    API_VERSION = "gateway.networking.k8s.io/v1"
    KIND = "Gateway"
    SPEC_TYPE = GatewaySpec


class HTTPRoute(TypedCustomResource):
    """A gateway.networking.k8s.io/v1 HTTPRoute."""

    API_VERSION = "gateway.networking.k8s.io/v1"
    KIND = "HTTPRoute"
    SPEC_TYPE = HTTPRouteSpec


class ReferenceGrant(TypedCustomResource):
    """A ReferenceGrant. Uses v1beta1, the version stored by Gateway API v1.6 and served by every
    Gateway API release agentgateway 1.4 supports (1.4-1.6); v1 is identical but newer."""

    API_VERSION = "gateway.networking.k8s.io/v1beta1"
    KIND = "ReferenceGrant"
    SPEC_TYPE = ReferenceGrantSpec
