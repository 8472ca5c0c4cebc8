"""Replicas > 1 (issue 5): a PodDisruptionBudget, topology spread over zones and nodes, and the session key from
the server's Secret; nothing of it for one replica. Every object validated against the Kubernetes 1.33 schemas."""
from __future__ import annotations

import pytest

from components.availability import SPREAD_TOPOLOGY_KEYS
from tests.k8s_schema import assert_valid, normalize_numbers
from tests.pulumi_mocks import Declared, cli_config, mocks, run_program  # noqa: F401 (fixture)
from tests.resource_types import DEPLOYMENT, PDB

SESSION_KEY = "a-session-key-of-32-characters!!"
IMAGE_SERVER = {"name": "tools", "type": "image", "image": "example.com/tools:1.0.0", "port": 8082, "replicas": 2,
                "expectedTools": ["read"], "probe": {"tool": "read"}}


@pytest.fixture
def replicated(mocks) -> Declared:
    return run_program(mocks, cli_config("dev", {
        "mcp-federation:secrets": {"sessionKey": SESSION_KEY},
        "mcp-federation:servers": [{"name": "github", "replicas": 3}, {"name": "slack"}, IMAGE_SERVER]}))


def _pod(declared: Declared, name: str) -> dict:
    return normalize_numbers(declared.one(DEPLOYMENT, name).inputs)["spec"]["template"]


def test_replicated_servers_get_a_valid_budget_of_one_unavailable_pod(replicated):
    budgets = {r.name: normalize_numbers(r.inputs) for r in replicated.of_type(PDB)}
    assert sorted(budgets) == ["github-pdb", "tools-pdb"]  # slack runs one replica: no budget
    for name in ("github", "tools"):
        budget = budgets[f"{name}-pdb"]
        assert_valid(budget)
        assert budget["metadata"]["name"] == name and budget["metadata"]["namespace"] == "mcp"
        assert budget["spec"] == {"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow",
                                  "selector": {"matchLabels": _pod(replicated, name)["metadata"]["labels"]}}
        assert replicated.parent_type(replicated.one(PDB, f"{name}-pdb")) == \
            "mcpfederation:components:DisruptionBudget"


def test_replicated_pods_spread_over_zones_and_nodes_without_blocking(replicated):
    for name in ("github", "tools"):
        pod = _pod(replicated, name)
        constraints = pod["spec"]["topologySpreadConstraints"]
        assert [c["topologyKey"] for c in constraints] == list(SPREAD_TOPOLOGY_KEYS) == \
            ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
        for constraint in constraints:
            assert constraint == {"topologyKey": constraint["topologyKey"], "maxSkew": 1,
                                  "whenUnsatisfiable": "ScheduleAnyway",
                                  "labelSelector": {"matchLabels": pod["metadata"]["labels"]},
                                  "matchLabelKeys": ["pod-template-hash"]}
        assert_valid(replicated.one(DEPLOYMENT, name).inputs)
    assert "topologySpreadConstraints" not in _pod(replicated, "slack")["spec"]


def test_code_servers_share_the_session_key_image_servers_do_not_get_it(replicated):
    def env(name: str) -> dict:
        return {e["name"]: e for e in _pod(replicated, name)["spec"]["containers"][0]["env"]}
    assert env("github")["MCP_SESSION_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "github-secrets",
                                                                              "key": "sessionKey"}}
    assert "MCP_SESSION_KEY" not in env("tools") and "MCP_SESSION_KEY" not in env("slack")


def test_one_replica_means_no_budget_no_spread_no_session_key(mocks):
    declared = run_program(mocks, cli_config("dev"))
    assert declared.of_type(PDB) == []
    for deployment in declared.of_type(DEPLOYMENT):
        assert "topologySpreadConstraints" not in deployment.inputs["spec"]["template"]["spec"]
    assert declared.of_type("kubernetes:core/v1:Secret") == []


def test_replicated_image_servers_alone_need_no_session_key(mocks):
    declared = run_program(mocks, cli_config("dev", {"mcp-federation:servers": [IMAGE_SERVER]}))
    assert [r.name for r in declared.of_type(PDB)] == ["tools-pdb"]
