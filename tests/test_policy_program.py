"""The policy pack on what the program really declares (Pulumi mocks, stack config as the CLI would pass it),
through the real pulumi-policy validate callables: resource policies see each object's inputs (the engine's
`Analyze`), stack policies see every resource's outputs (`AnalyzeStack`). A mutated copy of one real object must
add exactly the violation of the rule it breaks, naming the resource."""
from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Callable, Optional

import pytest

from policy.testing import Declared as PolicyInput
from policy.testing import Reported, check_resource, check_stack
from tests.pulumi_mocks import cli_config, mocks, restart, run_program  # noqa: F401 (fixture)
from tests.resource_types import BACKEND, DEPLOYMENT, HTTP_ROUTE, NAMESPACE, SERVICE

SERVERS = ("fetch", "github", "slack")  # the dev stack's code servers
# The dev stack's image server (Pulumi.dev.yaml) and the tools its config marks dangerous.
IMAGE_SERVER_DANGEROUS = {"everything": ("get-env", "gzip-file-as-resource")}


@dataclass(frozen=True)
class PolicyView:
    """One program run as the policy engine sees it."""

    inputs: tuple[PolicyInput, ...]
    outputs: tuple[PolicyInput, ...]

    def check(self, config: Optional[dict] = None) -> list[Reported]:
        """What `pulumi preview --policy-pack policy` would report."""
        found = [v for r in self.inputs for v in check_resource(r, config)]
        return found + check_stack(self.outputs, config)

    def _find(self, typ: str, name: str) -> int:
        found = [i for i, r in enumerate(self.inputs) if (r.resource_type, r.name) == (typ, name)]
        assert len(found) == 1, f"expected one {typ} {name!r}"
        return found[0]

    def get(self, typ: str, name: str) -> PolicyInput:
        """The resource (inputs) with this type and Pulumi name."""
        return self.inputs[self._find(typ, name)]

    def urn(self, typ: str, name: str) -> str:
        """The URN of the resource with this type and Pulumi name."""
        return self.get(typ, name).urn

    def props(self, typ: str, name: str) -> dict:
        """A deep copy of the resource's inputs."""
        return copy.deepcopy(dict(self.inputs[self._find(typ, name)].props))

    def mutated(self, typ: str, name: str, mutate: Callable[[dict], None]) -> "PolicyView":
        """This view with `mutate` applied to a deep copy of one resource's inputs and outputs."""
        index = self._find(typ, name)

        def changed(items: tuple[PolicyInput, ...]) -> tuple[PolicyInput, ...]:
            props = copy.deepcopy(dict(items[index].props))
            mutate(props)
            return items[:index] + (items[index]._replace(props=props),) + items[index + 1:]
        return replace(self, inputs=changed(self.inputs), outputs=changed(self.outputs))

    def without(self, typ: str, name: str) -> "PolicyView":
        """This view without one resource."""
        index = self._find(typ, name)
        return replace(self, inputs=self.inputs[:index] + self.inputs[index + 1:],
                       outputs=self.outputs[:index] + self.outputs[index + 1:])

    def as_stack(self, stack: str) -> "PolicyView":
        """The same objects, as if declared by stack `stack` (URNs carry the stack name)."""
        def moved(items: tuple[PolicyInput, ...]) -> tuple[PolicyInput, ...]:
            return tuple(r._replace(urn="urn:pulumi:" + stack + "::" + r.urn.split("::", 1)[1]) for r in items)
        return replace(self, inputs=moved(self.inputs), outputs=moved(self.outputs))


def run_stack(recorder, stack: str, config: dict[str, str]) -> PolicyView:
    """Run the real program as stack `stack` under mocks; return its resources as the policy engine sees them."""
    restart(recorder, stack=stack)
    return policy_view(run_program(recorder, config), recorder)


