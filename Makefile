# Two commands do all the set-up: `make demo` and `make test`.
# GPU users: install your own torch build into .venv first, then run with TORCH_SPEC=torch.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.gankit-installed

.PHONY: demo test lint clean

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

lint: $(STAMP)
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
