"""scripts/preexisting.py: which fixed-name objects a stack creates, how the state is read, and the message."""
from __future__ import annotations

import importlib.util
import sys

import pytest

from components.config import parse_config
from tests.fake_tools import calls, install_fakes
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


# --- main() against fake pulumi/kubectl on PATH ----------------------------------------------------------------

# Each fake logs its argv, then prints $FAKE_DIR/<tool>.out and .err, and exits with <tool>.rc (default 0);
# <tool>.sleep makes it sleep instead (exec: the timeout kills the sleeping process itself).
FAKE_TOOL = r'''#!/bin/sh
tool="$(basename "$0")"
echo "$tool $*" >> "$FAKE_DIR/calls.log"
[ -f "$FAKE_DIR/$tool.sleep" ] && exec sleep "$(cat "$FAKE_DIR/$tool.sleep")"
[ -f "$FAKE_DIR/$tool.out" ] && cat "$FAKE_DIR/$tool.out"
[ -f "$FAKE_DIR/$tool.err" ] && cat "$FAKE_DIR/$tool.err" >&2
[ -f "$FAKE_DIR/$tool.rc" ] && exit "$(cat "$FAKE_DIR/$tool.rc")"
exit 0
'''
EMPTY_EXPORT = '{"version": 3, "deployment": null}\n'


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    """Fake pulumi and kubectl; kubectl finds the objects (as for a stack that owns them) unless told otherwise."""
    env = install_fakes(tmp_path, FAKE_TOOL, ("pulumi", "kubectl"), ("sh", "basename", "cat", "sleep"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(preexisting.UPSERT_ENV, raising=False)
    (tmp_path / "pulumi.out").write_text(EMPTY_EXPORT)
    (tmp_path / "kubectl.out").write_text("namespace/mcp\n")
    return tmp_path


def _main(capsys) -> tuple[int, str]:
    code = preexisting.main(["dev"])
    return code, capsys.readouterr().err


def test_a_failed_export_stops_with_pulumis_error_and_no_advice(fakes, capsys):
    """A failed export is not an empty state: the advice `createNamespace false` would make the next `pulumi up`
    delete a Namespace the stack owns."""
    (fakes / "pulumi.out").write_text("")
    (fakes / "pulumi.err").write_text("error: failed to decrypt the state: passphrase is wrong\n")
    (fakes / "pulumi.rc").write_text("255")
    code, err = _main(capsys)
    assert code == 2
    assert err == ("preexisting: cannot check stack dev for objects that already exist: `pulumi stack export --stack "
                   "dev` failed (exit 255), so the stack's state is unknown: error: failed to decrypt the state: "
                   "passphrase is wrong\n")
    assert [line.split()[0] for line in calls(fakes)] == ["pulumi"]  # kubectl was not asked


def test_a_long_pulumi_error_is_cut(fakes, capsys):
    (fakes / "pulumi.err").write_text("e" * 10_000)
    (fakes / "pulumi.rc").write_text("1")
    code, err = _main(capsys)
    assert code == 2 and err.endswith("e" * preexisting.STDERR_CHARS + "... (8000 more)\n")


@pytest.mark.parametrize("output, expected", [
    ("", "printed no JSON document"), ("Current stack is dev\n", "printed no JSON document"),
    ("[]", "printed JSON that is not a stack export"),
    ('{"deployment": {"resources": "none"}}', "printed JSON that is not a stack export"),
    ('{"deployment": {"resources": [{"type": "x"}]}}', "printed JSON that is not a stack export")])
def test_an_export_that_is_not_one_stops(fakes, capsys, output, expected):
    (fakes / "pulumi.out").write_text(output)
    code, err = _main(capsys)
    assert code == 2 and f"`pulumi stack export --stack dev` {expected}" in err


@pytest.mark.parametrize("tool", ["pulumi", "kubectl"])
def test_a_missing_tool_is_named(fakes, capsys, tool):
    (fakes / "bin" / tool).unlink()
    code, err = _main(capsys)
    assert code == 2 and f"`{tool}` is not on PATH (needed for `{tool} " in err


def test_a_tool_that_hangs_times_out(fakes, capsys, monkeypatch):
    monkeypatch.setattr(preexisting, "TIMEOUT_SECONDS", 1)
    (fakes / "pulumi.sleep").write_text("30")
    code, err = _main(capsys)
    assert code == 2 and "`pulumi stack export --stack dev` did not finish within 1 s" in err


def test_an_unreachable_cluster_is_not_an_absent_object(fakes, capsys):
    (fakes / "kubectl.out").write_text("")
    (fakes / "kubectl.err").write_text("Unable to connect to the server: dial tcp 127.0.0.1:6443: refused\n")
    (fakes / "kubectl.rc").write_text("1")
    code, err = _main(capsys)
    assert code == 2 and "failed (exit 1): Unable to connect to the server" in err


def test_objects_of_a_stack_without_state_are_a_clash_and_absent_ones_are_not(fakes, capsys):
    code, err = _main(capsys)
    assert code == 2 and err.startswith("preexisting: stack dev would create Namespace mcp, Gateway ")
    assert calls(fakes)[:2] == ["pulumi stack export --stack dev",
                                "kubectl --context kind-mcp-federation get namespace mcp -o name --ignore-not-found"]
    (fakes / "kubectl.out").write_text("")
    assert _main(capsys) == (0, "")
