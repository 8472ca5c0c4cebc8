"""The offline renderer (`python -m render`): every stack renders to schema-valid, stable, secret-free YAML files
that are exactly the objects the program declares; config is built as the CLI builds it; errors are clear."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from render.core import render_stack, run_stack
from render.harness import REPO_ROOT, RecordingMocks, restart, run_program
from render.manifests import REDACTED, REDACTED_B64
from render.stack_config import StackConfigError, list_stacks, placeholder, stack_config
from render.values import normalize_numbers, unwrap_secrets
from tests.k8s_schema import validate_object
from tests.pulumi_mocks import cli_config

STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in REPO_ROOT.glob("Pulumi.*.yaml"))
CLI_TIMEOUT = 180


def read_objects(out_dir: Path) -> dict[str, dict]:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(out_dir.glob("*.yaml"))}


def header_urn(path: Path) -> str:
    (line,) = [line for line in path.read_text().splitlines() if line.startswith("# Pulumi resource: ")]
    return line.split(": ", 1)[1]


def quiet(_message: str) -> None:
    pass


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "render", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=CLI_TIMEOUT, env=env)


# --- every real stack ----------------------------------------------------------------------------------------

def test_the_stacks_are_discovered():
    assert "dev" in STACKS
    assert list_stacks(REPO_ROOT) == STACKS


@pytest.fixture(scope="module", params=STACKS)
def rendered(request, tmp_path_factory):
    stack = request.param
    out = tmp_path_factory.mktemp(f"render-{stack}")
    result = render_stack(stack, out, log=quiet)
    return stack, out, result


def test_every_file_validates_against_the_real_schemas(rendered):
    _, out, _ = rendered
    objects = read_objects(out)
    assert objects
    problems = {name: validate_object(obj) for name, obj in objects.items()}
    assert {name: errors for name, errors in problems.items() if errors} == {}


def test_the_files_are_exactly_the_declared_objects(rendered):
    stack, out, result = rendered
    declared, mocks, _ = run_stack(stack_config(stack), REPO_ROOT / "__main__.py", quiet)
    by_urn = {declared.urn(r): r for r in declared.kubernetes_objects()}
    files = sorted(out.glob("*.yaml"))
    assert sorted(header_urn(path) for path in files) == sorted(by_urn)  # one file per object, nothing else
    for path in files:
        resource = by_urn[header_urn(path)]
        obj = yaml.safe_load(path.read_text())
        expected = normalize_numbers(unwrap_secrets(dict(resource.inputs)))  # as the API server receives it
        if obj["kind"] == "Secret":  # the same keys; the values are redacted
            for key in ("data", "stringData"):
                if key in expected:
                    assert sorted(obj[key]) == sorted(expected[key]), path.name
                    expected[key] = obj[key]
        if (resource.typ, resource.name) in mocks.auto_named:
            expected["metadata"] = {**expected.get("metadata", {}), "name": obj["metadata"]["name"]}
        assert obj == expected, path.name


def test_file_names_follow_apply_order_kind_namespace_and_name(rendered):
    _, out, _ = rendered
    objects = read_objects(out)
    names = list(objects)
    assert names == sorted(names)
    assert list(objects.values())[0]["kind"] == "Namespace" or "Namespace" not in {o["kind"] for o in objects.values()}
    for index, (name, obj) in enumerate(objects.items()):
        metadata = obj["metadata"]
        parts = [f"{index:02d}", obj["kind"].lower(), metadata.get("namespace"), metadata["name"]]
        assert name == "-".join(p for p in parts if p) + ".yaml"
    kinds = [obj["kind"] for obj in objects.values()]
    for before, after in (("ConfigMap", "Deployment"), ("AgentgatewayBackend", "HTTPRoute")):
        if before in kinds and after in kinds:
            assert max(i for i, k in enumerate(kinds) if k == before) < kinds.index(after)


@pytest.mark.parametrize("stack", STACKS)
def test_a_second_render_is_byte_identical(stack, tmp_path):
    render_stack(stack, tmp_path / "first", log=quiet)
    render_stack(stack, tmp_path / "second", log=quiet)
    first = {p.name: p.read_bytes() for p in (tmp_path / "first").glob("*.yaml")}
    second = {p.name: p.read_bytes() for p in (tmp_path / "second").glob("*.yaml")}
    assert first and second == first


def test_no_secure_value_of_the_stack_file_is_written_and_secrets_are_redacted(rendered):
    stack, out, result = rendered
    stack_text = (REPO_ROOT / f"Pulumi.{stack}.yaml").read_text()
    ciphertexts = [line.split("secure:", 1)[1].strip() for line in stack_text.splitlines() if "secure:" in line]
    written = "\n".join(p.read_text() for p in out.glob("*.yaml"))
    assert not [c for c in ciphertexts if c and c in written]
    for name, obj in read_objects(out).items():
        if obj["kind"] == "Secret":
            assert set((obj.get("data") or {}).values()) <= {REDACTED_B64}, name
            assert set((obj.get("stringData") or {}).values()) <= {REDACTED}, name
            assert out / name in result.redacted


def test_written_files_have_no_pulumi_internals(rendered):
    _, out, _ = rendered
    for path in out.glob("*.yaml"):
        text = path.read_text()
        body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
        # the SDK's markers: secret value, unknown value
        for internal in ("__inputs", "pulumi.com/autonamed", "4dabf18193072939515e22adb298388d",
                         "1b47061264138c4ac30d75fd1eb44270", "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "_id\n"):
            assert internal not in body, (path.name, internal)


def test_secret_markers_are_unwrapped_and_their_paths_reported():
    marker = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
    recorded = {"metadata": {**marker, "value": {"name": "x", "labels": {"a": "b"}}},
                "stringData": {**marker, "value": {"token": {**marker, "value": "t"}}},
                "spec": {"ports": [{"port": 8080.0}, {**marker, "value": {"port": 9090.0}}]}}
    found: list[str] = []
    assert normalize_numbers(unwrap_secrets(recorded, found)) == {
        "metadata": {"name": "x", "labels": {"a": "b"}}, "stringData": {"token": "t"},
        "spec": {"ports": [{"port": 8080}, {"port": 9090}]}}
    assert found == [".metadata", ".stringData", ".stringData.token", ".spec.ports[1]"]
    assert unwrap_secrets({**marker, "value": 1}) == 1


# --- the CLI -------------------------------------------------------------------------------------------------

def test_cli_renders_dev_with_progress_on_stderr(tmp_path):
    done = run_cli("--stack", "dev", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    files = sorted((tmp_path / "out").glob("*.yaml"))
    assert f"wrote {len(files)} objects to {tmp_path / 'out'}" in done.stderr
    assert "under Pulumi mocks" in done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


def test_cli_unknown_stack_exits_2_and_lists_the_existing_ones(tmp_path):
    done = run_cli("--stack", "nosuch", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "unknown stack 'nosuch'" in done.stderr
    assert f"(existing stacks: {', '.join(STACKS)})" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_unwritable_output_exits_2_naming_it(tmp_path):
    (tmp_path / "a-file").write_text("")
    done = run_cli("--stack", "dev", "--out", str(tmp_path / "a-file" / "out"))
    assert done.returncode == 2
    assert f"cannot write the output directory {tmp_path / 'a-file' / 'out'}" in done.stderr


def test_cli_without_arguments_is_a_usage_error():
    done = run_cli()
    assert done.returncode == 2 and "--stack" in done.stderr


# --- small projects: config errors, unreadable files, secrets, auto-naming -----------------------------------

def make_project(tmp_path: Path, stack_text: str, program: str | None = None, stack: str = "test") -> Path:
    """A project dir: the real Pulumi.yaml, a stack file, and the real __main__.py (or `program`)."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text((REPO_ROOT / "Pulumi.yaml").read_text())
    (project / f"Pulumi.{stack}.yaml").write_text(textwrap.dedent(stack_text))
    if program is None:
        (project / "__main__.py").symlink_to(REPO_ROOT / "__main__.py")
    else:
        (project / "__main__.py").write_text(textwrap.dedent(program))
    return project


