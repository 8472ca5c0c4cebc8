"""What an MCP authorization rule matches, read only in the forms the program writes; anything else is unknown.

The program writes `mcp.tool.name == "<tool>"`, optionally target-qualified (`mcp.tool.target == "<target>" && ...`,
components/tool_policy.py `tool_expression`) and optionally narrowed by a claim condition (`... && <group
condition>`, components/tool_access.py). A rule is recognised only when writing it again from the parts read gives
the same text, so a rule this module accepts matches at most that tool. Every other CEL text (`'x'` quotes, `||`,
`true`, a bare target test, any other claim test) is unknown: the policy pack must treat an unknown Allow rule as
"may allow any tool" and an unknown Deny rule as "denies nothing" (fail closed).
"""
from __future__ import annotations

import re
from typing import NamedTuple, Optional

from components.cel_literal import CEL_STRING, parse_cel_string
from components.tool_access import group_condition, with_condition
from components.tool_policy import tool_expression

_TOOL_RULE = re.compile(
    rf"(?:mcp\.tool\.target == (?P<target>{CEL_STRING}) && )?mcp\.tool\.name == (?P<tool>{CEL_STRING})"
    r"(?: && (?P<condition>.+))?", re.DOTALL)
_GROUP_START = re.compile(r"has\(jwt\.([A-Za-z_][A-Za-z0-9_]*)\) && type\(jwt\.\1\) == list && ")


class ToolRule(NamedTuple):
    """A recognised rule: it matches the tool `tool` on target `target` (None: any target), for every caller
    (`conditional` False) or only for callers whose claims meet a group condition."""

    target: Optional[str]
    tool: str
    conditional: bool

    def matches(self, target: str, tool: str) -> bool:
        """Whether the rule can match this tool of this target (for some caller)."""
        return self.tool == tool and self.target in (None, target)


def _is_group_condition(condition: str) -> bool:
    """Whether `condition` is a chain of group conditions exactly as components/tool_access.py writes them."""
    starts = [m.start() for m in _GROUP_START.finditer(condition)]
    if not starts or starts[0] != 0:
        return False
    pieces = [condition[a:b].removesuffix(" && ") for a, b in zip(starts, [*starts[1:], len(condition)])]
    rebuilt = []
    for piece in pieces:
        claim = _GROUP_START.match(piece)
        assert claim is not None  # every piece starts at a match
        groups = [parse_cel_string(literal) for literal in re.findall(CEL_STRING, piece[claim.end():])]
        if not groups or any(group is None for group in groups):
            return False
        rebuilt.append(group_condition(claim.group(1), [g for g in groups if g is not None]))
    return " && ".join(rebuilt) == condition


def parse_tool_rule(expression: str) -> Optional[ToolRule]:
    """The rule `expression` is, if the program could have written it; None for any other CEL."""
    found = _TOOL_RULE.fullmatch(expression)
    if found is None:
        return None
    tool = parse_cel_string(found["tool"])
    target = parse_cel_string(found["target"]) if found["target"] is not None else None
    condition = found["condition"]
    if tool is None or (found["target"] is not None and target is None):
        return None
    if condition is not None and not _is_group_condition(condition):
        return None
    if with_condition(tool_expression(target, tool), condition) != expression:
        return None
    return ToolRule(target, tool, condition is not None)
