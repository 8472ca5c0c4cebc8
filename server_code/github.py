"""Mock GitHub MCP server: repositories and issues, deterministic synthetic data, nothing stored."""
from __future__ import annotations

import mcp_core
from mcp_core import Tool, ToolError, stable_int

NAME = "github"
VERSION = "1.0.0"

_NAME_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[A-Za-z0-9_.-]+$"}
_REPO_ARGS = {"owner": {**_NAME_SCHEMA, "description": "Account or organisation, e.g. octocat"},
              "repo": {**_NAME_SCHEMA, "description": "Repository name, e.g. hello-world"}}


def _repo_schema(required: tuple = (), **extra: dict) -> dict:
    return {"type": "object", "properties": {**_REPO_ARGS, **extra}, "required": ["owner", "repo", *required],
            "additionalProperties": False}


def _full_name(args: dict) -> str:
    return f"{args['owner']}/{args['repo']}"


def get_repo(args: dict) -> dict:
    """Repository metadata."""
    full_name = _full_name(args)
    return {"full_name": full_name, "owner": args["owner"], "name": args["repo"], "private": False,
            "default_branch": "main", "description": f"Mock repository {full_name}",
            "stars": stable_int("stars", full_name, upper=5000),
            "open_issues": stable_int("issues", full_name, upper=50),
            "url": f"https://github.com/{full_name}"}


def list_issues(args: dict) -> dict:
    """A page of synthetic issues in the requested state."""
    full_name, state, limit = _full_name(args), args.get("state", "open"), int(args.get("limit", 5))
    issues = []
    for i in range(limit):
        issue_state = state if state != "all" else ("open", "closed")[i % 2]
        number = limit - i + stable_int("base", full_name, upper=100)
        issues.append({"number": number, "state": issue_state,
                       "title": f"Mock {issue_state} issue #{number} in {full_name}",
                       "url": f"https://github.com/{full_name}/issues/{number}"})
    return {"repository": full_name, "state": state, "issues": issues}


def create_issue(args: dict) -> dict:
    """Pretend to open an issue; the number is derived from the arguments, so it is repeatable."""
    full_name = _full_name(args)
    number = 1000 + stable_int(full_name, args["title"], args.get("body", ""), upper=9000)
    return {"repository": full_name, "number": number, "state": "open", "title": args["title"],
            "body": args.get("body", ""), "labels": list(args.get("labels", [])),
            "url": f"https://github.com/{full_name}/issues/{number}"}


def delete_repo(args: dict) -> dict:
    """Pretend to delete a repository (the mock deletes nothing)."""
    if args["confirm"] != _full_name(args):
        raise ToolError(f"confirm must repeat the repository name {_full_name(args)!r}; nothing was deleted")
    return {"repository": _full_name(args), "deleted": True}


TOOLS = (
    Tool("get_repo", "Get a repository's metadata (stars, default branch, open issues).",
         _repo_schema(), get_repo, read_only=True),
    Tool("list_issues", "List issues of a repository.",
         _repo_schema(state={"type": "string", "enum": ["open", "closed", "all"], "default": "open"},
                      limit={"type": "integer", "minimum": 1, "maximum": 100, "default": 5}),
         list_issues, read_only=True),
    Tool("create_issue", "Open a new issue in a repository.",
         _repo_schema(("title",), title={"type": "string", "minLength": 1, "maxLength": 256},
                      body={"type": "string", "maxLength": 65536},
                      labels={"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 20}),
         create_issue),
    Tool("delete_repo", "DANGEROUS: permanently delete a repository and all its issues. "
                        "`confirm` must repeat `owner/repo`.",
         _repo_schema(("confirm",), confirm={"type": "string", "description": "owner/repo again"}),
         delete_repo, dangerous=True),
)

PROBE = {"tool": "get_repo", "arguments": {"owner": "octocat", "repo": "hello-world"}}

if __name__ == "__main__":
    raise SystemExit(mcp_core.run(NAME, VERSION, TOOLS))
