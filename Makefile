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
            services/scheduler-service services/order-service services/billing-service services/web
STAMP := $(VENV)/.installed-$(shell cat requirements/constraints.txt $(addsuffix /pyproject.toml,$(PACKAGES)) 2>/dev/null | sha1sum | cut -c1-12)
KAFKA_LIBS := tools/kafka/libs/.fetched
# deploy/ validation tools (tests/deploy), in the git-ignored .tools/: kustomize from its Go module, checkov in
# its own virtualenv (requirements/checkov.txt: it conflicts with the shared constraints).
TOOLS := .tools
KUSTOMIZE_VERSION := v5.8.2
KUSTOMIZE := $(TOOLS)/kustomize-$(KUSTOMIZE_VERSION)/kustomize
CHECKOV_STAMP := $(TOOLS)/checkov/.installed-$(shell sha1sum requirements/checkov.txt 2>/dev/null | cut -c1-12)
PYTEST_ARGS ?=
# The web app's front-end files (services/web/package.json pins them; `npm ci` from the npm registry into the
# git-ignored node_modules/, the stylesheet copied into the app's git-ignored static/vendor/ and served by the app)
# and its compiled translations (only the .po/.pot are committed).
WEB := services/web
WEB_VENDOR := $(WEB)/src/web_app/static/vendor
WEB_ASSETS := $(WEB_VENDOR)/.installed-$(shell cat $(WEB)/package-lock.json 2>/dev/null | sha1sum | cut -c1-12)
WEB_I18N := $(WEB)/src/web_app/translations
WEB_MO := $(patsubst %.po,%.mo,$(wildcard $(WEB_I18N)/*/LC_MESSAGES/messages.po))
# The official AsyncAPI parser that validates docs/asyncapi.json (tests/contracts/test_asyncapi.py): npm, pinned in
# tools/asyncapi/package.json, into its git-ignored node_modules/.
ASYNCAPI := tools/asyncapi
ASYNCAPI_PARSER := $(ASYNCAPI)/node_modules/.installed-$(shell cat $(ASYNCAPI)/package-lock.json 2>/dev/null | sha1sum | cut -c1-12)
# Prometheus's promtool (`promtool test rules` runs the alert rules' unit tests, tests/deploy/test_alerts.py), built
# from its Go module into .tools/ like kustomize.
PROMETHEUS_VERSION := v0.316.0
PROMTOOL := $(TOOLS)/promtool-$(PROMETHEUS_VERSION)/promtool
# make run's mailbox: Mailpit, built from its Go module into .tools/ like kustomize.
MAILPIT_VERSION := v1.33.1
MAILPIT := $(TOOLS)/mailpit-$(MAILPIT_VERSION)/mailpit
# make run's trace backend: Jaeger, built into .tools/ from the Go module that tools/jaeger/go.mod pins (a `tool`).
JAEGER_VERSION := $(shell sed -n 's|^\tgithub.com/jaegertracing/jaeger \(v[^ ]*\).*|\1|p' tools/jaeger/go.mod 2>/dev/null | head -1)
JAEGER := $(TOOLS)/jaeger-$(JAEGER_VERSION)/jaeger

.PHONY: help bootstrap deploy-tools web-assets translations mailpit jaeger up down status run test test-unit test-integration lint typecheck bench audit faults lock docs clean

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

$(WEB_ASSETS): $(WEB)/package.json $(WEB)/package-lock.json
	npm ci --prefix $(WEB) --no-audit --no-fund --ignore-scripts --loglevel=error
	@rm -rf $(WEB_VENDOR) && mkdir -p $(WEB_VENDOR)
	cp $(WEB)/node_modules/@picocss/pico/css/pico.classless.min.css $(WEB_VENDOR)/
	@touch $@

$(ASYNCAPI_PARSER): $(ASYNCAPI)/package.json $(ASYNCAPI)/package-lock.json
	npm ci --prefix $(ASYNCAPI) --no-audit --no-fund --ignore-scripts --loglevel=error
	@rm -f $(ASYNCAPI)/node_modules/.installed-* && touch $@

$(PROMTOOL):
	GOBIN=$(abspath $(dir $(PROMTOOL))) go install github.com/prometheus/prometheus/cmd/promtool@$(PROMETHEUS_VERSION)
	@mkdir -p $(TOOLS)/bin && ln -sf ../promtool-$(PROMETHEUS_VERSION)/promtool $(TOOLS)/bin/promtool

$(WEB_I18N)/%/LC_MESSAGES/messages.mo: $(WEB_I18N)/%/LC_MESSAGES/messages.po $(STAMP)
	$(VENV)/bin/pybabel compile -d $(WEB_I18N) -l $*

web-assets: $(WEB_ASSETS) $(WEB_MO) ## the web app's stylesheet and axe-core (npm, pinned) and compiled translations

translations: $(STAMP) ## extract the web app's messages into messages.pot and update the .po files (then translate them)
	cd $(WEB) && ../../$(VENV)/bin/pybabel --quiet extract -F babel.cfg -k _l -k lazy_gettext -k _lp:1c,2 --no-location \
		--sort-output --project web-app -o src/web_app/translations/messages.pot .
	$(VENV)/bin/pybabel --quiet update -i $(WEB_I18N)/messages.pot -d $(WEB_I18N) --width 120 --no-fuzzy-matching \
		--ignore-obsolete

$(MAILPIT):
	GOBIN=$(abspath $(dir $(MAILPIT))) go install github.com/axllent/mailpit@$(MAILPIT_VERSION)
	@mkdir -p $(TOOLS)/bin && ln -sf ../mailpit-$(MAILPIT_VERSION)/mailpit $(TOOLS)/bin/mailpit

mailpit: $(MAILPIT) ## the browsable mailbox of make run (into .tools/)

$(JAEGER): tools/jaeger/go.mod tools/jaeger/go.sum
	cd tools/jaeger && go build -o $(abspath $(JAEGER)) github.com/jaegertracing/jaeger/cmd/jaeger
	@mkdir -p $(TOOLS)/bin && ln -sf ../jaeger-$(JAEGER_VERSION)/jaeger $(TOOLS)/bin/jaeger

jaeger: $(JAEGER) ## make run's trace backend, Jaeger (into .tools/)

deploy-tools: $(KUSTOMIZE) $(CHECKOV_STAMP) $(PROMTOOL) ## kustomize, checkov and promtool for the deploy/ checks (into .tools/)

bootstrap: $(STAMP) $(KAFKA_LIBS) web-assets $(ASYNCAPI_PARSER) deploy-tools ## install the pinned Python packages, fetch the Kafka jars, the web app's files and the AsyncAPI parser (idempotent)

up: bootstrap $(MAILPIT) $(JAEGER) ## start PostgreSQL, Kafka, localstripe, the mailbox (Mailpit) and Jaeger (idempotent)
	MAILPIT=$(abspath $(MAILPIT)) JAEGER=$(abspath $(JAEGER)) $(VENV)/bin/devstack up

run: bootstrap $(MAILPIT) $(JAEGER) ## infrastructure + migrations + the four services + the web app + demo data; Mailpit as mailbox, Jaeger for traces
	MAILPIT=$(abspath $(MAILPIT)) JAEGER=$(abspath $(JAEGER)) $(VENV)/bin/devstack run

status: ## what runs where
	MAILPIT=$(abspath $(MAILPIT)) JAEGER=$(abspath $(JAEGER)) $(VENV)/bin/devstack status

down: ## stop everything `make up`/`make run` started
	MAILPIT=$(abspath $(MAILPIT)) $(VENV)/bin/devstack down

test: bootstrap $(MAILPIT) lint typecheck ## lint and typecheck, then all tests (unit, integration on real components, deploy validation)
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: bootstrap ## only the tests that need no I/O
	$(PY) -m pytest -m "not integration and not e2e" $(PYTEST_ARGS)

lint: bootstrap ## ruff
	$(VENV)/bin/ruff check .

# Its own cache: mypy 2.4's incremental cache, shared with runs on a subset of the packages (mypy services/x/src),
# reports attributes missing from modules it first met as imports.
typecheck: bootstrap ## mypy on every package the project ships (shared, services, tools)
	$(VENV)/bin/mypy --cache-dir .mypy_cache/typecheck $(addsuffix /src,$(PACKAGES))

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
