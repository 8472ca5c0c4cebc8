"""Rule image-pinned: every container image names a tag other than `latest`, or a digest.

An image reference is `[registry[:port]/]repository[:tag][@algorithm:hex]`; the tag is what follows the last ':'
after the last '/', so a registry port (`registry:5000/app`) is not mistaken for a tag.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Optional

from .k8s_objects import workload_containers

DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")


def image_problem(image: object) -> Optional[str]:
    """Why `image` is not pinned, or None if it is (a tag other than latest, or a well-formed digest)."""
    if not isinstance(image, str) or not image.strip():
        return f"has no image (got {image!r})"
    name, at, digest = image.partition("@")
    if at:
        return None if DIGEST.match(digest) else f"image {image!r} has a malformed digest {digest!r}"
    last_segment = name.rsplit("/", 1)[-1]
    _, colon, tag = last_segment.rpartition(":")
    if not colon:
        return f"image {image!r} has no tag, so it means :latest; pin a version tag or a digest"
    if tag == "latest":
        return f"image {image!r} uses the tag latest; pin a version tag or a digest"
    if not tag:
        return f"image {image!r} has an empty tag"
    return None


def violations(resource_type: str, props: Mapping) -> list[str]:
    """One message per container whose image is not pinned ([] if not a workload)."""
    problems = []
    for entry in workload_containers(resource_type, props):
        problem = image_problem(entry.container.get("image"))
        if problem:
            problems.append(f"{entry.label}: {problem}")
    return problems
