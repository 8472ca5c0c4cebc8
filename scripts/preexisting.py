"""Before `pulumi up`: stop with a clear message when the stack would create a Namespace or Gateway that already
exists in the cluster but is not in the stack's state.

    .venv/bin/python scripts/preexisting.py STACK      (scripts/deploy.sh runs it; exit 0 ok, 2 a clash or
                                                        the state or cluster could not be read)

Why: since pulumi-kubernetes 4.29.0 a new object is created client-side, so an object of the same name that
already exists fails `pulumi up` half-way with AlreadyExists (pulumi/pulumi-kubernetes CHANGELOG 4.29.0, #2926;
provider/pkg/await/await.go `Creation`: `client.Create` unless upsertExistingObjects). The message names each
clashing object and the three ways out: leave it to whoever manages it (config), adopt it with one upserting run
(`PULUMI_K8S_UPSERT_EXISTING_OBJECTS=true`, read by provider/pkg/provider/provider.go even for an explicit
provider), or `pulumi import` it. With that variable set to true the check is skipped (the user opted in).
kubectl uses the kubeconfig context of the stack (`kubeContext`), like the program's provider.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from components.config import FederationConfig, parse_config, raw_project_config  # noqa: E402
from render.stack_config import stack_config  # noqa: E402

UPSERT_ENV = "PULUMI_K8S_UPSERT_EXISTING_OBJECTS"
COMPONENT_TYPE = "mcpfederation:components:McpFederation"
COMPONENT_NAME = "mcp-federation"
PROVIDER_TYPE = "pulumi:providers:kubernetes"
TIMEOUT_SECONDS = 60
STDERR_CHARS = 2000  # of a failed tool's error output in a message


@dataclass(frozen=True)
class Planned:
    """An object the stack creates under a fixed name: its Pulumi type, resource name, kubectl words, import ID."""

    type_token: str
    resource_name: str
    kubectl: tuple[str, ...]
    import_id: str
    what: str          # "Namespace mcp"
    config_fix: str    # the config that leaves it to someone else


def planned_objects(config: FederationConfig) -> list[Planned]:
    """The Namespace (createNamespace) and the Gateway (gateway.create) the program declares by fixed name."""
    found = []
    if config.create_namespace:
        found.append(Planned("kubernetes:core/v1:Namespace", config.namespace, ("namespace", config.namespace),
                             config.namespace, f"Namespace {config.namespace}", "createNamespace false"))
    gateway = config.gateway
    if gateway.create:
        found.append(Planned("kubernetes:gateway.networking.k8s.io/v1:Gateway", gateway.name,
                             ("gateway", "-n", gateway.namespace, gateway.name), f"{gateway.namespace}/{gateway.name}",
                             f"Gateway {gateway.namespace}/{gateway.name}",
                             "--path 'gateway.create' false"))
    return found


def state_urns(export: dict) -> dict[tuple[str, str], str]:
    """(type, resource name) -> URN of each resource in a `pulumi stack export` document."""
    resources = (export.get("deployment") or {}).get("resources") or []
    found = {}
    for resource in resources:
        urn = resource.get("urn", "")
        found[(resource.get("type", ""), urn.rsplit("::", 1)[-1])] = urn
        if resource.get("type") == PROVIDER_TYPE and resource.get("id"):
            found[(PROVIDER_TYPE, urn.rsplit("::", 1)[-1])] = f"{urn}::{resource['id']}"
    return found


def clash_message(stack: str, clashes: list[Planned], urns: dict[tuple[str, str], str]) -> str:
    """What the user reads: each clashing object and how to resolve it (commands are copy-paste ready)."""
    parent = urns.get((COMPONENT_TYPE, COMPONENT_NAME))
    provider = urns.get((PROVIDER_TYPE, "kubernetes"))
    lines = [f"stack {stack} would create {', '.join(c.what for c in clashes)}, which already exist(s) in the cluster "
             "but not in the stack's state: `pulumi up` would fail with AlreadyExists (pulumi-kubernetes >= 4.29 "
             "creates objects client-side). Choose one:",
             "  1. it is managed elsewhere: leave it alone",
             *[f"       pulumi config set --stack {stack} {c.config_fix}" for c in clashes],
             f"  2. adopt it into this stack with one upserting run (server-side apply takes it over; `pulumi "
             f"destroy` will then delete it): {UPSERT_ENV}=true scripts/deploy.sh {stack}",
             "  3. import it into the state:"]
    for clash in clashes:
        command = ["pulumi", "import", "--stack", stack, clash.type_token, clash.resource_name, clash.import_id]
        command += ["--parent", f"{COMPONENT_NAME}={parent}"] if parent else []
        command += ["--provider", f"kubernetes={provider}"] if provider else []
        lines.append("       " + shlex.join(command))
    if not (parent and provider):
        lines.append("     (the stack has no state yet: run option 1 and `pulumi up` first, then import with the "
                     "--parent and --provider URNs `pulumi stack export` shows, and undo option 1)")
    return "\n".join(lines)


def find_clashes(stack: str, planned: Iterable[Planned], export: dict,
                 exists: Callable[[Planned], bool]) -> Optional[str]:
    """The message if a planned object exists in the cluster but not in the state, else None."""
    urns = state_urns(export)
    clashes = [p for p in planned if (p.type_token, p.resource_name) not in urns and exists(p)]
    return clash_message(stack, clashes, urns) if clashes else None


class ToolError(Exception):
    """pulumi or kubectl could not answer; the message says which command and why (exit 2)."""


def _excerpt(text: str) -> str:
    """A tool's stderr for a message: stripped, at most STDERR_CHARS characters."""
    text = text.strip()
    return text if len(text) <= STDERR_CHARS else text[:STDERR_CHARS] + f"... ({len(text) - STDERR_CHARS} more)"