def policy_view(declared, recorder) -> PolicyView:
    """A finished mocks run (harness `Declared` and its recorder) as the policy engine sees it."""
    state = recorder.monitor.get_registered_resources()
    inputs, outputs = [], []
    for resource in declared.resources:
        urn = declared.urn(resource)
        inputs.append(PolicyInput(resource.typ, resource.inputs, urn, resource.name))
        outputs.append(PolicyInput(resource.typ, state[urn].state, urn, resource.name))
    return PolicyView(tuple(inputs), tuple(outputs))


@pytest.fixture
def dev(mocks) -> PolicyView:
    return run_stack(mocks, "dev", cli_config("dev"))


def added(before: PolicyView, after: PolicyView, config: Optional[dict] = None) -> list[Reported]:
    """The violations `after` has and `before` has not."""
    baseline = before.check(config)
    return [v for v in after.check(config) if v not in baseline]


def _pod(props: dict) -> dict:
    return props["spec"]["template"]["spec"]


def _container(props: dict) -> dict:
    return _pod(props)["containers"][0]


POD_SECURITY_BREAKS = {
    "privileged": (lambda d: _container(d)["securityContext"].update(privileged=True),
                   "container 'server': securityContext.privileged must be unset or false"),
    "hostNetwork": (lambda d: _pod(d).update(hostNetwork=True), "spec.template.spec.hostNetwork must be unset"),
    "hostPath": (lambda d: _pod(d)["volumes"].append({"name": "root", "hostPath": {"path": "/"}}),
                 "volumes['root'] uses hostPath"),
    "root-user": (lambda d: _pod(d)["securityContext"].update(runAsUser=0), "securityContext.runAsUser must not be 0"),
    "seccomp-unconfined": (lambda d: _pod(d)["securityContext"].update(seccompProfile={"type": "Unconfined"}),
                           "seccompProfile.type must be RuntimeDefault or Localhost"),
    "added-capability": (lambda d: _container(d)["securityContext"]["capabilities"].update(add=["SYS_ADMIN"]),
                         "capabilities.add may only contain NET_BIND_SERVICE (adds SYS_ADMIN)"),
    "privilege-escalation": (lambda d: _container(d)["securityContext"].pop("allowPrivilegeEscalation"),
                             "allowPrivilegeEscalation must be false (is None)"),
    "no-non-root": (lambda d: (_container(d)["securityContext"].pop("runAsNonRoot"),
                               _pod(d)["securityContext"].pop("runAsNonRoot")),
                    "securityContext.runAsNonRoot must be true"),
    "host-port": (lambda d: _container(d)["ports"][0].update(hostPort=8080), "hostPort 8080"),
}


@pytest.mark.parametrize("case", sorted(POD_SECURITY_BREAKS))
def test_a_pod_that_breaks_the_restricted_profile_is_reported(dev, case):
    mutate, expected = POD_SECURITY_BREAKS[case]
    found = added(dev, dev.mutated(DEPLOYMENT, "github", mutate))
    assert [(v.policy, v.urn) for v in found] == [("pod-security-restricted", dev.urn(DEPLOYMENT, "github"))]
    assert found[0].message.startswith("Deployment mcp/github: ") and expected in found[0].message, found[0].message


def test_missing_limits_are_reported_per_container(dev):
    found = added(dev, dev.mutated(DEPLOYMENT, "slack", lambda d: _container(d)["resources"]["limits"].pop("memory")))
    assert found == [Reported("resource-limits", "Deployment mcp/slack: container 'server': resources.limits.memory "
                                                 "is not set", dev.urn(DEPLOYMENT, "slack"))]


def test_an_init_container_needs_limits_too(dev):
    def add_init(props: dict) -> None:
        init = copy.deepcopy(_container(props))
        init.update(name="setup")
        del init["resources"]
        _pod(props)["initContainers"] = [init]
    found = added(dev, dev.mutated(DEPLOYMENT, "fetch", add_init))
    assert [(v.policy, v.message) for v in found] == [
        ("resource-limits", "Deployment mcp/fetch: initContainer 'setup': resources.requests.cpu, "
                            "resources.requests.memory, resources.limits.cpu, resources.limits.memory are not set")]


