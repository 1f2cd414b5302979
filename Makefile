# orderhub developer commands. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The product alone (`make demo`): orderhub and its runtime dependencies, no dev tools.
RUNTIME_STAMP := $(VENV)/.installed-runtime

.PHONY: help install demo test lint fmt bench bench-sync bench-ingest bench-web bench-pg mutation sabotage clean

help:  ## Show the targets and what they do
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUNTIME_STAMP)

$(RUNTIME_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUNTIME_STAMP)

install: $(STAMP)  ## Create .venv and install orderhub with its dev tools

demo: $(RUNTIME_STAMP)  ## Install orderhub alone (no dev tools), then run the demo on :8000
	$(BIN)/orderhub demo

test: $(STAMP)  ## Install, then run every test on SQLite and PostgreSQL (skips PostgreSQL if absent)
	$(BIN)/pytest -n 2 --dist loadfile

lint: $(STAMP)  ## ruff, mypy and the layer contracts (import-linter)
	$(BIN)/ruff check src tests $(wildcard bench) $(wildcard tools)
	$(BIN)/ruff format --check src tests $(wildcard bench) $(wildcard tools)
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP)  ## Format and autofix
	$(BIN)/ruff format src tests $(wildcard bench) $(wildcard tools)
	$(BIN)/ruff check --fix src tests $(wildcard bench) $(wildcard tools)

bench: $(STAMP)  ## Read benchmark: 1,000,000 orders, orderhub vs Datasette vs bare SQL
	$(BIN)/python bench/read.py --rounds 3

bench-sync: $(STAMP)  ## Sandboxes' start and paging at 1,000,000 orders, then sync: orderhub vs dlt
	$(BIN)/python bench/sandbox.py; $(BIN)/python bench/sync.py

bench-ingest: $(STAMP)  ## Ingest benchmark: orderhub generate, 1,000,000 orders into SQLite and PostgreSQL
	$(BIN)/python bench/ingest.py

bench-web: $(STAMP)  ## Web UI benchmark: server time of the pages on 1,000,000 orders (docs/web.md)
	$(BIN)/python bench/web.py

bench-pg: $(STAMP)  ## PostgreSQL: 10,000,000 orders, the API with 1, 2, 4 serve workers vs pgbench (docs/scaling.md)
	$(BIN)/python bench/pg.py $(BENCH_PG_ARGS)

# `make mutation MUTANTS='orderhub.query*'` re-runs only the mutants whose names match.
mutation: $(STAMP)  ## Mutation run (mutmut) over the codecs, query/ and sync; score per module
	HYPOTHESIS_PROFILE=mutation $(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/python tools/mutation_report.py

sabotage: $(STAMP)  ## Break the code on purpose (issue 10's list) and check a test catches each
	$(BIN)/python tools/sabotage.py

clean:  ## Remove the virtualenv, caches and local databases
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis orderhub.db*
