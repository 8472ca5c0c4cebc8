"""The federation's plan: everything the stack derives from its config and the servers' catalogs, before any
resource is declared. Pure data in, pure data out (no Pulumi resources, no I/O), so it is tested without mocks.

`plan_federation(config, catalogs)` returns a FederationPlan: per server its tool rule (`deniedTools`/
`allowedTools`/`denyDangerousTools`/`toolGroups` against the catalog) and the AgentgatewayPolicy rules that
enforce it; the aggregated route's targets and rules; the `routes` and `verificationPlan` stack outputs (format:
verify/plan.py). Every problem is a ConfigError (all of them listed), raised before anything is declared.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Optional, Sequence

from .catalog import TOOLS_MATCH_EXACT, CatalogError, ServerCatalog
from .config import AggregateConfig, AuthConfig, ConfigError, FederationConfig, ServerConfig, ServerGroups
from .gateway_auth import jwt_location, oauth_metadata_paths
from .mcp_route import UPSTREAM_MCP_PATH
from .tool_access import tool_condition
from .tool_names import TOOL_NAME_RULE, tool_name_problem
from .tool_policy import Action, PolicyTool, dangerous_tools_annotation

# agentgateway names a multiplexed tool <target>_<tool> (v1.4.1 crates/agentgateway/src/mcp/handler.rs)
PREFIX_DELIMITER = "_"


@dataclass(frozen=True)
class ToolRule:
    """The gateway's rule for one server: `action` on `tools` (None: nothing to enforce), and `denied`, the tools
    a client must neither see nor call (catalog order; for the verification plan). `conditions` (Allow only) maps
    a tool to the JWT-claim condition its rule also requires (components/tool_access.py)."""

    action: Optional[Action]
    tools: tuple[str, ...]
    denied: tuple[str, ...]
    conditions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class PolicyRules:
    """The rules of one ToolPolicy: `action` on (target, tool) pairs (target None: any target), and the claim
    condition some pairs also require."""

    action: Action
    tools: tuple[PolicyTool, ...]
    conditions: Mapping[PolicyTool, str]


@dataclass(frozen=True)
class ServerPlan:
    """One server as the components declare it: its config, catalog, tool rule and route details."""

    server: ServerConfig
    catalog: ServerCatalog
    rule: ToolRule
    upstream_path: str                   # where its Service serves MCP
    extra_path_prefixes: tuple[str, ...]  # OAuth well-known paths its route also matches
    dangerous_tools: str                  # the backend's dangerous-tools annotation value
    policy: Optional[PolicyRules]         # None: nothing to enforce


@dataclass(frozen=True)
class AggregatePlan:
    """The aggregated route: its config, the selected servers (in order) and its backend's rules."""

    aggregate: AggregateConfig
    servers: tuple[ServerPlan, ...]  # its targets
    extra_path_prefixes: tuple[str, ...]
    dangerous_tools: str
    policy: Optional[PolicyRules]


@dataclass(frozen=True)
class FederationPlan:
    """What the McpFederation component declares, and the stack outputs it registers."""

    config: FederationConfig
    servers: tuple[ServerPlan, ...]
    aggregate: Optional[AggregatePlan]
    routes: dict[str, str]
    verification_plan: list[dict[str, Any]]


def plan_federation(config: FederationConfig, catalogs: Mapping[str, ServerCatalog]) -> FederationPlan:
    """The plan of the whole stack. Raises ConfigError (bad tool names against the catalogs, an aggregate that
    cannot be stated) and ValueError (a server without a catalog)."""
    missing = sorted({s.name for s in config.servers} - set(catalogs))
    if missing:
        raise ValueError(f"plan_federation: no catalog for server(s) {', '.join(missing)}")
    rules = tool_rules(config, catalogs)
    servers = tuple(_server_plan(config, server, catalogs[server.name], rules[server.name])
                    for server in config.servers)
    verification_plan = [
        {**verification_entry(s.server.name, s.server.path, s.catalog, s.rule.denied),
         **route_auth_fields(config.auth, s.server.groups,
                             [t for t in s.catalog.tool_names if t not in s.rule.denied])} for s in servers]
    routes = {server.name: server.path for server in config.servers}
    aggregate = None
    if config.aggregate.enabled:
        verification_plan.append(aggregate_plan_entry(config, catalogs, rules))
        aggregate = _aggregate_plan(config, servers, catalogs, rules)
        routes[config.aggregate.name] = config.aggregate.path
    return FederationPlan(config, servers, aggregate, routes, verification_plan)


