# The two set-up commands of the README. Each creates the virtual environment (.venv) and installs what it
# needs on a fresh machine; torch, where later stages need it, is pinned to the CPU build torch==2.13.0.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## Run the main job on the embedded defaults (example documents written for LoreForge).
demo: $(STAMP)
	$(VENV)/bin/loreforge demo

## Run the whole test suite.
test: $(STAMP)
	$(PY) -m pytest -n 2 -q

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
