"""Tool authorization at the gateway: which tools each server's clients may see and call.

The rules themselves are planned in components/plan.py (`tool_rules`). `ToolPolicy` declares the
`AgentgatewayPolicy` (`backend.mcp.authorization`) that makes agentgateway filter `tools/list` and reject
`tools/call` of the other tools.

CEL semantics (agentgateway v1.4.1: controller `pkg/agentgateway/plugins/backend_policies.go`
`translateBackendMCPAuthorization`, `crates/agentgateway/src/http/authorization.rs` `RuleSets::validate`): every
expression is a separate rule. With action Deny a tool is
hidden when ANY rule matches and everything else stays allowed; with action Allow a tool is visible when ANY rule
matches and everything else is hidden (so are prompts and resources, which have no `mcp.tool`).
`mcp.tool.name` is the upstream, unprefixed name and `mcp.tool.target` the backend's target name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal, Mapping, Optional, Sequence

import pulumi

from .cel_literal import cel_string
from .labels import PART_OF
from .readiness import POLICY_WAIT_FOR, WAIT_FOR_ANNOTATION
from .tool_access import with_condition
from .crds import (
    AgentgatewayBackend,
    AgentgatewayPolicy,
    AgentgatewayPolicySpec,
    AuthorizationPolicy,
    BackendPolicy,
    McpAuthorization,
    McpPolicy,
    PolicyTargetReference,
)

# `pulumi up` waits until the policy is Accepted and Attached on a Gateway at its current generation
# (components/readiness.py), so the tools are filtered before anything (e.g. the verifier) talks to the route.

Action = Literal["Deny", "Allow"]
PolicyTool = tuple[Optional[str], str]  # (target, tool); target None: the tool on any target


def tool_expression(target: Optional[str], tool: str) -> str:
    """The CEL rule matching one tool: `mcp.tool.name == "delete_repo"` on a single-target backend, and
    `mcp.tool.target == "github" && mcp.tool.name == "delete_repo"` on an aggregated one (target given).
    The literals are written by components/cel_literal.py so that agentgateway compiles them for any name."""
    name_rule = f"mcp.tool.name == {cel_string(tool)}"
    return name_rule if target is None else f"mcp.tool.target == {cel_string(target)} && {name_rule}"


def dangerous_tools_annotation(pairs: Iterable[tuple[str, str]]) -> str:
    """The value of labels.DANGEROUS_TOOLS_ANNOTATION: sorted, comma-separated `<target>/<tool>` pairs ("" if none)."""
    return ",".join(sorted({f"{target}/{tool}" for target, tool in pairs}))


@dataclass(frozen=True)
class ToolPolicyArgs:
    """Inputs of a ToolPolicy: the backend it guards and the rules, as (target, tool) pairs; a target of None
    matches the tool on any target (single-target backends). `conditions` adds a JWT-claim condition to the rule
    of a (target, tool) pair (Allow only: a claim-dependent Deny would fail open)."""

    namespace: pulumi.Input[str]      # the backend's namespace (targetRefs are local)
    backend_name: pulumi.Input[str]
    action: Action
    tools: Sequence[PolicyTool]
    conditions: Mapping[PolicyTool, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action not in ("Deny", "Allow"):
            raise ValueError(f"ToolPolicyArgs.action: {self.action!r} is not Deny or Allow")
        if not self.tools:
            raise ValueError("ToolPolicyArgs.tools: is empty (a policy needs at least one rule)")
        if self.conditions and self.action != "Allow":
            raise ValueError("ToolPolicyArgs.conditions: claim conditions need action Allow (a Deny rule that "
                             "depends on a claim fails open when the claim is missing)")


class ToolPolicy(pulumi.ComponentResource):
    """One AgentgatewayPolicy on one AgentgatewayBackend: `backend.mcp.authorization` with one CEL rule per tool."""

    policy_name: pulumi.Output[str]

    def __init__(self, name: str, args: ToolPolicyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mcpfederation:components:ToolPolicy", name, None, opts)
        expressions = [with_condition(tool_expression(target, tool), args.conditions.get((target, tool)))
                       for target, tool in args.tools]
        self.policy = AgentgatewayPolicy(
            f"{name}-tools",
            metadata={"name": f"{name}-tools", "namespace": args.namespace,
                      "labels": PART_OF,
                      "annotations": {WAIT_FOR_ANNOTATION: POLICY_WAIT_FOR}},
            spec=AgentgatewayPolicySpec(
                targetRefs=[PolicyTargetReference(
                    group=AgentgatewayBackend.GROUP, kind=AgentgatewayBackend.KIND, name=args.backend_name)],
                backend=BackendPolicy(mcp=McpPolicy(authorization=McpAuthorization(
                    action=args.action, policy=AuthorizationPolicy(matchExpressions=expressions))))),
            opts=pulumi.ResourceOptions(parent=self))
        self.policy_name = self.policy.metadata["name"]
        self.register_outputs({"policyName": self.policy_name})