@pytest.mark.parametrize("image, problem", [("python:latest", "uses the tag latest"), ("python", "has no tag")])
def test_an_unpinned_image_is_reported(dev, image, problem):
    found = added(dev, dev.mutated(DEPLOYMENT, "github", lambda d: _container(d).update(image=image)))
    assert [(v.policy, v.urn) for v in found] == [("image-pinned", dev.urn(DEPLOYMENT, "github"))]
    assert found[0].message.startswith(f"Deployment mcp/github: container 'server': image {image!r} {problem}")


def test_a_digest_pins_the_image(dev):
    digest = "python@sha256:" + "0123456789abcdef" * 4
    assert added(dev, dev.mutated(DEPLOYMENT, "github", lambda d: _container(d).update(image=digest))) == []


def test_every_dev_workload_and_route_passes_the_workload_and_route_policies(dev):
    found = dev.check()
    assert [v for v in found if v.policy in ("resource-limits", "image-pinned", "route-backend-declared")] == []
    assert [v for v in found if v.policy == "pod-security-restricted" and "Namespace" not in v.message] == []
    assert len([r for r in dev.inputs if r.resource_type == DEPLOYMENT]) == len(SERVERS) + len(IMAGE_SERVER_DANGEROUS)


def _backend_ref(props: dict) -> dict:
    return props["spec"]["rules"][0]["backendRefs"][0]


def test_a_route_to_an_undeclared_backend_is_reported(dev):
    found = added(dev, dev.mutated(HTTP_ROUTE, "github-route", lambda d: _backend_ref(d).update(name="gihub")))
    assert found == [Reported("route-backend-declared",
                              "HTTPRoute mcp/github: spec.rules[0].backendRefs AgentgatewayBackend mcp/gihub is not "
                              "declared in this stack", dev.urn(HTTP_ROUTE, "github-route"))]


def test_a_route_whose_backend_is_not_in_the_stack_is_reported(dev):
    found = added(dev, dev.without(BACKEND, "slack-backend"))
    assert [(v.policy, v.urn) for v in found] == [("route-backend-declared", dev.urn(HTTP_ROUTE, "slack-route"))]
    assert "AgentgatewayBackend mcp/slack is not declared" in found[0].message


def test_a_backend_ref_matches_on_namespace_and_kind(dev):
    other_namespace = dev.mutated(HTTP_ROUTE, "fetch-route", lambda d: _backend_ref(d).update(namespace="tools"))
    assert [v.message for v in added(dev, other_namespace)] == [
        "HTTPRoute mcp/fetch: spec.rules[0].backendRefs AgentgatewayBackend tools/fetch is not declared in this stack"]
    pool = {"group": "inference.networking.k8s.io", "kind": "InferencePool"}
    other_kind = dev.mutated(HTTP_ROUTE, "fetch-route", lambda d: _backend_ref(d).update(pool))
    assert [v.message for v in added(dev, other_kind)] == [
        "HTTPRoute mcp/fetch: spec.rules[0].backendRefs InferencePool mcp/fetch (group 'inference.networking.k8s.io') "
        "is neither an AgentgatewayBackend nor a Service"]
    # The Service the stack declares is an allowed backend as well (group '' and kind Service are the defaults).
    to_service = dev.mutated(HTTP_ROUTE, "fetch-route", lambda d: _backend_ref(d).update(group="", kind="Service"))
    assert added(dev, to_service) == []
    assert dev.props(SERVICE, "fetch")["metadata"]["name"] == "fetch"


def test_a_namespace_without_the_enforce_label_is_reported(dev):
    def unlabel(props: dict) -> None:
        props["metadata"].setdefault("labels", {})["pod-security.kubernetes.io/enforce"] = "baseline"
    found = [v for v in dev.mutated(NAMESPACE, "mcp", unlabel).check() if "Namespace" in v.message]
    assert found == [Reported("pod-security-restricted",
                              "Namespace mcp: metadata.labels['pod-security.kubernetes.io/enforce'] must be "
                              "'restricted' (is 'baseline')", dev.urn(NAMESPACE, "mcp"))]

