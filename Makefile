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

# images: the two images under the names the modules use (a site mirror: make images REGISTRY=...), and their
# Apptainer/Singularity files under the names Nextflow looks for in NXF_APPTAINER_CACHEDIR (docs/usage.md)
DOCKER ?= docker
APPTAINER ?= apptainer
REGISTRY ?= ghcr.io
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
SIF_DIR ?= sif
IMAGE = $(REGISTRY)/virnucpro-nf/virnucpro-$(1):$(VERSION)

.PHONY: setup lint test demo clean images sif

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

images: image-cpu image-gpu

image-%:
	$(DOCKER) build -f containers/Dockerfile.$* -t $(call IMAGE,$*) --build-arg VERSION=$(VERSION) \
		--build-arg REVISION=$$(git rev-parse HEAD 2>/dev/null || echo unknown) \
		--build-arg CREATED=$$(date -u +%Y-%m-%dT%H:%M:%SZ) .

sif: sif-cpu sif-gpu

sif-%:
	mkdir -p $(SIF_DIR)
	$(APPTAINER) build $(SIF_DIR)/$(subst :,-,$(subst /,-,$(call IMAGE,$*))).img docker-daemon://$(call IMAGE,$*)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis $(DEMO_OUT)
