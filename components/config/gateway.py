"""`gateway` (the agentgateway Gateway the routes attach to) and `aggregate` (one extra route whose backend has
every selected server as a target)."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from components.crds._base import DNS_SUBDOMAIN
from components.crds.agentgateway import MAX_TARGETS, FailureMode, PrefixMode, ServiceType, SessionRouting

from .fields import Bool, Int, Model, Range, Str, list_of, problem, problems, text
from .servers import DnsLabel, RoutePath


class GatewayConfig(Model):
    """The agentgateway Gateway the routes attach to; `create=False` means it already exists."""

    create: Bool = True
    name: Annotated[str, text(DNS_SUBDOMAIN, "a Kubernetes object name", 253)] = "mcp-gateway"
    namespace: DnsLabel = "agentgateway-system"
    port: Annotated[Int, Range(1, 65535)] = 80
    service_type: ServiceType = "ClusterIP"  # of the data-plane Service the controller creates (create=True only)

    @model_validator(mode="after")
    def _service_type_needs_create(self) -> "GatewayConfig":
        if "service_type" in self.model_fields_set and not self.create:
            problems("GatewayConfig", [(("serviceType",), f"{self.service_type!r} only applies when gateway.create "
                                        "is true (an existing Gateway's Service is managed elsewhere)",
                                        self.service_type)])
        return self


class AggregateConfig(Model):
    """The optional aggregated route: one path whose AgentgatewayBackend has every selected server as a target."""

    enabled: Bool = False
    prefix_mode: PrefixMode = "Conditional"
    failure_mode: FailureMode = "FailClosed"
    session_routing: SessionRouting = "Stateful"
    servers: Annotated[tuple[Str, ...], list_of("strings", "[] is empty")] = ()  # target (= server) names; default all
    path: RoutePath = Field(default="/mcp", validate_default=True)
    name: DnsLabel = Field(default="mcp-all", validate_default=True)

    @field_validator("servers")
    @classmethod
    def _servers_exist(cls, servers: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        """The selected servers exist (names from the context: see federation.py), once each; when enabled, at most
        MAX_TARGETS (one AgentgatewayBackend's limit)."""
        names = (info.context or {}).get("names")
        found: list[tuple[tuple, str, Any]] = [
            ((index,), f"{name!r} is not a server name ({', '.join(names) or 'no servers'})" if name not in names
             else f"{name!r} is listed twice", name)
                 for index, name in enumerate(servers)
                 if names is not None and (name not in names or name in servers[:index])]
        if info.data.get("enabled") and len(servers) > MAX_TARGETS:
            found.append(((), f"{len(servers)} servers selected, but one AgentgatewayBackend holds at most "
                              f"{MAX_TARGETS} targets: list at most {MAX_TARGETS}", servers))
        problems("servers", found)
        return servers

    @field_validator("path", "name")
    @classmethod
    def _not_a_servers(cls, value: str, info: ValidationInfo) -> str:
        key = info.field_name or ""
        index = (info.context or {}).get(f"{key}s", {}).get(value)
        if info.data.get("enabled") and index is not None:
            why = "" if key == "path" else " (the aggregate's backend and route would get that server's object names)"
            raise problem(f"{value!r} is already the {key} of servers[{index}]{why}")
        return value
