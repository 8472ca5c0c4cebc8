"""Availability of a server with more than one replica: its PodDisruptionBudget and its pods' topology spread.

Choices:
* PDB `maxUnavailable: 1` rather than `minAvailable: 1`: a drain may take one replica at a time whatever the
  replica count (with 3 replicas `minAvailable: 1` would allow losing two at once), and it follows scaling without
  a change. `unhealthyPodEvictionPolicy: AlwaysAllow` lets a drain evict pods that are not ready anyway, so a
  crash-looping replica never blocks node maintenance. No PDB for one replica: it could only block drains.
* Topology spread by zone and by node, both `ScheduleAnyway`: the scheduler prefers spreading, but never leaves a
  replica Pending for it. A single-node kind cluster (all replicas on one node), a cluster without zone labels,
  or a node short of resources must still run every replica; the PDB protects against voluntary disruption.
  `matchLabelKeys: [pod-template-hash]` spreads each ReplicaSet revision on its own during a rolling update.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

SPREAD_TOPOLOGY_KEYS = ("topology.kubernetes.io/zone", "kubernetes.io/hostname")


def spread_constraints(labels: Mapping[str, str]) -> list[k8s.core.v1.TopologySpreadConstraintArgs]:
    """The topology spread of a replicated server's pods (selected by `labels`): zone and node, max skew 1,
    preferred (ScheduleAnyway)."""
    return [k8s.core.v1.TopologySpreadConstraintArgs(
        topology_key=key, max_skew=1, when_unsatisfiable="ScheduleAnyway",
        label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(labels)),
        match_label_keys=["pod-template-hash"]) for key in SPREAD_TOPOLOGY_KEYS]


@dataclass(frozen=True)
class DisruptionBudgetArgs:
    """The namespace and the selector labels of the pods the budget protects."""

    namespace: pulumi.Input[str]
    labels: Mapping[str, str]


class DisruptionBudget(pulumi.ComponentResource):
    """A PodDisruptionBudget: voluntary evictions (drains) take at most one of the server's pods at a time."""

    def __init__(self, name: str, args: DisruptionBudgetArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mcpfederation:components:DisruptionBudget", name, None, opts)
        labels = dict(args.labels)
        self.budget = k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=1, unhealthy_pod_eviction_policy="AlwaysAllow",
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels)),
            opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"budgetName": self.budget.metadata.name})
