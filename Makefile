# The front door: the same commands locally and in CI.
#   make run    infrastructure + the four services + demo data (background; `make down` stops it)
#   make test   every test against real PostgreSQL, Kafka and localstripe (started and stopped by the tests)
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
PACKAGES := shared/events shared/servicekit tools/devstack tools/platformctl services/subscription-service \
            services/scheduler-service services/order-service services/billing-service
STAMP := $(VENV)/.installed-$(shell cat requirements/constraints.txt $(addsuffix /pyproject.toml,$(PACKAGES)) 2>/dev/null | sha1sum | cut -c1-12)
KAFKA_LIBS := tools/kafka/libs/.fetched
# deploy/ validation tools (tests/deploy), in the git-ignored .tools/: kustomize from its Go module, checkov in
# its own virtualenv (requirements/checkov.txt: it conflicts with the shared constraints).
TOOLS := .tools
KUSTOMIZE_VERSION := v5.8.2
KUSTOMIZE := $(TOOLS)/kustomize-$(KUSTOMIZE_VERSION)/kustomize
CHECKOV_STAMP := $(TOOLS)/checkov/.installed-$(shell sha1sum requirements/checkov.txt 2>/dev/null | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: help bootstrap deploy-tools up down status run test test-unit test-integration lint typecheck bench audit faults lock docs clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): requirements/constraints.txt
	@test -x $(PY) || $(PY_BOOT) -m venv $(VENV)
	@test -x $(UV) || $(VENV)/bin/pip install -q uv==$(UV_VERSION)
	$(UV) pip install -q -p $(PY) -r requirements/requirements.in -c requirements/constraints.txt \
		$(addprefix -e ,$(PACKAGES))
	@rm -f $(VENV)/.installed-* && touch $@

$(KAFKA_LIBS): tools/kafka/pom.xml
	mvn -B -q -f tools/kafka/pom.xml dependency:copy-dependencies
	@touch $@

$(KUSTOMIZE):
	GOBIN=$(abspath $(dir $(KUSTOMIZE))) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	@mkdir -p $(TOOLS)/bin && ln -sf ../kustomize-$(KUSTOMIZE_VERSION)/kustomize $(TOOLS)/bin/kustomize

$(CHECKOV_STAMP): requirements/checkov.txt $(STAMP)
	@test -x $(TOOLS)/checkov/bin/python || $(PY_BOOT) -m venv $(TOOLS)/checkov
	$(UV) pip install -q -p $(TOOLS)/checkov/bin/python -r requirements/checkov.txt
	@rm -f $(TOOLS)/checkov/.installed-* && touch $@

deploy-tools: $(KUSTOMIZE) $(CHECKOV_STAMP) ## kustomize and checkov for the deploy/ checks (into .tools/)

bootstrap: $(STAMP) $(KAFKA_LIBS) deploy-tools ## install the pinned Python packages and fetch the Kafka jars (idempotent)

up: bootstrap ## start PostgreSQL, Kafka, localstripe and the SMTP sink (idempotent)
	$(VENV)/bin/devstack up

run: bootstrap ## infrastructure + migrations + the four services + demo data
	$(VENV)/bin/devstack run

status: ## what runs where
	$(VENV)/bin/devstack status

down: ## stop everything `make up`/`make run` started
	$(VENV)/bin/devstack down

test: bootstrap ## all tests (unit, integration on real components, deploy validation)
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: bootstrap ## only the tests that need no I/O
	$(PY) -m pytest -m "not integration and not e2e" $(PYTEST_ARGS)

lint: bootstrap ## ruff
	$(VENV)/bin/ruff check .

typecheck: bootstrap ## mypy on the packages
	$(VENV)/bin/mypy shared/events/src shared/servicekit/src services/*/src

bench: bootstrap ## benchmarks (prints a table, writes bench/results/)
	$(PY) -m bench $(BENCH_ARGS)

audit: bootstrap ## pip-audit of every pinned dependency (fails on a vulnerability not explained in requirements/audit-explained.txt)
	$(PY) tools/audit/audit.py

faults: bootstrap ## the full fault-injection run
	$(PY) -m pytest -m slow tests/faults $(PYTEST_ARGS)

lock: ## re-resolve requirements/constraints.txt from requirements.in
	$(UV) pip compile -q requirements/requirements.in -p 3.11 -o requirements/constraints.txt

docs: bootstrap ## regenerate docs/events.md, the catalogue and docs/api/*.openapi.json from the code
	$(PY) -m devstack.apidocs

clean: down ## remove local state (data, logs); keeps the venv and jars
	rm -rf .local
