# mcp-federation developer targets. `make help` lists them.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: help venv test
help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed  ## create .venv with the pinned run-time and test dependencies

.PHONY: schema
schema: venv  ## regenerate schemas/stack-config.json (the stack files' JSON Schema) from the config models
	$(PY) -m components.config.schema

CONFORMANCE_DIR := tests/conformance
$(CONFORMANCE_DIR)/node_modules/.installed: $(CONFORMANCE_DIR)/package.json $(CONFORMANCE_DIR)/package-lock.json
	cd $(CONFORMANCE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

.PHONY: conformance-deps
conformance-deps: $(CONFORMANCE_DIR)/node_modules/.installed  ## install the pinned official MCP conformance suite (npm ci; needs node and npm)

# The official MCP reference server the tests run as a real peer (tests/test_everything.py): the exact version and
# every dependency from tests/everything/package-lock.json. Needs node >= 20 (the lockfile's @hono/node-server
# requires it) and npm (Debian: apt-get install nodejs npm); without them this target, and so `make test`, fails.
EVERYTHING_DIR := tests/everything
$(EVERYTHING_DIR)/node_modules/.installed: $(EVERYTHING_DIR)/package.json $(EVERYTHING_DIR)/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || \
		{ echo "make: node and npm are required for the tests (Debian: apt-get install nodejs npm)" >&2; exit 2; }
	@node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || \
		{ echo "make: node >= 20 is required for the tests, found $$(node --version)" >&2; exit 2; }
	npm ci --prefix $(EVERYTHING_DIR) --no-audit --no-fund --ignore-scripts
	touch $@

.PHONY: everything-deps
everything-deps: $(EVERYTHING_DIR)/node_modules/.installed  ## install the pinned official MCP reference server (npm ci) for the tests

test: venv conformance-deps everything-deps  ## run the whole test suite
	$(PY) -m pytest

bench-servers: venv  ## tools/call req/s of a mock MCP server next to the tutorial-pattern baseline
	$(PY) bench/server_throughput.py

.PHONY: verify shellcheck
STACK ?= dev
verify: venv  ## prove every route of a deployed stack answers MCP through its gateway (make verify STACK=dev)
	scripts/verify-stack.sh $(STACK)

shellcheck: venv  ## lint the shell scripts
	$(VENV)/bin/shellcheck scripts/*.sh

CRDS_DIR ?= .crds
.PHONY: crds
crds:  ## download the pinned upstream CRDs (agentgateway v1.4.1, Gateway API v1.6.1) into .crds/, hash-checked
	scripts/fetch-crds.sh $(CRDS_DIR)

.PHONY: bench bench-sdk
bench-sdk: venv  ## mock MCP server vs the official SDK server: req/s, p50/p99, RSS, start-up (same run)
	$(PY) bench/sdk_vs_mock.py

bench: venv  ## run every benchmark script in bench/ (a few minutes; prints tables)
	$(PY) bench/sdk_vs_mock.py
	$(PY) bench/program_scaling.py
	$(PY) bench/verifier_scaling.py

.PHONY: render
render: venv  ## write the Kubernetes objects of a stack as YAML files, offline (make render STACK=dev -> rendered/dev/)
	$(PY) -m render --stack $(STACK) --out rendered/$(STACK)

.PHONY: review
BASE ?= origin/main
review: venv  ## what agents gain or lose per stack against a git ref, offline (make review BASE=origin/main)
	$(PY) -m review diff --base $(BASE)

.PHONY: bench-review
bench-review: venv  ## review diff of every stack next to rendering every stack once (medians, same run)
	$(PY) bench/review_diff.py

.PHONY: kind-up kind-down dev-up tools
TOOLS_DIR ?= .tools/bin
tools:  ## the pinned kind v0.32.0, kubectl v1.36.1 and Helm v4.2.3 into .tools/bin (needs go and curl); put it on PATH
	scripts/e2e-tools.sh $(TOOLS_DIR)

kind-up:  ## local kind cluster mcp-federation + Gateway API v1.6.1 CRDs + agentgateway v1.4.1 (Helm); idempotent
	scripts/kind-up.sh

kind-down:  ## delete the local kind cluster (the local Pulumi state in .pulumi-state is kept)
	scripts/kind-down.sh

dev-up: venv  ## one command: kind-up, then pulumi up of the dev stack (local file backend) and verify every route
	scripts/deploy.sh --check dev
	scripts/kind-up.sh
	scripts/deploy.sh dev

.PHONY: bench-tools bench-profile
bench-tools:  ## install wrk (Debian package), the load generator of the benchmarks (they fall back to Python without it)
	command -v wrk >/dev/null || apt-get install -y wrk

bench-profile: venv  ## cProfile of a mock server under wrk load: where its time goes
	$(PY) bench/profile_mock.py
