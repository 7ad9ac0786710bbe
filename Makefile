# Set-up is part of every target: a fresh machine needs nothing but Python 3.10+ (python3 with venv).
# Inside an active virtual environment or conda env its python is used; otherwise a project venv in .venv is made,
# so a system Python (Debian/Ubuntu's "externally managed" one included) is never written to.
VENV ?= .venv
ACTIVE := $(or $(VIRTUAL_ENV),$(CONDA_PREFIX))
PYTHON ?= $(if $(ACTIVE),python,$(VENV)/bin/python)
# CIFAR-10 root: $MONOSSL_DATA, else ../shared/data when present, else monossl's default (~/.cache/monossl, downloaded)
DATA ?= $(firstword $(MONOSSL_DATA) $(wildcard ../shared/data))
IMAGES ?= $(firstword $(MONOSSL_IMAGES) $(wildcard ../shared/images))
DEMO_OUT ?= demo_out
STAMP := $(if $(ACTIVE),.make-installed,$(VENV)/.installed)

.PHONY: install test demo bench figures docs clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml $(if $(ACTIVE),,$(VENV)/bin/python)
	@# torch first, the CPU build: an unpinned torch would pull gigabytes of CUDA wheels on a CPU box
	@# (elsewhere: pip install torch --index-url https://download.pytorch.org/whl/cpu)
	$(PYTHON) -c "import torch" 2>/dev/null || $(PYTHON) -m pip install -q "torch==2.13.0"
	$(PYTHON) -m pip install -q -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PYTHON) -m pytest tests

demo: $(STAMP)
	$(PYTHON) -m monossl demo --out $(DEMO_OUT) $(if $(DATA),--data-root $(DATA))

bench: $(STAMP)
	$(PYTHON) benchmarks/bench_generate.py
	$(PYTHON) benchmarks/bench_probe.py $(if $(DATA),--data-root $(DATA))
	$(PYTHON) benchmarks/bench_knn.py $(if $(DATA),--data-root $(DATA))
	$(PYTHON) benchmarks/bench_train.py $(if $(DATA),--data-root $(DATA))
	$(PYTHON) benchmarks/bench_distill.py $(if $(DATA),--data-root $(DATA))
	$(PYTHON) benchmarks/bench_threads.py $(if $(DATA),--data-root $(DATA))
	$(PYTHON) benchmarks/bench_folder_probe.py
	$(PYTHON) benchmarks/bench_precision.py

# every published table and figure rendered again by the code, from docs/results/*.json and the saved runs
figures: $(STAMP)
	$(PYTHON) docs/make_figures.py $(if $(DATA),--data-root $(DATA)) $(if $(IMAGES),--images $(IMAGES))

docs: $(STAMP)
	$(PYTHON) docs/make_usage.py

clean:
	rm -rf .make-installed $(VENV) $(DEMO_OUT) build src/*.egg-info
