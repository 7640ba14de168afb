# EJ Corps: `make run` serves the API with demo data; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv/bin
export EJ_DATABASE_URL ?= postgresql+asyncpg://ejcorps_app:ejcorps_app@127.0.0.1:5432/ejcorps
export EJ_MIGRATION_DATABASE_URL ?= postgresql+asyncpg://ejcorps:ejcorps@127.0.0.1:5432/ejcorps
export EJ_TEST_DATABASE_URL ?= postgresql+asyncpg://ejcorps:ejcorps@127.0.0.1:5432/ejcorps_test
export EJ_TEST_APP_DATABASE_URL ?= postgresql+asyncpg://ejcorps_app:ejcorps_app@127.0.0.1:5432/ejcorps_test
export EJ_REDIS_URL ?= redis://127.0.0.1:6379/0
# One Redis database per test process (pytest -n 2 runs two): a list, or db indexes from the first on.
export EJ_TEST_REDIS_URL ?= redis://127.0.0.1:6379/1 redis://127.0.0.1:6379/9
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test venv services migrate seed lint format bench clean web web-test

venv:
	@bash scripts/venv.sh

services:
	@bash scripts/bootstrap.sh

migrate: venv services
	$(VENV)/corps migrate

seed: migrate
	$(VENV)/corps seed-demo

# The web app: npm ci when the lock file changed, vite build when a source changed.
WEB_SOURCES := $(shell find web/src web/public web/index.html web/vite.config.ts web/tsconfig.json -type f 2>/dev/null)
web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run build

web: web/dist/index.html

web-test: web/node_modules/.installed
	cd web && npm test

run: seed web
	@echo "Web app: http://localhost:$(PORT)/   API docs: http://localhost:$(PORT)/docs   (worker runs alongside; Ctrl-C stops both)"
	@bash scripts/supervise.sh $(VENV)/corps worker & WORKER=$$!; \
	  trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	  $(VENV)/corps serve --host $(HOST) --port $(PORT)

lint: venv
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy corps geo cases maps testing
	$(VENV)/lint-imports

format: venv
	$(VENV)/ruff format .
	$(VENV)/ruff check --fix .

test: venv services lint web web-test
	$(VENV)/pytest $(PYTEST_ARGS)

bench: venv
	@EJ_DATABASES=ejcorps_bench bash scripts/bootstrap.sh
	$(VENV)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache .import_linter_cache var web/dist web/node_modules
