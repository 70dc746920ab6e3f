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
	$(BIN)/pip install --quiet -e ".[dev,text,images,dask,postgres]"
	touch $@

demo: $(STAMP)
	$(BIN)/repr-assets run

# Test files run on TEST_WORKERS processes at once (pytest-xdist), each file whole on one,
# so that the fixtures a file shares are made once; TEST_WORKERS=0 runs them in this one.
TEST_WORKERS ?= 2

test: $(DEV_STAMP) lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --durations=15

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

ui: $(STAMP)
	$(BIN)/repr-assets ui --workspace workspace.yaml

# One table of ratios (each figure against the best alternative, timed in the same run),
# also written as JSON to benchmarks/results/. BENCH_ARGS=--quick runs small sizes in a
# few minutes; the default is the issue's sizes (search at 100k and 1M rows).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.suite $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .repr_assets .pytest_cache .ruff_cache .mypy_cache
