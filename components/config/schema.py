"""The JSON Schema of a `Pulumi.<stack>.yaml` file, generated from the config models, so that editors validate and
complete keys while typing (each stack file names it in a `# yaml-language-server: $schema=...` first line).

`python -m components.config.schema` (`make schema`) writes schemas/stack-config.json; a test fails when the
committed file is stale."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .errors import PROJECT
from .federation import FederationConfig
from .servers import REPO_ROOT

SCHEMA_FILE = REPO_ROOT / "schemas" / "stack-config.json"
# A value the CLI encrypted (`pulumi config set --secret`): allowed wherever a secret value goes.
SECURE = {"type": "object", "properties": {"secure": {"type": "string"}}, "required": ["secure"],
          "additionalProperties": False}


def _without_titles(node: Any) -> Any:
    """Pydantic's generated `title`s only repeat the key; drop them."""
    if isinstance(node, dict):
        return {key: _without_titles(value) for key, value in node.items()
                if not (key == "title" and isinstance(value, str))}
    return [_without_titles(item) for item in node] if isinstance(node, list) else node


def project_config_block(project_dir: Path = REPO_ROOT) -> dict[str, Any]:
    """This project's keys of Pulumi.yaml's `config:` block (description, type, default of each)."""
    import yaml  # a development dependency: only `make schema` and the tests call this

    block = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["config"]
    return {key: spec for key, spec in block.items() if ":" not in key}


def stack_file_schema() -> dict[str, Any]:
    """The schema: the project's keys as `mcp-federation:<key>` (types from the models; description and default
    from Pulumi.yaml, stated once there), other namespaces' keys (e.g. `kubernetes:`) unchecked, and the stack
    settings the CLI writes itself (secretsprovider, encryptionsalt, ...) allowed."""
    model = _without_titles(FederationConfig.model_json_schema(by_alias=True))
    declared = project_config_block()
    keys = {f"{PROJECT}:{key}": {**value, "description": declared[key]["description"],
                                 "default": declared[key]["default"]}
            for key, value in model["properties"].items()}
    secrets = keys[f"{PROJECT}:secrets"]
    secrets["additionalProperties"] = {"anyOf": [secrets["additionalProperties"], SECURE]}
    config = {"type": "object", "properties": keys, "additionalProperties": False,
              "patternProperties": {f"^(?!{PROJECT}:)[A-Za-z0-9_.-]+:": {}}}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "stack-config.json",
            "title": f"{PROJECT} stack file (Pulumi.<stack>.yaml)", "type": "object",
            "properties": {"config": config}, "$defs": model.get("$defs", {})}


def render() -> str:
    """The schema file's text."""
    return json.dumps(stack_file_schema(), indent=2, sort_keys=True) + "\n"


def stale(path: Path = SCHEMA_FILE) -> bool:
    """Whether the schema file at `path` is missing or differs from what the models generate now."""
    return not path.is_file() or path.read_text() != render()


def main(argv: list[str]) -> int:
    """Write the schema file (or the path given)."""
    path = Path(argv[0]) if argv else SCHEMA_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
