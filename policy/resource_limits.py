"""Rule resource-limits: every container and init container requests and limits both cpu and memory."""
from __future__ import annotations

from collections.abc import Mapping

from .k8s_objects import get_path, workload_containers

REQUIRED = tuple((section, resource) for section in ("requests", "limits") for resource in ("cpu", "memory"))


def _is_set(quantity: object) -> bool:
    return (isinstance(quantity, str) and quantity.strip() != "") or (
        isinstance(quantity, (int, float)) and not isinstance(quantity, bool))


def violations(resource_type: str, props: Mapping) -> list[str]:
    """The missing `resources.<requests|limits>.<cpu|memory>` of each container ([] if not a workload)."""
    problems = []
    for entry in workload_containers(resource_type, props):
        if entry.list_name == "ephemeralContainers":  # Kubernetes forbids resources on ephemeral containers
            continue
        missing = [f"{section}.{resource}" for section, resource in REQUIRED
                   if not _is_set(get_path(entry.container, "resources", section, resource))]
        if missing:
            problems.append(f"{entry.label}: resources.{', resources.'.join(missing)} "
                            f"{'is' if len(missing) == 1 else 'are'} not set")
    return problems
