# Two commands on a fresh machine (see README):
#   make demo   set up, then run the Oxfordshire demo end to end
#   make test   set up, then run the test suite
# The official data come from OPTIMISER_DATA_MIRROR when it is set (CI sets it to ../shared/data);
# otherwise ../shared/data is used when it exists beside the checkout; otherwise they are downloaded.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MIRROR_DEFAULT := $(abspath ../shared/data)
export OPTIMISER_DATA_MIRROR ?= $(if $(wildcard $(MIRROR_DEFAULT)),$(MIRROR_DEFAULT),)

.PHONY: setup demo test lint bench clean

$(BIN)/optimiser: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/optimiser

demo: setup
	$(BIN)/optimiser demo --out out/demo

test: setup
	$(BIN)/python -m pytest -n 2 -q

lint: setup
	$(BIN)/ruff check optimiser tests scripts

bench: setup
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python scripts/benchmark_prepare.py
	$(BIN)/python scripts/benchmark_solve.py
	$(BIN)/python scripts/benchmark_decision_support.py

clean:
	rm -rf $(VENV) out .pytest_cache
