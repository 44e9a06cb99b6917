# Two commands do all setup on a fresh machine: `make demo` and `make test`.
# Each bootstraps .venv and installs the pinned dependencies first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stamp-install

.PHONY: help install demo test lint typecheck unit integration test-venue test-sim bench bench-quick sim clean

help:
	@echo "make demo   - run the quickstart against the embedded IB Gateway simulator"
	@echo "make test   - ruff, mypy and the whole pytest suite"
	@echo "make test-venue / make test-sim - one suite (tests/venue, tests/sim)"
	@echo "make bench  - benchmarks vs raw ib_async; writes benchmarks/results/latest.json"
	@echo "make bench-quick - the same, smaller (under 2 minutes)"
	@echo "make sim    - run the simulator on 127.0.0.1:4002 until Ctrl-C"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/horizon-ibkr demo

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/core tests/venue/unit tests/sim/unit tests/tap/unit tests/test_layering.py -q

integration: $(STAMP)
	$(BIN)/pytest tests/venue/integration tests/sim/integration tests/tap/integration -q

test-venue: $(STAMP)
	$(BIN)/pytest tests/core tests/venue -q

test-sim: $(STAMP)
	$(BIN)/pytest tests/sim -q

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick

sim: $(STAMP)
	$(BIN)/horizon-ibkr sim --host 127.0.0.1 --port 4002

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis src/*.egg-info
