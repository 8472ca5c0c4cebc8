"""Offline render: run the real Pulumi program under mocks with a stack's config; write its Kubernetes objects.

`python -m render --stack dev --out rendered/dev` (or `make render STACK=dev`). Modules: `stack_config` (the
config the CLI would build; shared with the tests), `harness` (the mocks runner; shared with the tests),
`manifests` (recorded resources -> clean, ordered, redacted YAML), `core` (one render), `__main__` (the CLI).
"""
