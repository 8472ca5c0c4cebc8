"""Run the pack's policies in-process the way the analyzer does, without the CLI (for tests and offline checks).

Props go through the same conversion as in `pulumi_policy`'s analyzer (protobuf Struct -> dict -> read-only
unknown-checking proxy), each policy gets its own config (as `--policy-pack-config` gives it) and every
`report_violation` call is recorded together with the policy's name.
"""
from __future__ import annotations

import inspect
from typing import Any, Iterable, Mapping, NamedTuple, Optional

from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from .pack import POLICIES


class Reported(NamedTuple):
    """One violation as the CLI would list it: policy name, message, URN of the resource."""

    policy: str
    message: str
    urn: str


class Declared(NamedTuple):
    """A resource to check: Pulumi type token, props (camelCase, as the engine has them), URN, Pulumi name."""

    resource_type: str
    props: Mapping[str, Any]
    urn: str
    name: str


def engine_props(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """`props` as a policy sees them: through a protobuf Struct (numbers become floats), then proxied."""
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=False, ignore_changes=[], delete_before_replace=None, aliases=[],
                                 custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[])


def _active(policies: Iterable[Policy], kind: type) -> list:
    return [p for p in policies if isinstance(p, kind) and p.enforcement_level != EnforcementLevel.DISABLED]


def _recorder(found: list[Reported], policy: Policy, default_urn: str):
    def report_violation(message: str, urn: Optional[str] = None) -> None:
        found.append(Reported(policy.name, message, urn or default_urn))
    return report_violation


def _run(result: Any) -> None:
    if inspect.isawaitable(result):
        raise AssertionError("the pack's validations are synchronous; an awaitable was returned")


def check_resource(resource: Declared, config: Optional[Mapping[str, Mapping]] = None,
                   policies: Iterable[Policy] = POLICIES) -> list[Reported]:
    """Every violation the resource policies report for one resource (the engine's `Analyze`)."""
    found: list[Reported] = []
    for policy in _active(policies, ResourceValidationPolicy):
        args = ResourceValidationArgs(resource.resource_type, engine_props(resource.props), resource.urn,
                                      resource.name, _options(), None, dict((config or {}).get(policy.name, {})))
        _run(policy.validate(args, _recorder(found, policy, resource.urn)))
    return found


def check_stack(resources: Iterable[Declared], config: Optional[Mapping[str, Mapping]] = None,
                policies: Iterable[Policy] = POLICIES) -> list[Reported]:
    """Every violation the stack policies report for the whole stack (the engine's `AnalyzeStack`)."""
    stack = [PolicyResource(r.resource_type, engine_props(r.props), r.urn, r.name, _options(), None, None, [], {})
             for r in resources]
    found: list[Reported] = []
    for policy in _active(policies, StackValidationPolicy):
        args = StackValidationArgs(stack, dict((config or {}).get(policy.name, {})))
        _run(policy.validate(args, _recorder(found, policy, "")))
    return found


def check_all(resources: Iterable[Declared], config: Optional[Mapping[str, Mapping]] = None,
              policies: Iterable[Policy] = POLICIES) -> list[Reported]:
    """Resource policies on each resource, then the stack policies: what `pulumi preview --policy-pack` reports."""
    resources = list(resources)
    policies = list(policies)
    found = [v for r in resources for v in check_resource(r, config, policies)]
    return found + check_stack(resources, config, policies)
