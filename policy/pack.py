"""The pulumi-policy wrappers around the rule functions: the policies of the mcp-federation pack, all mandatory."""
from __future__ import annotations

from typing import Callable, Mapping

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import dangerous_tools, image_pinning, jwt_authentication, pod_security, resource_limits, route_backends
from .k8s_objects import describe

PACK_NAME = "mcp-federation"
MANDATORY = EnforcementLevel.MANDATORY

ResourceRule = Callable[[str, Mapping], list]


def _resource_validation(rule: ResourceRule):
    """A pulumi-policy resource validation that reports each problem of `rule`, prefixed with the object."""
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for problem in rule(args.resource_type, args.props):
            report_violation(f"{describe(args.resource_type, args.props, args.name)}: {problem}", None)
    return validate


def _validate_route_backends(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for violation in route_backends.violations(args.resources):
        report_violation(violation.message, violation.urn)


def _non_dev_validation(rule: Callable[[list, tuple[str, ...]], list]):
    """A stack validation of a rule that exempts the dev stacks named in the policy config `devStacks`."""
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        dev_stacks = dangerous_tools.dev_stacks_from_config(args.get_config())
        for violation in rule(args.resources, dev_stacks):
            report_violation(violation.message, violation.urn)
    return validate


def _dev_stacks_config(meaning: str) -> PolicyConfigSchema:
    """The `devStacks` policy config of a non-dev rule."""
    return PolicyConfigSchema(properties={"devStacks": {
        "type": "array", "items": {"type": "string"}, "default": list(dangerous_tools.DEFAULT_DEV_STACKS),
        "description": f"{meaning} (default: dev)."}})


POD_SECURITY = ResourceValidationPolicy(
    name="pod-security-restricted",
    description=(
        "Pods must meet the Kubernetes Pod Security Standard 'restricted' profile: set securityContext "
        "runAsNonRoot: true (and a non-zero runAsUser if any), seccompProfile type RuntimeDefault or Localhost, "
        "allowPrivilegeEscalation: false and capabilities.drop [ALL] (add at most NET_BIND_SERVICE) on every "
        "container; never privileged, hostNetwork/hostPID/hostIPC, hostPath volumes or hostPort; use only "
        "configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected or secret volumes. "
        "Namespaces must carry the label pod-security.kubernetes.io/enforce: restricted."),
    validate=_resource_validation(pod_security.violations),
    enforcement_level=MANDATORY,
)

RESOURCE_LIMITS = ResourceValidationPolicy(
    name="resource-limits",
    description=("Every container and init container must set resources.requests.cpu, resources.requests.memory, "
                 "resources.limits.cpu and resources.limits.memory (server config key `resources`)."),
    validate=_resource_validation(resource_limits.violations),
    enforcement_level=MANDATORY,
)

IMAGE_PINNED = ResourceValidationPolicy(
    name="image-pinned",
    description=("Every container image must be pinned: give a version tag other than latest "
                 "(e.g. python:3.11-slim) or a digest (@sha256:...); an image without a tag means latest."),
    validate=_resource_validation(image_pinning.violations),
    enforcement_level=MANDATORY,
)

ROUTE_BACKEND_DECLARED = StackValidationPolicy(
    name="route-backend-declared",
    description=("Every HTTPRoute backendRef must point at an AgentgatewayBackend or Service declared in this stack "
                 "(same name and namespace; namespace defaults to the route's): fix the reference or declare the "
                 "backend."),
    validate=_validate_route_backends,
    enforcement_level=MANDATORY,
)

DANGEROUS_TOOLS_DENIED = StackValidationPolicy(
    name="dangerous-tools-denied",
    description=(
        "Outside dev stacks, every tool listed in an AgentgatewayBackend's mcp-federation.dev/dangerous-tools "
        "annotation must be denied by an AgentgatewayPolicy of this stack that targets the backend, or by the "
        "backend's own spec.policies.mcp.authorization (action Deny with the tool's expression, or an Allow list "
        "without it), and no Allow rule reaching the backend may allow it: keep the stack config "
        "denyDangerousTools: true and do not allow dangerous tools in allowedTools. Dev stacks are listed in the "
        "policy config devStacks."),
    validate=_non_dev_validation(dangerous_tools.violations),
    enforcement_level=MANDATORY,
    config_schema=_dev_stacks_config("Stacks where dangerous tools may stay callable"),
)

JWT_AUTHENTICATION_REQUIRED = StackValidationPolicy(
    name="jwt-authentication-required",
    description=(
        "Outside dev stacks, every HTTPRoute must be covered by exactly one AgentgatewayPolicy with "
        "traffic.jwtAuthentication mode Strict, targeting (targetRefs, not targetSelectors) the route or a Gateway "
        "it attaches to: set the stack config auth.mode Strict with auth.providers. Dev stacks are listed in the "
        "policy config devStacks."),
    validate=_non_dev_validation(jwt_authentication.violations),
    enforcement_level=MANDATORY,
    config_schema=_dev_stacks_config("Stacks that may accept anonymous callers"),
)

POLICIES = [POD_SECURITY, RESOURCE_LIMITS, IMAGE_PINNED, ROUTE_BACKEND_DECLARED, DANGEROUS_TOOLS_DENIED,
            JWT_AUTHENTICATION_REQUIRED]