def test_cli_config_error_exits_2_with_the_config_error_text(tmp_path):
    project = make_project(tmp_path, """\
        config:
          mcp-federation:servers:
            - name: Git_Hub
        """)
    done = run_cli("--stack", "test", "--out", str(tmp_path / "out"), "--project-dir", str(project))
    assert done.returncode == 2, done.stderr
    assert "invalid mcp-federation stack configuration" in done.stderr
    assert "servers[0].name: 'Git_Hub' is not" in done.stderr
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_project_whose_program_is_elsewhere(tmp_path):
    """`main: app/` makes the Pulumi CLI run app/__main__.py: render would render another program than the CLI's."""
    project = make_project(tmp_path, "config: {}\n")
    (project / "Pulumi.yaml").write_text("main: app/\n" + (project / "Pulumi.yaml").read_text())
    done = run_cli("--stack", "test", "--out", str(tmp_path / "out"), "--project-dir", str(project))
    assert done.returncode == 2, done.stderr
    assert "sets 'main: 'app/'': render and the review run the project directory's __main__.py only" in done.stderr
    assert not (tmp_path / "out").exists()


def test_cli_unreadable_stack_file_exits_2_naming_it(tmp_path):
    project = make_project(tmp_path, "config: [unclosed\n")
    done = run_cli("--stack", "test", "--out", str(tmp_path / "out"), "--project-dir", str(project))
    assert done.returncode == 2
    assert "Pulumi.test.yaml is not valid YAML" in done.stderr