def _run(command: list[str]) -> subprocess.CompletedProcess:
    """Run a tool; ToolError if it is missing, cannot start or takes longer than TIMEOUT_SECONDS."""
    shown = shlex.join(command)
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except FileNotFoundError:
        raise ToolError(f"`{command[0]}` is not on PATH (needed for `{shown}`)") from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"`{shown}` did not finish within {TIMEOUT_SECONDS} s") from None
    except OSError as exc:
        raise ToolError(f"`{shown}` could not run: {exc}") from None


def read_state(stack: str) -> dict:
    """The stack's `pulumi stack export` document; ToolError if it failed or is not an export. Only an export
    without resources means "no state": a failed export must never look like one (the advice would then be to
    leave the stack's own Namespace to someone else, and the next `pulumi up` would delete it)."""
    command = ["pulumi", "stack", "export", "--stack", stack]
    done = _run(command)
    if done.returncode != 0:
        raise ToolError(f"`{shlex.join(command)}` failed (exit {done.returncode}), so the stack's state is "
                        f"unknown: {_excerpt(done.stderr) or '(no error output)'}")
    try:
        export = json.loads(done.stdout)
    except ValueError as exc:
        raise ToolError(f"`{shlex.join(command)}` printed no JSON document ({exc})") from None
    deployment = export.get("deployment") if isinstance(export, dict) else None
    resources = deployment.get("resources") if isinstance(deployment, dict) else None
    if (not isinstance(export, dict) or not isinstance(deployment, (dict, type(None)))
            or not isinstance(resources, (list, type(None)))
            or not all(isinstance(r, dict) and isinstance(r.get("urn"), str) and isinstance(r.get("type"), str)
                       for r in resources or [])):
        raise ToolError(f"`{shlex.join(command)}` printed JSON that is not a stack export "
                        '({"deployment": {"resources": [{"urn": ..., "type": ...}]}})')
    return export


def object_exists(context: list[str], planned: Planned) -> bool:
    """Whether the cluster has the object (`--ignore-not-found`: absent is exit 0 and no output; any other
    failure, e.g. an unreachable cluster, is a ToolError, not "absent")."""
    command = ["kubectl", *context, "get", *planned.kubectl, "-o", "name", "--ignore-not-found"]
    done = _run(command)
    if done.returncode != 0:
        raise ToolError(f"`{shlex.join(command)}` failed (exit {done.returncode}): "
                        f"{_excerpt(done.stderr) or '(no error output)'}")
    return bool(done.stdout.strip())


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0] or argv[0].startswith("-"):
        print("usage: scripts/preexisting.py STACK", file=sys.stderr)
        return 2
    stack = argv[0]
    if os.environ.get(UPSERT_ENV) == "true":
        return 0
    raw, errors = raw_project_config(stack_config(stack, REPO_ROOT).values)
    if errors:
        print(f"preexisting: bad config of stack {stack}: {'; '.join(errors)}", file=sys.stderr)
        return 2
    config = parse_config(raw)  # bad config: the ConfigError names the key (pulumi up would stop there too)
    context = ["--context", config.kube_context] if config.kube_context else []
    try:
        message = find_clashes(stack, planned_objects(config), read_state(stack),
                               lambda planned: object_exists(context, planned))
    except ToolError as exc:
        print(f"preexisting: cannot check stack {stack} for objects that already exist: {exc}", file=sys.stderr)
        return 2
    if message:
        print(f"preexisting: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
