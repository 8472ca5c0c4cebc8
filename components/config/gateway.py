"""`gateway` (the agentgateway Gateway the routes attach to) and `aggregate` (one extra route whose backend has
every selected server as a target)."""
from __future__ import annotations

from typing import Annotated

from pydantic import model_validator

from components.crds._base import DNS_SUBDOMAIN
from components.crds.agentgateway import FailureMode, PrefixMode, ServiceType, SessionRouting

from .fields import Bool, Int, Model, Range, Str, Text, list_of, problem
from .servers import DnsLabel, RoutePath



class GatewayConfig(Model):
    """The agentgateway Gateway the routes attach to; `create=False` means it already exists."""

    create: Bool = True
    name: Annotated[str, Text(DNS_SUBDOMAIN, "a Kubernetes object name", 253)] = "mcp-gateway"
    namespace: DnsLabel = "agentgateway-system"
    port: Annotated[Int, Range(1, 65535)] = 80
    service_type: ServiceType = "ClusterIP"  # of the data-plane Service the controller creates (create=True only)

    @model_validator(mode="after")
    def _service_type_needs_create(self) -> "GatewayConfig":
        if "service_type" in self.model_fields_set and not self.create:
            from .fields import problems
            problems("GatewayConfig", [(("serviceType",), f"{self.service_type!r} only applies when gateway.create "
                                        "is true (an existing Gateway's Service is managed elsewhere)",
                                        self.service_type)])
        return self


class AggregateConfig(Model):
    """The optional aggregated route: one path whose AgentgatewayBackend has every selected server as a target."""

    enabled: Bool = False
    path: RoutePath = "/mcp"
    name: DnsLabel = "mcp-all"
    prefix_mode: PrefixMode = "Conditional"
    failure_mode: FailureMode = "FailClosed"
    session_routing: SessionRouting = "Stateful"
    servers: Annotated[tuple[Str, ...], list_of("strings", "[] is empty")] = ()  # target (= server) names; default all