def test_missing_project_file_is_named(tmp_path):
    with pytest.raises(StackConfigError, match=r"cannot read the project file .*Pulumi.yaml"):
        stack_config("dev", tmp_path)


SECRET_PROGRAM = """\
    import pulumi
    import pulumi_kubernetes as k8s
    from components.config import ConfigError

    config = pulumi.Config()
    secrets = config.get_object("secrets") or {}
    missing = sorted({"apiKey", "dbPassword"} - set(secrets))
    if missing:
        raise ConfigError([f"secrets.{name}: referenced but not set" for name in missing], missing_secrets=missing)
    labels = {"app": "demo"}
    secret = k8s.core.v1.Secret("creds", metadata={"namespace": "demo", "labels": labels},
                                string_data={"apiKey": secrets["apiKey"]},
                                data={"db": secrets["dbPassword"]})
    code = k8s.core.v1.ConfigMap("code", metadata={"namespace": "demo"}, data={"a.txt": "line 1\\nline 2\\n"})
    deployment = k8s.apps.v1.Deployment("demo", metadata={
        "name": "demo", "namespace": "demo", "annotations": {"demo/token": pulumi.Output.secret(secrets["apiKey"])}},
        spec={
        "replicas": 2, "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
            "name": "demo", "image": "python:3.11-slim",
            "env": [{"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": secret.metadata["name"],
                                                                        "key": "apiKey"}}}],
            "volumeMounts": [{"name": "code", "mountPath": "/app"}]}],
            "volumes": [{"name": "code", "configMap": {"name": code.metadata["name"]}}]}}})
    """
REAL_SECRET = "hunter2-this-is-the-real-secret"
CIPHERTEXT = "v1:AAAAbm90LXJlYWwtY2lwaGVydGV4dA=="


@pytest.fixture
def secret_project(tmp_path):
    return make_project(tmp_path, f"""\
        config:
          mcp-federation:secrets:
            apiKey:
              secure: {CIPHERTEXT}
        """, SECRET_PROGRAM)