def upstream_path(server: ServerConfig) -> str:
    """Where the server's Service serves MCP: /mcp for code servers, the configured mcpPath for images."""
    return server.image_server.mcp_path if server.image_server is not None else UPSTREAM_MCP_PATH


def _server_plan(config: FederationConfig, server: ServerConfig, catalog: ServerCatalog,
                 rule: ToolRule) -> ServerPlan:
    policy = None
    if rule.action is not None:
        policy = PolicyRules(rule.action, tuple((None, tool) for tool in rule.tools),
                             {(None, tool): condition for tool, condition in rule.conditions.items()})
    return ServerPlan(server, catalog, rule, upstream_path(server), oauth_metadata_paths(config.auth, server.path),
                      dangerous_tools_annotation((server.name, tool) for tool in catalog.dangerous_tool_names),
                      policy)


def _aggregate_plan(config: FederationConfig, servers: Sequence[ServerPlan], catalogs: Mapping[str, ServerCatalog],
                    rules: Mapping[str, ToolRule]) -> AggregatePlan:
    aggregate = config.aggregate
    by_name = {plan.server.name: plan for plan in servers}
    return AggregatePlan(
        aggregate, tuple(by_name[name] for name in aggregate.servers),
        oauth_metadata_paths(config.auth, aggregate.path),
        dangerous_tools_annotation((name, tool) for name in aggregate.servers
                                   for tool in catalogs[name].dangerous_tool_names),
        aggregate_tool_rule(aggregate.servers, rules, catalogs))


def _names(tools: Iterable[str]) -> str:
    return ", ".join(tools)


def _server_rule(key: str, server: ServerConfig, catalog: ServerCatalog, deny_dangerous: bool,
                 errors: list[str], claim: str = "groups") -> ToolRule:
    known, dangerous, probe = catalog.tool_names, set(catalog.dangerous_tool_names), catalog.probe_tool
    field = "allowedTools" if server.allowed_tools is not None else "deniedTools"
    listed = server.allowed_tools if server.allowed_tools is not None else server.denied_tools
    count = len(errors)
    for tool in listed:
        if tool not in known:
            errors.append(f"{key}.{field}: {tool!r} is not a tool of server {server.name!r} "
                          f"(its tools: {_names(known)})")
    if server.allowed_tools is not None:
        if probe is not None and probe not in server.allowed_tools:
            errors.append(f"{key}.allowedTools: must include the probe tool {probe!r} (the verifier calls it)")
        for tool in server.allowed_tools:
            if deny_dangerous and tool in dangerous:
                errors.append(f"{key}.allowedTools: {tool!r} is dangerous and denyDangerousTools is true "
                              "(remove it, or set denyDangerousTools to false)")
        allowed = set(server.allowed_tools)
        denied = tuple(tool for tool in known if tool not in allowed)
        rule = ToolRule("Allow", tuple(server.allowed_tools), denied)
    else:
        deny = set(server.denied_tools) | (dangerous if deny_dangerous else set())
        if probe is not None and probe in server.denied_tools:
            errors.append(f"{key}.deniedTools: the probe tool {probe!r} cannot be denied (the verifier calls it)")
        elif probe is not None and probe in deny:
            errors.append(f"{key}: the probe tool {probe!r} is dangerous, so denyDangerousTools would deny it "
                          "(mark a harmless tool as the probe)")
        denied = tuple(tool for tool in known if tool in deny)
        rule = ToolRule("Deny" if denied else None, denied, denied)
    groups = server.groups
    if groups.restricted:
        # One coherent Allow set: every visible tool, each with its claim condition (tool_access.py explains why).
        errors += group_rule_errors(key, groups, known, rule.denied, server.name)
        visible = tuple(tool for tool in known if tool not in rule.denied)
        conditions = {tool: tool_condition(claim, groups, tool) for tool in visible}
        rule = ToolRule("Allow", visible, rule.denied,
                        MappingProxyType({tool: c for tool, c in conditions.items() if c is not None}))
    return rule if len(errors) == count else ToolRule(None, (), ())


