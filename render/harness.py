"""Run the Pulumi program (or a component) under `pulumi.runtime.set_mocks`, without the CLI, and record what it declares.

Used by the offline renderer and by the tests (tests/pulumi_mocks.py re-exports it). `reset_options()`
(pulumi 3.272 `pulumi/runtime/settings.py`) before `set_mocks` (no stack leaks between runs),
`preview=False` (outputs resolve, so no `apply` is silently skipped), and the program runs inside
`@pulumi.runtime.test`, which returns only after every registration RPC has finished.
"""
from __future__ import annotations

import asyncio
import runpy
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pulumi
from pulumi.runtime.mocks import MockMonitor

from render.values import unwrap_secrets

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT = "mcp-federation"
K8S_PROVIDER_TYPE = "pulumi:providers:kubernetes"

AutoName = Callable[[pulumi.runtime.MockResourceArgs], str]


def fixed_suffix_name(args: pulumi.runtime.MockResourceArgs) -> str:
    """The tests' stand-in for Pulumi's auto-name (`<name>-<random suffix>`): a fixed suffix."""
    return f"{args.name}-1a2b3c4d"


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every `new_resource` call; echoes inputs back as outputs and emulates auto-naming.

    A Kubernetes object without `metadata.name` gets `auto_name(args)`, as the provider would give it a
    `<name>-<random suffix>`; `auto_named` maps (type, Pulumi name) to the name it got.
    """

    def __init__(self, auto_name: AutoName = fixed_suffix_name) -> None:
        self.created: list[pulumi.runtime.MockResourceArgs] = []
        self.auto_name = auto_name
        self.auto_named: dict[tuple[str, str], str] = {}
        self.monitor = MockMonitor(self)  # keeps the URNs (MockResourceArgs has no parent)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.created.append(args)
        outputs = dict(args.inputs)
        if args.typ.startswith("kubernetes:"):
            metadata = unwrap_secrets(outputs.get("metadata")) or {}  # all of it is wrapped if any part is secret
            if not metadata.get("name"):
                outputs["metadata"] = {**metadata, "name": self.auto_name(args)}
                self.auto_named[(args.typ, args.name)] = outputs["metadata"]["name"]
        return f"{args.name}_id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}  # a plain dict: a (dict, None) tuple crashes MockMonitor.Invoke (pulumi/runtime/mocks.py: it iterates tup[1])


@dataclass
class Declared:
    """What one program run declared: every resource (in registration order) and the resolved stack outputs."""

    resources: list[pulumi.runtime.MockResourceArgs]
    urns: list[str]
    outputs: dict[str, Any] = field(default_factory=dict)

    def urn(self, resource: pulumi.runtime.MockResourceArgs) -> str:
        """The URN of a recorded resource; its type part is `<parent type>$<type>` (mock monitor format)."""
        found = [u for u in self.urns
                 if u.rsplit("::", 1)[1] == resource.name and u.split("::")[2].split("$")[-1] == resource.typ]
        assert len(found) == 1, f"no unique URN for {resource.typ} {resource.name!r}: {found}"
        return found[0]

    def parent_type(self, resource: pulumi.runtime.MockResourceArgs) -> str:
        """The type token of the resource's parent, read from its URN."""
        qualified = self.urn(resource).split("::")[2]
        return qualified.rsplit("$", 1)[0] if "$" in qualified else ""

    def of_type(self, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
        """The resources of one type token, e.g. `kubernetes:apps/v1:Deployment`."""
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, name: str) -> pulumi.runtime.MockResourceArgs:
        """The resource of type `typ` whose Pulumi name is `name` (fails if there is not exactly one)."""
        found = [r for r in self.of_type(typ) if r.name == name]
        assert len(found) == 1, f"expected one {typ} named {name!r}, found {[r.name for r in self.of_type(typ)]}"
        return found[0]

    def kubernetes_objects(self) -> list[pulumi.runtime.MockResourceArgs]:
        """Every Kubernetes object (not the provider, not components)."""
        return [r for r in self.resources if r.typ.startswith("kubernetes:") and r.custom]


_event_loop: Optional[asyncio.AbstractEventLoop] = None  # the loop the last restart() installed


