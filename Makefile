# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test docs bench bench-diagnosis bench-faults bench-stability bench-fix venv clean \
	chromium

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

# Diagnosis accuracy: the 57 cases written here (benchmarks/diagnosis/, all must stay right) and
# the programs written by others (benchmarks/wild/, >= 90% of the buggy ones right, no alarm on a
# healthy one). Per-kind precision/recall, localization, root cause first, false alarms, per
# framework. Both run; fails if either gate fails. ~15 + ~20 min, -j 2.
bench-diagnosis: $(STAMP)
	$(BIN)/python benchmarks/diagnosis/score.py; a=$$?; \
	$(BIN)/python benchmarks/diagnosis/score.py --cases benchmarks/wild/cases; b=$$?; \
	test $$a -eq 0 && test $$b -eq 0

# The slow rows of the fault matrix (tests/faults: random kills, Keras, a full file system);
# `make test` runs the fast rows. Prints what each kill lost. ~2 min.
bench-faults: $(STAMP)
	$(BIN)/python -m pytest -q -s -m faults_bench tests/faults

# Training stability (benchmarks/stability/): small GPTs over a sweep of learning rates, with and
# without qk-layernorm and z-loss; per mechanism, how many diverging runs gradsight warned before
# they diverged, how early, the layer; beside Megatron's and OLMo-core's loss rules. 20 runs, -j 2.
bench-stability: $(STAMP)
	$(BIN)/python benchmarks/stability/sweep.py
	$(BIN)/python benchmarks/stability/nanogpt.py

# `gradsight fix` against random search at equal budget (benchmarks/fix/): the repairable buggy
# programs of both corpora and the seeds (5 search seeds), and "nothing to fix" on every healthy
# one (fails otherwise, except those cases.KNOWN_HEALTHY explains). Writes the tables to
# benchmarks/fix/RESULTS.md. ~70 min on a 2-core CPU (2026-12-07: 2 cases at a time, 1-13 min a
# buggy program at 5 seeds); `make test` runs its quick subset (tests/fix/test_bench.py).
bench-fix: $(STAMP)
	$(BIN)/python benchmarks/fix/bench.py --results benchmarks/fix/results.json \
		--markdown benchmarks/fix/RESULTS.md

clean:
	rm -rf $(VENV) gradsight-runs .pytest_cache site