def tool_rules(config: FederationConfig, catalogs: Mapping[str, ServerCatalog]) -> dict[str, ToolRule]:
    """Each server's ToolRule, by server name. Raises ConfigError naming every unknown tool, a denied or missing
    probe tool, and a dangerous tool on an allow list while denyDangerousTools is true."""
    errors: list[str] = []
    rules = {server.name: _server_rule(f"servers[{index}]", server, catalogs[server.name],
                                       config.deny_dangerous_tools, errors, config.auth.groups_claim)
             for index, server in enumerate(config.servers)}
    if errors:
        raise ConfigError(errors)
    return rules


def group_rule_errors(key: str, groups: ServerGroups, known: Iterable[str], denied: Iterable[str],
                      server_name: str) -> list[str]:
    """Config errors of a server's toolGroups against its catalog: unknown tools, and tools the route denies
    anyway (a group rule on them would suggest that some callers may use them)."""
    known, denied = list(known), set(denied)
    errors = []
    for tool in groups.tools:
        if tool not in known:
            errors.append(f"{key}.toolGroups.{tool}: {tool!r} is not a tool of server {server_name!r} "
                          f"(its tools: {', '.join(known)})")
        elif tool in denied:
            errors.append(f"{key}.toolGroups.{tool}: {tool!r} is denied on this route for everyone "
                          "(deniedTools, allowedTools or denyDangerousTools): remove the group rule")
    return errors


def tool_groups_seen(groups: ServerGroups, visible: Iterable[str], prefix: str = "") -> dict[str, list[str]]:
    """The plan's `toolGroups`: each visible tool with a group rule, as the client sees it (`prefix` on an
    aggregated route), and the groups of which the caller needs one."""
    return {f"{prefix}{tool}": list(groups.tools[tool]) for tool in visible if tool in groups.tools}


def verification_entry(name: str, path: str, catalog: ServerCatalog, denied: tuple[str, ...] = ()) -> dict:
    """One `verificationPlan` item: what the post-deploy verifier must see through the gateway at `path`.

    `probe` is left out when the server has none; `toolsMatch` is given only when it is not the default exact."""
    unknown = sorted(set(denied) - set(catalog.tool_names))
    if unknown:
        raise CatalogError(f"{catalog.source}: denied tool(s) {', '.join(unknown)} are not in its tools")
    if catalog.probe_tool is not None and catalog.probe_tool in denied:
        raise CatalogError(f"{catalog.source}: the probe tool {catalog.probe_tool!r} cannot be denied")
    entry: dict[str, Any] = {"name": name, "path": path,
                             "expectedTools": [t for t in catalog.tool_names if t not in denied],
                             "deniedTools": list(denied)}
    if catalog.probe_tool is not None:
        entry["probe"] = {"tool": catalog.probe_tool, "arguments": dict(catalog.probe_arguments)}
    if catalog.tools_match != TOOLS_MATCH_EXACT:
        entry["toolsMatch"] = catalog.tools_match
    return entry


def names_are_prefixed(prefix_mode: str, target_count: int) -> bool:
    """Whether agentgateway shows multiplexed tools as `<target>_<tool>`: always with Always, with Conditional
    only when the backend has more than one target, never with Never (v1.4.1 `crates/agentgateway/src/mcp/handler.rs`)."""
    return prefix_mode == "Always" or (prefix_mode == "Conditional" and target_count > 1)


@dataclass(frozen=True)
class AggregateTarget:
    """One target of the aggregated route: the server's name, its catalog and the tools denied on it."""

    name: str
    catalog: ServerCatalog
    denied: tuple[str, ...] = ()


def _unique_names(aggregate: AggregateConfig, targets: Sequence[AggregateTarget]) -> None:
    """Unprefixed names must be unique across targets: agentgateway drops duplicates, so a tool would vanish."""
    owners: dict[str, list[str]] = {}
    for target in targets:
        for tool in target.catalog.tool_names:
            owners.setdefault(tool, []).append(target.name)
    clashes = [f"{tool} ({', '.join(names)})" for tool, names in owners.items() if len(names) > 1]
    if clashes:
        raise ConfigError([f"aggregate.prefixMode: {aggregate.prefix_mode!r} leaves tool names unprefixed, but "
                           f"{'; '.join(clashes)} are offered by more than one target (agentgateway would drop "
                           "duplicates): use Conditional or Always, or select fewer servers"])


