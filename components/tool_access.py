"""Per-identity tool access: `servers[].allowedGroups` and `servers[].toolGroups` compiled into CEL conditions on the
JWT claims, appended to the tool rules of the backend's one `backend.mcp.authorization` Allow rule set.

Why Allow rules only (agentgateway v1.4.1 source, files below):
* every authorization rule set that reaches a backend is combined (`crates/agentgateway/src/store/binds.rs`,
  "Authorization composes to avoid erasing a broader deny"): any matching Deny wins, and once an Allow rule exists
  everything no Allow rule matches is denied (`crates/agentgateway/src/http/authorization.rs`, `RuleSets::validate`);
* a CEL error (a missing claim: `has()`-less access to an absent `jwt.groups`, or `jwt` null for an anonymous
  caller) counts as "no match". A Deny that depends on a claim would therefore fail open; an Allow fails closed.
So a server with group rules gets one Allow rule per visible tool: `<tool match> && <group condition>`.

Membership is list membership: in agentgateway's CEL (`crates/cel-fork/cel/src/objects.rs`, operator `in`),
`"g" in x` is a substring test when `x` is a string and a key test when `x` is a map. The condition therefore checks
`type(jwt.<claim>) == list` first (`type()` and the `list` type name: `crates/cel-fork/cel/src/functions.rs`
`type_`, `objects.rs` `standard_type`), and guards the claim with `has()` (false, not an error, when `jwt` is null:
`crates/agentgateway/src/cel/tests.rs`).
"""
from __future__ import annotations

from typing import Optional, Sequence

from .cel_literal import cel_string
from .config import ServerGroups


def group_condition(claim: str, groups: Sequence[str]) -> str:
    """CEL that is true exactly when the caller's `claim` is a list containing one of `groups`."""
    members = " || ".join(f"{cel_string(group)} in jwt.{claim}" for group in groups)
    if len(groups) > 1:
        members = f"({members})"
    return f"has(jwt.{claim}) && type(jwt.{claim}) == list && {members}"


def tool_condition(claim: str, groups: ServerGroups, tool: str) -> Optional[str]:
    """The claim condition a caller must meet to see and call `tool` (None: no group rule applies): one of the
    server's allowedGroups AND one of the tool's toolGroups."""
    parts = []
    if groups.allowed:
        parts.append(group_condition(claim, groups.allowed))
    if tool in groups.tools:
        parts.append(group_condition(claim, groups.tools[tool]))
    return " && ".join(parts) or None


def with_condition(tool_rule: str, condition: Optional[str]) -> str:
    """A tool's CEL rule restricted by a claim condition (`&&` binds the whole chain; no parentheses needed)."""
    return tool_rule if condition is None else f"{tool_rule} && {condition}"


