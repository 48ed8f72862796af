# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench venv clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=23"
	# torch first, from the pinned CPU build: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet -c constraints.txt torch
	# TensorFlow too (tensorflow-cpu): `make test` runs the TensorFlow/Keras tests.
	$(BIN)/pip install --quiet -c constraints.txt -e ".[torch,tensorflow,test]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/gradsight demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/overhead.py

clean:
	rm -rf $(VENV) gradsight-runs .pytest_cache
