# The README's two commands. Each sets itself up from a fresh clone.
#   make book   execute every chapter and build the HTML book into _build/html
#   make test   unit tests, notebook tests (nbval), exercise checks, book build, browser test

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JB := $(BIN)/jupyter-book
PYTEST := $(BIN)/python -m pytest

# Two test workers on two cores, one thread each; notebooks are stored under the same setting,
# so what nbval re-runs is what was committed.
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: setup book test notebooks exercises clean

setup: $(STAMP)

$(STAMP): requirements-lock.txt pkg/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-lock.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e ./pkg
	$(BIN)/python -m ipykernel install --sys-prefix --name factorlab --display-name "Python (factorlab)"
	touch $(STAMP)

book: $(STAMP)
	$(JB) build -W --keep-going .
	@echo "The book is at $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/python tools/make_exercises.py --check
	$(PYTEST) -n 2 --dist loadscope --nbval -m "not browser" tests pkg/factorlab book exercises/solutions
	$(PYTEST) -n 2 --dist loadscope --nbval-lax -p no:doctest exercises/[0-9]*.ipynb
	mkdir -p _build
	$(BIN)/python tools/stored_config.py > _build/_config_stored.yml
	$(JB) build -W --keep-going --config _build/_config_stored.yml .
	$(PYTEST) -m browser tests/test_browser.py

# Helpers for authors: re-execute the committed notebooks, regenerate student notebooks.
notebooks: $(STAMP)
	$(BIN)/python tools/run_notebooks.py --all

exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py

clean:
	rm -rf _build .jupyter_cache
