# Two commands a fresh machine needs: `make demo` and `make test`. Each builds .venv itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test docs bench vectors conformance interop fuzz-smoke clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("domvia-e2ee needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@ $(VENV)/.installed-base

demo: $(VENV)/.installed-base
	$(BIN)/domvia-e2ee demo

test: $(VENV)/.installed-test
	$(BIN)/ruff check domvia_e2ee tests benchmarks docs hatch_build.py
	$(BIN)/mypy
	$(BIN)/python -m pytest -n auto -rs

vectors: $(VENV)/.installed-base
	$(BIN)/python -m domvia_e2ee._vectors write

# The Sphinx site (tutorials, API and CLI reference) in docs/_build/html; warnings are errors.
$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $@ $(VENV)/.installed-base

docs: $(VENV)/.installed-docs
	$(BIN)/sphinx-build -W -b html docs docs/_build/html

# Benchmarks beside the peers (vodozemac, tink, pyrage) and the raw primitives: prints the
# table and rewrites benchmarks/RESULTS.md and the README's Performance section.
$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench,peers]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-base

bench: $(VENV)/.installed-bench
	$(BIN)/python -m benchmarks

# The JavaScript implementation against every vector (needs Node >= 20 and npm).
interop: $(VENV)/.installed-base
	cd interop/js && npm ci --no-audit --no-fund
	cd interop/js && npm test
	$(BIN)/domvia-e2ee conformance --impl "node interop/js/adapter.mjs" --quiet

# A short pass over every fuzz harness without atheris (fuzz/run.sh runs the real fuzzer).
fuzz-smoke: $(VENV)/.installed-test
	$(BIN)/python fuzz/smoke.py 300

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .benchmarks docs/_build
