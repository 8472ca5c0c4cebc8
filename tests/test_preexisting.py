"""scripts/preexisting.py: which fixed-name objects a stack creates, how the state is read, and the message."""
from __future__ import annotations

import importlib.util
import sys

from components.config import parse_config
from tests.server_process import REPO_ROOT

_spec = importlib.util.spec_from_file_location("preexisting", REPO_ROOT / "scripts" / "preexisting.py")
preexisting = importlib.util.module_from_spec(_spec)
sys.modules["preexisting"] = preexisting  # dataclasses look their module up
_spec.loader.exec_module(preexisting)

STACK_URN = "urn:pulumi:dev::mcp-federation::"
COMPONENT_URN = STACK_URN + "mcpfederation:components:McpFederation::mcp-federation"
PROVIDER_URN = STACK_URN + "pulumi:providers:kubernetes::kubernetes"


def config(**raw):
    return parse_config({"servers": [{"name": "fetch"}], **raw})


def test_the_namespace_and_gateway_are_planned_only_when_the_stack_creates_them():
    assert [p.what for p in preexisting.planned_objects(config())] == \
        ["Namespace mcp", "Gateway agentgateway-system/mcp-gateway"]
    assert preexisting.planned_objects(config(createNamespace=False, gateway={"create": False})) == []


def test_objects_in_the_state_are_no_clash():
    export = {"deployment": {"resources": [
        {"type": "kubernetes:core/v1:Namespace", "urn": COMPONENT_URN.replace("::mcp-federation", "$kubernetes:core/v1:Namespace::mcp")}]}}
    checked = []
    message = preexisting.find_clashes("dev", preexisting.planned_objects(config(gateway={"create": False})), export,
                                       lambda planned: checked.append(planned) or True)
    assert message is None and checked == []


def test_the_import_commands_carry_parent_and_provider_from_the_state():
    export = {"deployment": {"resources": [
        {"type": "mcpfederation:components:McpFederation", "urn": COMPONENT_URN},
        {"type": "pulumi:providers:kubernetes", "urn": PROVIDER_URN, "id": "0b1c"}]}}
    message = preexisting.find_clashes("dev", preexisting.planned_objects(config()), export, lambda planned: True)
    assert ("pulumi import --stack dev kubernetes:gateway.networking.k8s.io/v1:Gateway mcp-gateway "
            f"agentgateway-system/mcp-gateway --parent mcp-federation={COMPONENT_URN} "
            f"--provider kubernetes={PROVIDER_URN}::0b1c") in message
    assert "pulumi config set --stack dev --path 'gateway.create' false" in message
    assert "no state yet" not in message


def test_without_state_the_message_says_how_to_get_the_urns():
    message = preexisting.find_clashes("dev", preexisting.planned_objects(config()), {},
                                       lambda planned: planned.kubectl[0] == "namespace")
    assert message.startswith("stack dev would create Namespace mcp, which")
    assert "Gateway" not in message.split("Choose one")[0]
    assert "the stack has no state yet" in message


def test_usage():
    assert preexisting.main([]) == 2 and preexisting.main(["--help"]) == 2
