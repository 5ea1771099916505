# tada: `make run` starts the whole stack locally, `make test` runs the suite.
# Both set up .venv first (again only when pyproject.toml changes).

PYTHON ?= python3
VENV = .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: venv install run test clean chaos bench

venv: $(STAMP)

install: $(STAMP)

$(STAMP): pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
		$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
			echo "tada needs Python >= 3.11: run make PYTHON=python3.11 (or newer)"; exit 1; }; \
		echo "$(PYTHON) -m venv $(VENV)"; $(PYTHON) -m venv $(VENV); \
	fi
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m tada.kit.run

# The suite, after lint, format and types (pyproject.toml: [tool.ruff], [tool.mypy]).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

chaos: $(STAMP)
	$(BIN)/python -m chaos $(CHAOS_ARGS)

# Benchmarks against bare Temporal (README, "Performance"): BENCH_ARGS="happy --happy-links 100"
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf .tada
