# bankflow — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# uv on the PATH, else a copy `make setup` installs into .local/tools (a venv of its own, so
# neither a system Python's PEP 668 guard nor a --user directory off the PATH gets in the way).
UV ?= $(shell command -v uv 2>/dev/null || echo .local/tools/bin/uv)
TESTENV := $(UV) run python -m scripts.testenv
PYTEST := $(UV) run pytest

.PHONY: help setup test-tools run test test-lib test-producer test-consumer test-e2e test-drill test-deploy pictures lint fmt bench drill

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

setup: ## install uv if missing and sync the locked environment
	@$(UV) --version >/dev/null 2>&1 || (python3 -m venv .local/tools && .local/tools/bin/pip install --quiet uv)
	@$(UV) sync --locked --quiet --compile-bytecode
	@command -v uv >/dev/null 2>&1 || echo '[setup] uv is in .local/tools/bin, not on your PATH; for `uv run …` lines: export PATH="$$PWD/.local/tools/bin:$$PATH"'

test-tools: ## Debian packages the tests use (Prometheus and promtool), installed when missing
	@bash scripts/ensure-test-tools.sh

run: setup ## the whole stack on embedded defaults (or the variables you set), until Ctrl-C
	@$(UV) run python -m scripts.stack

test: setup test-tools test-lib test-producer test-consumer test-e2e test-drill test-deploy ## the whole suite

test-lib: ## the shared lib's tests
	$(PYTEST) libs/bankflow/tests

test-producer: ## the producer's tests (real PostgreSQL/RabbitMQ/Redis when they answer)
	$(TESTENV) producer -- $(PYTEST) services/producer/tests

test-consumer: ## the consumer's tests (real PostgreSQL/RabbitMQ/Redis when they answer)
	$(TESTENV) consumer -- $(PYTEST) services/consumer/tests

test-e2e: ## black-box, schema (schemathesis), browser, fault and observability tests against the stack started as local processes
	$(TESTENV) e2e -- $(PYTEST) tests/e2e tests/schema tests/browser tests/pipeline tests/observability

test-drill: ## the short failover drill (2 min, 2 faults) on private servers of its own, and its proxy
	$(PYTEST) tests/drill

test-deploy: ## images, charts, workflows, docs offline, and the rendered charts run here (tests/deploy)
	$(PYTEST) tests/deploy

pictures: setup test-tools ## redraw docs/img (dashboard and alerts) from a real run of the observability tests
	BANKFLOW_UPDATE_PICTURES=1 $(TESTENV) e2e -- $(PYTEST) tests/observability

lint: setup ## ruff format --check, ruff check, the import contracts (lint-imports), mypy
	$(UV) run ruff format --check .
	$(UV) run ruff check .
	$(UV) run lint-imports
	$(UV) run mypy --config-file services/producer/pyproject.toml libs/bankflow/bankflow services/producer/producer
	$(UV) run mypy --config-file services/consumer/pyproject.toml libs/bankflow/bankflow services/consumer/consumer

fmt: setup ## ruff format and autofix
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

bench: setup ## end-to-end throughput and latency against the naive design and the performance targets (README)
	BANKFLOW_TEST_PREFIX=bankflow_bench $(TESTENV) e2e -- $(UV) run python -m scripts.bench $(BENCH_ARGS)

drill: setup ## failover drill: 10 min of load, a fault a minute, on private servers (DRILL_ARGS)
	$(UV) run python -m scripts.drill $(DRILL_ARGS)

# --- Kubernetes (docs/kubernetes.md) -------------------------------------------------------
KIND_CLUSTER ?= bankflow
export KIND_CLUSTER

.PHONY: kind-up kind-down dev e2e-kind chart-docs

kind-up: ## create the local kind cluster (k8s/kind-config.yaml)
	bash scripts/e2e-kind.sh cluster

kind-down: ## delete the local kind cluster
	bash scripts/e2e-kind.sh down

dev: ## build, deploy and port-forward on kind, rebuilding on change (skaffold dev)
	skaffold dev --kube-context kind-$(KIND_CLUSTER) $(SKAFFOLD_ARGS)

e2e-kind: setup ## what the e2e-kind workflow runs: cluster, images, infra then charts, helm test, tests/e2e
	bash scripts/e2e-kind.sh all

chart-docs: setup ## regenerate the charts' README.md and values.schema.json descriptions from values.yaml
	$(UV) run python -m scripts.chart_docs
