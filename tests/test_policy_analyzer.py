"""The policy pack as the Pulumi CLI runs it: `python -m pulumi.policy <engine> .` in policy/ (what the
pulumi-analyzer-policy-python plugin does), spoken to over the analyzer gRPC protocol with real program objects."""
from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from tests.pulumi_mocks import REPO_ROOT, cli_config, mocks  # noqa: F401 (fixture)
from tests.test_policy_program import BACKEND, DEPLOYMENT, HTTP_ROUTE, _backend_ref, _container, run_stack

START_TIMEOUT = 120  # seconds for the pack process to print its port on a loaded machine


def _read_port(process: subprocess.Popen) -> int:
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or process.poll() is not None:
            raise AssertionError(f"policy pack did not start: {process.stderr.read().decode(errors='replace')}")
        if selector.select(timeout=remaining):
            line += os.read(process.stdout.fileno(), 64)
    return int(line.strip())


@pytest.fixture(scope="module")
def analyzer():
    """The running pack's Analyzer client (stopped after the module's tests)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PULUMI_CONFIG")}
    process = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
                               cwd=REPO_ROOT / "policy", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    channel = None
    try:
        port = _read_port(process)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        if channel is not None:
            channel.close()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def _struct(props: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    return struct


def test_the_pack_announces_its_mandatory_policies(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=60)
    assert info.name == "mcp-federation" and info.supportsConfig
    assert {p.name: (p.enforcementLevel, p.policy_type) for p in info.policies} == {
        "pod-security-restricted": (analyzer_pb2.MANDATORY, analyzer_pb2.POLICY_TYPE_RESOURCE),
        "resource-limits": (analyzer_pb2.MANDATORY, analyzer_pb2.POLICY_TYPE_RESOURCE),
        "image-pinned": (analyzer_pb2.MANDATORY, analyzer_pb2.POLICY_TYPE_RESOURCE),
        "route-backend-declared": (analyzer_pb2.MANDATORY, analyzer_pb2.POLICY_TYPE_STACK),
        "dangerous-tools-denied": (analyzer_pb2.MANDATORY, analyzer_pb2.POLICY_TYPE_STACK),
        "jwt-authentication-required": (analyzer_pb2.MANDATORY, analyzer_pb2.POLICY_TYPE_STACK)}
    schema = {p.name: p.configSchema for p in info.policies}["dangerous-tools-denied"]
    assert dict(schema.properties["devStacks"])["default"] == ["dev"]


def test_a_real_deployment_passes_and_its_privileged_copy_is_blocked(analyzer, mocks):
    dev = run_stack(mocks, "dev", cli_config("dev"))
    deployment = dev.get(DEPLOYMENT, "github")

    def analyze(props: dict):
        return analyzer.Analyze(analyzer_pb2.AnalyzeRequest(
            type=DEPLOYMENT, urn=deployment.urn, name=deployment.name, properties=_struct(props)), timeout=60)
    assert list(analyze(deployment.props).diagnostics) == []

    privileged = dev.props(DEPLOYMENT, "github")
    _container(privileged)["securityContext"]["privileged"] = True
    (diagnostic,) = analyze(privileged).diagnostics
    assert (diagnostic.policyName, diagnostic.policyPackName, diagnostic.enforcementLevel) == \
        ("pod-security-restricted", "mcp-federation", analyzer_pb2.MANDATORY)
    assert "Deployment mcp/github: container 'server': securityContext.privileged must be unset or false" \
        in diagnostic.message


def test_a_stack_with_a_route_to_an_undeclared_backend_is_blocked(analyzer, mocks):
    dev = run_stack(mocks, "dev", cli_config("dev"))
    broken = dev.mutated(HTTP_ROUTE, "github-route", lambda d: _backend_ref(d).update(name="gihub"))

    def analyze_stack(view):
        resources = [analyzer_pb2.AnalyzerResource(type=r.resource_type, urn=r.urn, name=r.name,
                                                   properties=_struct(r.props)) for r in view.outputs]
        response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources), timeout=60)
        return [(d.policyName, d.urn) for d in response.diagnostics if d.policyName == "route-backend-declared"]
    assert analyze_stack(dev) == []
    assert analyze_stack(broken) == [("route-backend-declared", dev.urn(HTTP_ROUTE, "github-route"))]


def _denials(analyzer, view) -> list[str]:
    resources = [analyzer_pb2.AnalyzerResource(type=r.resource_type, urn=r.urn, name=r.name,
                                               properties=_struct(r.props)) for r in view.outputs]
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources), timeout=60)
    return sorted(d.urn for d in response.diagnostics if d.policyName == "dangerous-tools-denied")


def test_dangerous_tools_follow_the_stack_name_and_the_policy_config(analyzer, mocks):
    # dev config leaves dangerous tools callable; the pack imports components.tool_policy from the checkout.
    dev = run_stack(mocks, "dev", cli_config("dev"))
    staging = dev.as_stack("staging")
    assert _denials(analyzer, dev) == []
    # One diagnostic per undenied dangerous tool: github and slack have one each, everything two (get-env,
    # gzip-file-as-resource); the aggregated route (mcp-all) that Pulumi.dev.yaml enables has all four.
    expected = sorted(staging.urn(BACKEND, f"{name}-backend")
                      for name in ("github", "slack", "everything", "everything", *["mcp-all"] * 4))
    assert _denials(analyzer, staging) == expected
    config = analyzer_pb2.PolicyConfig(enforcementLevel=analyzer_pb2.MANDATORY,
                                       properties=_struct({"devStacks": ["dev", "staging"]}))
    try:
        analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={"dangerous-tools-denied": config}),
                           timeout=60)
        assert _denials(analyzer, staging) == []
    finally:
        analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={}), timeout=60)
