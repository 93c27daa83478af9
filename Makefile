# voisins — one command to run, one to test. Both install into .venv and bring up
# PostgreSQL+PostGIS and Redis through scripts/services.sh first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install services browser migrate run test lint bench bench-tools clean i18n

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Front-end libraries the app serves itself (Leaflet, htmx; axe-core for the tests).
NODE_STAMP := node_modules/.package-lock.json
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)
	@bash scripts/pdf.sh

services:
	@bash scripts/services.sh

migrate: install services
	$(BIN)/voisins db upgrade

## make run: API on http://$(HOST):$(PORT) plus one worker (Ctrl-C stops both)
# The worker is supervised: restarted a second after it exits, whatever the reason
# (it rides out Redis and PostgreSQL outages by itself; this covers a crash or a kill).
run: migrate
	$(BIN)/voisins demo
	@echo "voisins: open posts near the demo neighbourhood:"
	@echo "  http://$(HOST):$(PORT)/api/v1/posts?lon=2.354&lat=48.886&radius_km=2"
	@echo "voisins: http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/schema)"
	@( trap 'kill $$worker 2>/dev/null; wait $$worker; exit 0' TERM; \
	  while :; do \
	    $(BIN)/voisins worker & worker=$$!; wait $$worker; \
	    echo "voisins: the worker exited (code $$?), restarting it in 1 s" >&2; sleep 1; \
	  done ) & supervisor=$$!; \
	trap 'kill $$supervisor 2>/dev/null' EXIT INT TERM; \
	$(BIN)/voisins serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

browser:
	@bash scripts/browser.sh >/dev/null

## make test: the whole suite against the real services (a throwaway database per run)
## and a real Chromium for the pages
test: install services browser lint
	$(BIN)/pytest

bench: migrate
	$(BIN)/python -m bench.match

## make bench-tools: what bench.api needs beside the venv (wrk; pgbench comes with PostgreSQL)
bench-tools:
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)

## make i18n: the French texts of the pages, for the translators (messages.pot)
i18n: install
	$(BIN)/pybabel extract -F babel.cfg -o src/voisins/web/locale/messages.pot src/voisins/web

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