def _prefixed_names_are_tool_names(targets: Sequence[AggregateTarget]) -> None:
    """A prefixed name is the name a client sees, so it must be an MCP tool name too: the characters always are (a
    DNS label, `_`, a tool name), the length not (a server name of up to 63 characters and a tool name of up to
    128; agentgateway does not check it: v1.4.1 crates/agentgateway/src/mcp/handler.rs `resource_name`)."""
    shown = ((f"{target.name}{PREFIX_DELIMITER}{tool}", target.name, tool)
             for target in targets for tool in target.catalog.tool_names)
    errors = [f"aggregate.servers: {name!r} (server {server!r}'s tool {tool!r} as the aggregated route shows it, "
              f"{len(name)} characters) is not an MCP tool name ({TOOL_NAME_RULE}): shorten the server or tool name, "
              "or leave the server out of aggregate.servers" for name, server, tool in shown if tool_name_problem(name)]
    if errors:
        raise ConfigError(errors)


def aggregate_verification_entry(aggregate: AggregateConfig, targets: Sequence[AggregateTarget]) -> dict:
    """The `verificationPlan` item of the aggregated route, with the names a client sees there.

    Prefixed names (`<target>_<tool>`) come with `targets`; unprefixed names without it. The probe is the first
    target's that has one; `toolsMatch` is atLeast as soon as one target may offer more than it states."""
    assert all(PREFIX_DELIMITER not in target.name for target in targets), \
        "target names are DNS labels (config), so they never contain the prefix delimiter"
    prefixed = names_are_prefixed(aggregate.prefix_mode, len(targets))
    if prefixed:
        _prefixed_names_are_tool_names(targets)
    else:
        _unique_names(aggregate, targets)
    entry: dict[str, Any] = {"name": aggregate.name, "path": aggregate.path, "expectedTools": [],
                             "deniedTools": []}
    tools_match = TOOLS_MATCH_EXACT
    for target in targets:
        single = verification_entry(target.name, aggregate.path, target.catalog, target.denied)
        prefix = f"{target.name}{PREFIX_DELIMITER}" if prefixed else ""
        entry["expectedTools"] += [prefix + tool for tool in single["expectedTools"]]
        entry["deniedTools"] += [prefix + tool for tool in single["deniedTools"]]
        if "probe" in single and "probe" not in entry:
            entry["probe"] = {"tool": prefix + single["probe"]["tool"], "arguments": single["probe"]["arguments"]}
        if single.get("toolsMatch", TOOLS_MATCH_EXACT) != TOOLS_MATCH_EXACT:
            tools_match = single["toolsMatch"]
    if tools_match != TOOLS_MATCH_EXACT:
        entry["toolsMatch"] = tools_match
    if prefixed:
        entry["targets"] = [target.name for target in targets]
    return entry


def _auth(auth: AuthConfig) -> dict[str, Any]:
    """`auth` of an entry when anonymous requests get 401 (mode Strict); {} otherwise (anonymous access passes).
    `location` is the policy's own `jwtAuthentication.location`, when it sets one: where the verifier must put
    its token."""
    if not auth.required:
        return {}
    fields: dict[str, Any] = {"required": True, "resourceMetadata": auth.mcp is not None}
    location = jwt_location(auth)
    if location is not None:
        fields["location"] = location.to_dict()
    return {"auth": fields}


def route_auth_fields(auth: AuthConfig, groups: ServerGroups, visible: Sequence[str]) -> dict[str, Any]:
    """The auth fields of one server's own route (`visible`: the tools the route shows to a permitted caller)."""
    fields = _auth(auth)
    if groups.allowed:
        fields["allowedGroups"] = list(groups.allowed)
    tool_groups = tool_groups_seen(groups, visible)
    if tool_groups:
        fields["toolGroups"] = tool_groups
    if groups.restricted:
        fields["groupsClaim"] = auth.groups_claim
    return fields


