# smartcustoms: `make run` sets up and serves the demo; `make test` sets up and runs every check.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export OMP_NUM_THREADS ?= 1

.PHONY: install install-dev run test lint typecheck clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -qq --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -qq -e .

install-dev: $(BIN)/python
	$(BIN)/pip install -qq -e '.[dev]'

run: install
	$(BIN)/smartcustoms init
	$(BIN)/smartcustoms demo --declarations 300
	$(BIN)/smartcustoms serve --port $(PORT)

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy src bench

test: install-dev lint
	$(BIN)/pytest -n auto

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