def test_secure_values_and_missing_secrets_become_placeholders_and_secret_data_is_redacted(secret_project, tmp_path):
    env = {**os.environ, "PULUMI_CONFIG": json.dumps({"mcp-federation:secrets": json.dumps(
        {"apiKey": REAL_SECRET, "dbPassword": REAL_SECRET})}), "PULUMI_CONFIG_SECRET_KEYS": '["mcp-federation:secrets"]'}
    out = tmp_path / "out"
    done = run_cli("--stack", "test", "--out", str(out), "--project-dir", str(secret_project), env=env)
    assert done.returncode == 0, done.stderr
    written = "".join(p.read_text() for p in out.glob("*.yaml"))
    for never in (REAL_SECRET, CIPHERTEXT, base64.b64encode(REAL_SECRET.encode()).decode()):
        assert never not in written
        assert never not in done.stderr + done.stdout
    objects = read_objects(out)
    (secret,) = [o for o in objects.values() if o["kind"] == "Secret"]
    assert secret["stringData"] == {"apiKey": REDACTED} and secret["data"] == {"db": REDACTED_B64}
    assert "ignoring $PULUMI_CONFIG" in done.stderr
    assert "secret(s) referenced but not set in the stack: dbPassword; using placeholders" in done.stderr
    warning = next(line for line in done.stderr.splitlines() if "secret config replaced by placeholders" in line)
    assert "mcp-federation:secrets.apiKey (secure: value in Pulumi.test.yaml)" in warning
    assert "mcp-federation:secrets.dbPassword (referenced but not set in the stack)" in warning
    assert "secret values redacted in: 00-secret-demo-creds-" in done.stderr
    (deployment_file,) = [n for n, o in objects.items() if o["kind"] == "Deployment"]
    # Pulumi marks all of `metadata` secret; the value from secret config there is the placeholder
    assert objects[deployment_file]["metadata"] == {
        "name": "demo", "namespace": "demo",
        "annotations": {"demo/token": placeholder("mcp-federation:secrets.apiKey")}}
    assert "NOTE: Pulumi marks metadata secret: values from secret config there are render placeholders" in \
        (out / deployment_file).read_text()
    for name, obj in objects.items():
        assert validate_object(obj) == [], name


