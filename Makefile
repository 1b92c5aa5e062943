# VirNucPro-NF developer and user entry points. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch is installed on its own first: a pinned CPU build where one is available (CI, laptops); on a GPU
# machine that already has a CUDA torch in the venv, `make TORCH=` keeps it.
TORCH ?= torch==2.13.0
TORCH_INDEX ?=

DEMO_OUT ?= demo-results
MODELS := tests/data/models

.PHONY: setup lint test demo clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@if [ -n "$(TORCH)" ]; then $(PY) -m pip install -q $(TORCH_INDEX) "$(TORCH)"; fi
	$(PY) -m pip install -q -e '.[test]'
	touch $@

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest -q

demo: setup
	@start=$$(date +%s); \
	$(VENV)/bin/virnucpro run --input tests/data/demo/demo.fa --outdir $(DEMO_OUT) --restart \
		--dnabert $(MODELS)/dnabert_s --esm $(MODELS)/esm2_t2_64_test.pt --classifier $(MODELS)/500_model.pth && \
	echo "" && \
	echo "Demo finished in $$(( $$(date +%s) - start )) s. Results: $(DEMO_OUT)/report/demo/" && \
	echo "  report.html (open in a browser), contig_summary.tsv, prediction_results_highestscore.tsv, summary.json" && \
	echo "The bundled test models have random weights: these scores are meaningless (README, 'Real models')."

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis $(DEMO_OUT)
