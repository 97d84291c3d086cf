# Two commands do all the set-up on a fresh machine with only Python and make:
#   make demo   -- create .venv if needed, install DRAMA, run `drama demo` on embedded data
#   make test   -- likewise, then run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.drama-installed

.PHONY: demo test lint docs mutation install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# PyTorch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[deep,manifold,images,lightcurves,peers,workbench,dask,dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/drama demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/mypy src/drama

# The API reference from the docstrings; any Sphinx warning (a docstring that does not render,
# a cross-reference that does not resolve) fails the build.
docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs/api docs/api/_build/html

# Mutation testing of the core modules (slow, so not part of `make test`): each module is mutated
# in a throw-away copy of the repository and checked against its own tests; see docs/testing.md.
mutation: $(STAMP)
	$(BIN)/python tools/mutation.py

clean:
	rm -rf $(VENV) drama-report .pytest_cache docs/api/_build