def aggregate_auth_fields(auth: AuthConfig, targets: Sequence[tuple[str, ServerGroups, Sequence[str]]],
                          prefixed: bool) -> dict[str, Any]:
    """The auth fields of the aggregated route; `targets` are (target name, its server's groups, visible tools).

    The plan has one route-wide `allowedGroups`. When every target has the same allowedGroups it is that list.
    Otherwise each restricted tool is listed in `toolGroups` with the one group list a caller needs: the target's
    allowedGroups, the tool's own groups, or, when it has both, whichever implies the other (a subset). Two
    unrelated lists cannot be stated in the plan format, so that is a ConfigError naming the tool."""
    fields = _auth(auth)
    allowed_sets = {tuple(groups.allowed) for _, groups, _ in targets}
    shared = len(allowed_sets) == 1
    if shared and targets[0][1].allowed:
        fields["allowedGroups"] = list(targets[0][1].allowed)
    tool_groups: dict[str, list[str]] = {}
    errors = []
    for name, groups, visible in targets:
        prefix = f"{name}_" if prefixed else ""
        for tool in visible:
            own = list(groups.tools.get(tool, ()))
            route = [] if shared else list(groups.allowed)
            if own and route and not (set(own) <= set(route) or set(route) <= set(own)):
                errors.append(f"aggregate.servers: tool {tool!r} of {name!r} needs one of allowedGroups "
                              f"{route} and one of toolGroups {own}, and the other targets have different "
                              "allowedGroups: the aggregated route's verification plan cannot state that (give the "
                              "selected servers the same allowedGroups, or make one list a subset of the other)")
                continue
            needed = own if not route else route if not own else (own if set(own) <= set(route) else route)
            if needed:
                tool_groups[prefix + tool] = needed
    if errors:
        raise ConfigError(errors)
    if tool_groups:
        fields["toolGroups"] = tool_groups
    if any(groups.restricted for _, groups, _ in targets):
        fields["groupsClaim"] = auth.groups_claim
    return fields


def aggregate_plan_entry(config: FederationConfig, catalogs: Mapping[str, ServerCatalog],
                         rules: Mapping[str, ToolRule]) -> dict[str, Any]:
    """The aggregated route's `verificationPlan` entry. Each target hides what its own route hides, and keeps its
    server's group rules. Raises ConfigError when prefixMode Never meets a tool name offered by two targets, or
    when group rules cannot be stated in the plan (aggregate_auth_fields)."""
    entry = aggregate_verification_entry(config.aggregate, [
        AggregateTarget(name, catalogs[name], rules[name].denied) for name in config.aggregate.servers])
    servers = {server.name: server for server in config.servers}
    entry.update(aggregate_auth_fields(config.auth, [
        (name, servers[name].groups, [t for t in catalogs[name].tool_names if t not in rules[name].denied])
        for name in config.aggregate.servers], prefixed="targets" in entry))
    return entry


def aggregate_tool_rule(servers: Sequence[str], rules: Mapping[str, ToolRule], catalogs: Mapping[str, ServerCatalog]
                        ) -> Optional[PolicyRules]:
    """The rules of the aggregated backend's one policy (per (target, tool) pair, with claim conditions), or None
    if nothing is restricted.

    One AgentgatewayPolicy has one action. With deny lists only, it denies each target's denied tools. As soon as
    one target has an allow list or a group rule, the policy is an allow list: that target's allowed tools (each
    with its claim condition), plus every non-denied catalog tool of the other targets. (So an image target
    without an allow list then shows only its expectedTools here, not any extra tool it may offer.)"""
    actions = {rules[name].action for name in servers} - {None}
    if not actions:
        return None
    if actions == {"Deny"}:
        return PolicyRules("Deny", tuple((name, tool) for name in servers for tool in rules[name].tools), {})
    pairs: list[PolicyTool] = []
    conditions: dict[PolicyTool, str] = {}
    for name in servers:
        rule = rules[name]
        tools = rule.tools if rule.action == "Allow" else \
            tuple(t for t in catalogs[name].tool_names if t not in rule.denied)
        pairs += [(name, tool) for tool in tools]
        conditions.update({(name, tool): condition for tool, condition in rule.conditions.items()})
    return PolicyRules("Allow", tuple(pairs), conditions)
