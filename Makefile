# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test docs bench bench-diagnosis venv clean chromium

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=23"
	# torch first, from the pinned CPU build: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet -c constraints.txt torch
	# TensorFlow too (tensorflow-cpu): `make test` runs the TensorFlow/Keras tests, and the
	# Lightning, Hugging Face, pandas and docs extras that the integration tests and docs use.
	$(BIN)/pip install --quiet -c constraints.txt -e ".[torch,tensorflow,lightning,hf,pandas,docs,test]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/gradsight demo

# The report tests drive a real headless Chromium (Debian's package; we run as root there).
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		(apt-get update && apt-get install -y --no-install-recommends chromium)

# The docs site (mkdocs-material, from docs/): strict, so a broken link or page fails the build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

test: $(STAMP) chromium docs
	GRADSIGHT_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/overhead.py

# Diagnosis accuracy over the labelled cases (benchmarks/diagnosis/): per-kind precision/recall,
# localization, false alarms on healthy runs; fails below the issue-4 thresholds. ~5 min, -j 2.
bench-diagnosis: $(STAMP)
	$(BIN)/python benchmarks/diagnosis/score.py

clean:
	rm -rf $(VENV) gradsight-runs .pytest_cache site
