"""The `pulumi.com/waitFor` annotations: when `pulumi up` may consider an object ready.

pulumi-kubernetes reads the annotation as one expression or as a JSON array of expressions that must all hold
(`provider/pkg/metadata/overrides.go`, `ReadyCondition`: "Attempt to interpret the annotation as a JSON string
array"). Two forms exist:
- `condition=T` reads only `.status.conditions` and is not satisfied while a condition's `observedGeneration`
  is older than `metadata.generation` (`provider/pkg/await/condition/kubectl.go`, `checkCondition`);
- `jsonpath={...}=V` (`provider/pkg/jsonpath/jsonpath.go`) evaluates an RFC 9535 query (github.com/theory/jsonpath)
  and compares only the FIRST selected value with V. It knows nothing of generations, so every nested status
  (HTTPRoute `status.parents[]`, AgentgatewayPolicy `status.ancestors[]`) filters on
  `@.observedGeneration==$.metadata.generation` itself: a status written for an older spec selects nothing.
  The parser splits the expression on `=` but keeps `==`, so only `==` comparisons may appear inside.

agentgateway v1.4.1 (controller/pkg/agentgateway/plugins/traffic_plugin.go, `TranslateAgentgatewayPolicy`):
an AgentgatewayPolicy whose target is not (yet) on a Gateway gets an ancestor `{group: agentgateway.dev,
name: StatusSummary}` with `Accepted=True` and `Attached=False`; ancestors are sorted by
`reports.ParentString` (group first), so that entry comes before any Gateway. Policy waits therefore select
Gateway ancestors only and require `Attached=True` as well as `Accepted=True`. Conditions carry
`observedGeneration` = the policy's generation (plugins/status.go `setConditions`; istio's
`kstatus.UpdateConditionIfChanged` rewrites a condition whose generation changed).
"""
from __future__ import annotations

import json

WAIT_FOR_ANNOTATION = "pulumi.com/waitFor"
CURRENT_GENERATION = "@.observedGeneration==$.metadata.generation"


def condition(condition_type: str) -> str:
    """`condition=<type>`: `.status.conditions[type]` is True at the current generation."""
    return f"condition={condition_type}"


def nested_condition(entries: str, entry_filter: str, condition_type: str) -> str:
    """A jsonpath wait: among `.status.<entries>[]` matching `entry_filter`, the first condition of
    `condition_type` written for the current generation has status True."""
    return (f"jsonpath={{.status.{entries}[?({entry_filter})].conditions"
            f"[?(@.type=='{condition_type}' && {CURRENT_GENERATION})].status}}=True")


def wait_for(*expressions: str) -> str:
    """The annotation value: the expression itself when there is one, else a JSON array (all must hold)."""
    if not expressions:
        raise ValueError("wait_for: at least one expression")
    for expression in expressions:
        if not expression.startswith(("condition=", "jsonpath=")):
            raise ValueError(f"wait_for: {expression!r} has no condition= or jsonpath= prefix")
    return expressions[0] if len(expressions) == 1 else json.dumps(list(expressions))


GATEWAY_PARENT = "@.parentRef.kind=='Gateway'"
GATEWAY_ANCESTOR = "@.ancestorRef.kind=='Gateway'"

# AgentgatewayBackend: top-level status.conditions, so `condition=` (generation-aware) works.
BACKEND_WAIT_FOR = wait_for(condition("Accepted"))
# Gateway: Accepted and Programmed (top-level conditions). Neither waits for the proxy pods: agentgateway fills
# in a missing Programmed as True (controller/pkg/reports/status.go, addMissingGatewayConditions), which is why
# scripts/verify-stack.sh waits for the proxy Deployment's rollout itself.
GATEWAY_WAIT_FOR = wait_for(condition("Accepted"), condition("Programmed"))
# HTTPRoute: conditions per parent Gateway; the backend must also be resolved.
ROUTE_WAIT_FOR = wait_for(nested_condition("parents", GATEWAY_PARENT, "Accepted"),
                          nested_condition("parents", GATEWAY_PARENT, "ResolvedRefs"))
# AgentgatewayPolicy: conditions per ancestor Gateway; Attached means the data plane got it.
POLICY_WAIT_FOR = wait_for(nested_condition("ancestors", GATEWAY_ANCESTOR, "Accepted"),
                           nested_condition("ancestors", GATEWAY_ANCESTOR, "Attached"))