def test_auto_named_objects_get_a_stable_hash_name_and_a_note(secret_project, tmp_path):
    first = render_stack("test", tmp_path / "a", secret_project, log=quiet)
    render_stack("test", tmp_path / "b", secret_project, log=quiet)
    a, b = read_objects(tmp_path / "a"), read_objects(tmp_path / "b")
    assert a == b
    (config_map_file,) = [n for n, o in a.items() if o["kind"] == "ConfigMap"]
    config_map = a[config_map_file]
    assert config_map["metadata"]["name"].startswith("code-") and len(config_map["metadata"]["name"]) == 13
    assert "NOTE: metadata.name is auto-named by Pulumi" in (tmp_path / "a" / config_map_file).read_text()
    assert tmp_path / "a" / config_map_file in first.auto_named
    (deployment,) = [o for o in a.values() if o["kind"] == "Deployment"]
    (secret,) = [o for o in a.values() if o["kind"] == "Secret"]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["volumes"][0]["configMap"]["name"] == config_map["metadata"]["name"]
    assert pod["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]["name"] == secret["metadata"]["name"]
    assert config_map["data"] == {"a.txt": "line 1\nline 2\n"}
    assert "a.txt: |" in (tmp_path / "a" / config_map_file).read_text()  # literal block: readable diffs


def test_a_rerender_replaces_its_own_files_and_keeps_foreign_ones(secret_project, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "99-stale-from-an-older-render.yaml").write_text("# Rendered by `python -m render --stack old`\n{}\n")
    (out / "kustomization.yaml").write_text("resources: []\n")
    result = render_stack("test", out, secret_project, log=quiet)
    assert sorted(out.glob("*.yaml")) == sorted([*result.files, out / "kustomization.yaml"])


# --- the harness -----------------------------------------------------------------------------------------------

def test_restart_installs_a_fresh_event_loop_after_asyncio_run_left_none():
    async def nothing() -> None:
        pass

    asyncio.run(nothing())  # unsets the thread's current event loop when it returns
    with pytest.raises(RuntimeError, match="no current event loop"):
        asyncio.get_event_loop_policy().get_event_loop()
    first = restart(RecordingMocks())
    declared = run_program(first, cli_config("dev"))
    assert declared.kubernetes_objects()
    loop = asyncio.get_event_loop_policy().get_event_loop()
    restart(first)
    assert loop.is_closed()  # the previous run's loop is closed, not leaked
    assert asyncio.get_event_loop_policy().get_event_loop() is not loop
    assert sorted(r.name for r in run_program(first, cli_config("dev")).resources) == \
        sorted(r.name for r in declared.resources)


# --- the config the CLI would build (shared with tests/pulumi_mocks.cli_config) ---------------------------------

def test_cli_config_is_the_renderers_config():
    assert cli_config("dev") == stack_config("dev").values
    assert cli_config("dev", {"mcp-federation:namespace": "x"})["mcp-federation:namespace"] == "x"


@pytest.mark.parametrize("configured", ["/etc", "..", "stacks/../..", "../elsewhere"])
def test_stack_config_dir_outside_the_project_is_refused(tmp_path, configured):
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(f"name: demo\nstackConfigDir: {configured}\n")
    (tmp_path / "Pulumi.prod.yaml").write_text("config: {}\n")
    with pytest.raises(StackConfigError, match="stackConfigDir .* leads outside the project directory"):
        list_stacks(project)


def test_config_follows_the_cli_rules(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text(textwrap.dedent("""\
        name: demo
        stackConfigDir: stacks
        config:
          pulumi:disable-default-providers:
            value: [kubernetes]
          replicas: {type: integer, default: 1}
          region: eu
          flags: {type: object, default: {a: true}}
          overridden: {type: string, default: project}
        """))
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.prod.yaml").write_text(textwrap.dedent("""\
        config:
          demo:overridden: stack
          demo:config:legacy: 3
          kubernetes:context: prod
          demo:token:
            secure: v1:abc
          demo:nested:
            plain: 1
            list: [{secure: v1:def}]
        """))
    config = stack_config("prod", tmp_path)
    assert config.values == {
        "pulumi:disable-default-providers": '["kubernetes"]', "demo:replicas": "1", "demo:region": "eu",
        "demo:flags": '{"a": true}', "demo:overridden": "stack", "demo:legacy": "3", "kubernetes:context": "prod",
        "demo:token": placeholder("demo:token"),
        "demo:nested": json.dumps({"plain": 1, "list": [placeholder("demo:nested.list[0]")]})}
    assert config.secret_keys == ("demo:nested", "demo:token")
    assert set(config.placeholders) == {"demo:token", "demo:nested.list[0]"}
    assert list_stacks(tmp_path) == ["prod"]


def test_an_unnamespaced_stack_key_is_an_error_naming_it(tmp_path):
    project = make_project(tmp_path, "config:\n  namespace: mcp\n")
    with pytest.raises(StackConfigError, match=r"Pulumi.test.yaml: config key 'namespace' must be '<namespace>:<name>'"):
        stack_config("test", project)


def test_placeholders_are_long_and_obviously_fake():
    value = placeholder("mcp-federation:secrets.sessionKey")
    assert value == "render-placeholder-mcp-federation-secrets-sessionKey" and len(value) >= 16


def test_make_n_render_shows_the_command():
    done = subprocess.run(["make", "-n", "render", "STACK=staging"], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert ".venv/bin/python -m render --stack staging --out rendered/staging" in done.stdout


def test_the_real_program_with_a_secure_session_key_renders_a_redacted_secret(tmp_path):
    """Design contract: replicas > 1 needs secrets.sessionKey, which reaches the pods through a Secret."""
    project = make_project(tmp_path, f"""\
        config:
          mcp-federation:secrets:
            sessionKey:
              secure: {CIPHERTEXT}
          mcp-federation:servers:
            - name: github
              replicas: 3
        """)
    result = render_stack("test", tmp_path / "out", project, log=quiet)
    assert result.placeholders == {"mcp-federation:secrets.sessionKey": "secure: value in Pulumi.test.yaml"}
    objects = read_objects(tmp_path / "out")
    secrets = [o for o in objects.values() if o["kind"] == "Secret"]
    assert secrets and any("sessionKey" in {**s.get("data", {}), **s.get("stringData", {})} for s in secrets)
    written = "".join(p.read_text() for p in (tmp_path / "out").glob("*.yaml"))
    assert CIPHERTEXT not in written and placeholder("mcp-federation:secrets.sessionKey") not in written
    for name, obj in objects.items():
        assert validate_object(obj) == [], name
