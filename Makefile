# Two commands do all the set-up: `make demo` and `make test`.
# GPU users: install your own torch build into .venv first, then run with TORCH_SPEC=torch.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.gankit-installed

.PHONY: demo test test-fast lint docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

DEMO_DIR := runs/demo

# The notes' worked examples, then 30 s of the default recipe on 8 Gaussians, its scores and report.
demo: $(STAMP)
	$(BIN)/gankit examples
	rm -rf $(DEMO_DIR)
	$(BIN)/gankit train --data ring --out $(DEMO_DIR) --time-limit 30 --sample-every 300
	$(BIN)/gankit eval $(DEMO_DIR)
	$(BIN)/gankit report $(DEMO_DIR)
	@echo "figures: $(DEMO_DIR)/samples/ (real and generated points over the critic's contour)"
	@echo "report:  $(DEMO_DIR)/report.html"

# Formatting, lint, types, and the layer contract of pyproject.toml (no import runs upward).
lint: $(STAMP)
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# The API reference from the docstrings of every public module, into docs/api/ (any warning,
# such as a docstring or annotation pdoc cannot read, fails the build).
API_MODULES = $(shell cd src && find gankit -name '*.py' ! -name '_*' ! -name '__main__.py' \
	| sed 's/\.py$$//; s/\//./g' | sort) $(shell cd src && find gankit -name __init__.py \
	| sed 's/\/__init__\.py$$//; s/\//./g' | sort)
docs: $(STAMP)
	rm -rf docs/api
	$(BIN)/python -W error -m pdoc --docformat google --no-show-source -o docs/api $(API_MODULES)
	@echo "API reference: docs/api/index.html"

# Everything: lint, the API reference, every test (slow ones included).
test: lint docs
	$(BIN)/python -m pytest

# The edit loop: the tests not marked slow (under a minute).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis docs/api
