"""Entry point of the policy pack (`pulumi preview --policy-pack policy`): serves the mcp-federation policies.

The CLI runs this file with the pack directory as the working directory; the repo root goes on sys.path so the
pack imports `policy.*` and the program's `components` package (the canonical tool expressions) from this checkout.
"""
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policy.pack import PACK_NAME, POLICIES  # noqa: E402

# Starts the analyzer's gRPC server and serves until the CLI stops it.
PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
