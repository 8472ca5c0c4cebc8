"""Stack names are Pulumi stack names (letters, digits, `-`, `_`, `.`): they come from file names and reach the
review's Markdown and the CLI's messages, so a file whose name holds a line break or a slash is an error naming
the file, and a `--stack` argument outside that set never becomes a file path."""
from __future__ import annotations

import pytest

from render.stack_config import StackConfigError, list_stacks, stack_config

PROJECT = "name: demo\nruntime: python\n"
STACK = "config:\n  demo:replicas: 1\n"


@pytest.fixture
def project(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text(PROJECT)
    (tmp_path / "Pulumi.prod.yaml").write_text(STACK)
    return tmp_path


@pytest.mark.parametrize("name", ["prod_2", "a.b-c", "A" * 100])
def test_pulumi_stack_names_are_listed(project, name):
    (project / f"Pulumi.{name}.yaml").write_text(STACK)
    assert list_stacks(project) == sorted(["prod", name])
    assert stack_config(name, project).stack == name


@pytest.mark.parametrize("name", ["x\n\n**Stack `prod`: no change** @octocat <!--", "a b", "prod\n", "é", "a:b",
                                  "A" * 101, ""])
def test_a_stack_file_whose_name_is_no_pulumi_stack_name_is_an_error_naming_it(project, name):
    (project / f"Pulumi.{name}.yaml").write_text(STACK)
    with pytest.raises(StackConfigError) as raised:
        list_stacks(project)
    message = str(raised.value)
    assert repr(f"Pulumi.{name}.yaml") in message and str(project) in message
    assert "letters, digits, '-', '_' and '.'" in message and "\n" not in message


@pytest.mark.parametrize("name", ["../prod", "prod\n", "a/b", "A" * 101, ""])
def test_a_requested_stack_outside_the_pulumi_set_is_refused_before_any_file_is_read(project, name):
    (project / "sub").mkdir()
    (project / "sub" / "Pulumi.b.yaml").write_text(STACK)
    with pytest.raises(StackConfigError, match="is not a Pulumi stack name") as raised:
        stack_config(name, project)
    assert repr(name) in str(raised.value)
