# custody developer tasks. Only needs Python >= 3.10 and pip on the machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: install, then scan an inert replica of the trojaned litellm 1.82.8 wheel and the real,
## clean litellm 1.82.6 release from PyPI, show the report and say in one sentence what it means.
## `custody scan` exits 1 on a malicious target (what stops a CI job); the demo expects that exit
## and explains it instead of ending on a make error. Any other failure still fails the demo.
DEMO_TARGETS := examples/build/litellm-1.82.8-py3-none-any.whl litellm==1.82.6
demo: $(STAMP)
	$(BIN)/python examples/build_demo.py examples/build
	@echo '$$ custody scan $(DEMO_TARGETS)'
	@$(BIN)/custody scan $(DEMO_TARGETS); status=$$?; echo; \
	if [ $$status -eq 1 ]; then \
	  echo "custody found the litellm 1.82.8 replica malicious: its .pth file would run at every Python start-up, decode a hidden payload and send SSH keys and cloud credentials out (the real attack's chain; this replica is inert), so custody exits 1, which stops a CI job before the package is ever installed (add --format html -o report.html for a report to share)."; \
	elif [ $$status -eq 0 ]; then \
	  echo "custody found nothing malicious, so it exits 0."; \
	else exit $$status; fi

## test: install, then lint, type-check and run every test.
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src bench examples

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 tests

## bench: detection and speed against GuardDog on ../shared (see bench/README.md).
bench: $(STAMP)
	$(BIN)/python bench/scan_bench.py

clean:
	rm -rf $(VENV) build dist examples/build .pytest_cache .mypy_cache .ruff_cache
