# repr-assets: `make demo`, `make test`, `make ui`. See README.md.
PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch, installed before the project so that the project's torch range
# is already met; users with a GPU can override it, e.g. TORCH_SPEC="torch==2.13.0+cu128".
TORCH_SPEC ?= torch==2.13.0
REPR_ASSETS_HOME ?= $(CURDIR)/.repr_assets
export REPR_ASSETS_HOME

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: install demo test ui lint clean bench

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,text]"
	touch $@

demo: $(STAMP)
	$(BIN)/repr-assets run

test: $(DEV_STAMP) lint
	$(BIN)/pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

ui: $(STAMP)
	$(BIN)/repr-assets ui

# Ratios, measured in one run each: search throughput (exact and ANN paths against NumPy
# and LanceDB), and the quality report's cost against the training it evaluates.
# BENCH_ARGS=--quick runs small versions of both in about two minutes.
bench: $(STAMP)
	$(BIN)/python benchmarks/search.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/report_vs_training.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .repr_assets .pytest_cache .ruff_cache .mypy_cache
