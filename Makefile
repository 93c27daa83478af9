# voisins — one command to run, one to test. Both install into .venv and bring up
# PostgreSQL+PostGIS and Redis through scripts/services.sh first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install services migrate run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

services:
	@bash scripts/services.sh

migrate: install services
	$(BIN)/voisins db upgrade

## make run: API on http://$(HOST):$(PORT) plus one worker (Ctrl-C stops both)
run: migrate
	$(BIN)/voisins demo
	@echo "voisins: open posts near the demo neighbourhood:"
	@echo "  http://$(HOST):$(PORT)/api/v1/posts?lon=2.354&lat=48.886&radius_km=2"
	@echo "voisins: http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/schema)"
	@$(BIN)/voisins worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/voisins serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## make test: the whole suite against the real services (a throwaway database per run)
test: install services lint
	$(BIN)/pytest

bench: migrate
	$(BIN)/python -m bench.match

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