def _install_fresh_event_loop() -> None:
    """Give this thread a new current event loop (closing the one the previous restart installed).

    The Pulumi runtime registers the root stack on the thread's current loop, and there may be none: an earlier
    `asyncio.run()` in the same process unsets it when it returns. A fresh loop also keeps what a previous run left
    pending (the RPCs of a program that raised) from running, and registering resources, during the next run; those
    are discarded with the old loop, without a "never awaited" warning for each.
    """
    global _event_loop
    if _event_loop is not None and not _event_loop.is_running() and not _event_loop.is_closed():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
            _event_loop.close()
    _event_loop = asyncio.new_event_loop()
    asyncio.set_event_loop(_event_loop)


def restart(recorder: RecordingMocks, stack: str = "dev", project: str = PROJECT) -> RecordingMocks:
    """Fresh runtime state (new event loop, new root stack, no config) and an empty record, e.g. between two runs
    in one test."""
    _install_fresh_event_loop()
    recorder.created.clear()
    recorder.auto_named.clear()
    recorder.monitor = MockMonitor(recorder)
    pulumi.runtime.reset_options()
    pulumi.runtime.set_mocks(recorder, project=project, stack=stack, preview=False, monitor=recorder.monitor)
    pulumi.runtime.set_all_config({}, [])
    return recorder


def _collect_resources(value: Any, found: dict[int, pulumi.Resource]) -> None:
    """Every Resource reachable from `value`: itself, and the attributes of components (recursively)."""
    if isinstance(value, pulumi.Resource):
        if id(value) not in found:
            found[id(value)] = value
            if isinstance(value, pulumi.ComponentResource):
                _collect_resources(vars(value), found)
    elif isinstance(value, dict):
        for item in value.values():
            _collect_resources(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect_resources(item, found)


def run_awaited(mocks: RecordingMocks, declare: Callable[[], tuple[Any, Any]]) -> Declared:
    """Run `declare()` to completion and return everything it declared.

    `declare` returns `(roots, outputs)`: `roots` holds the resources it created (components are searched for
    their children), `outputs` any value with Outputs. The run resolves `outputs` and waits on the URN of every
    resource reachable from `roots` (registrations complete asynchronously: pulumi/runtime/mocks.py); it fails if the mocks saw a resource that was not
    among them, i.e. one whose registration nothing waited for.
    """
    return _run(mocks, declare, require_all_awaited=True)


def run_declarations(mocks: RecordingMocks, declare: Callable[[], Any]) -> Declared:
    """Run `declare()` (which declares resources) to completion; return everything recorded.

    `declare` may return a value with Outputs (e.g. a dict): it is resolved before this returns. Completion
    relies on `@pulumi.runtime.test` draining every registration RPC; prefer `run_awaited` for new tests.
    """
    return _run(mocks, lambda: ([], declare()), require_all_awaited=False)


def _run(mocks: RecordingMocks, declare: Callable[[], tuple[Any, Any]], require_all_awaited: bool) -> Declared:
    resolved: dict[str, Any] = {}
    awaited: dict[int, pulumi.Resource] = {}

    @pulumi.runtime.test
    def program():
        roots, outputs = declare()
        _collect_resources(roots, awaited)
        urns = [resource.urn for resource in awaited.values()]
        return pulumi.Output.all(pulumi.Output.from_input(outputs), *urns).apply(
            lambda values: resolved.update(outputs=values[0], urns=values[1:]))

    program()
    registered = mocks.monitor.get_registered_resources()
    if require_all_awaited:
        missing = sorted(set(registered) - set(resolved["urns"]))
        assert not missing, f"declared but not reachable from the roots, so not awaited: {missing}"
    return Declared(resources=list(mocks.created), urns=list(registered), outputs=resolved["outputs"] or {})


def run_program(mocks: RecordingMocks, config: dict[str, str], secret_keys: Optional[list[str]] = None,
                program: Path = REPO_ROOT / "__main__.py") -> Declared:
    """Run the real `__main__.py` (or `program`) with this flat `<ns>:<key>` -> string config (and the keys
    that hold secrets, as the CLI marks them); outputs are the stack outputs."""
    pulumi.runtime.set_all_config(config, list(secret_keys or []))

    def declare():
        program_globals = runpy.run_path(str(program), run_name="__main__")
        return list(program_globals.values()), pulumi.runtime.settings.get_root_resource().outputs

    return run_awaited(mocks, declare)
