# Set-up is part of every target: a fresh machine needs nothing but Python 3.10+.
PYTHON ?= python3
# CIFAR-10 root: $MONOSSL_DATA, else ../shared/data when present, else monossl's default (~/.cache/monossl, downloaded)
DATA ?= $(firstword $(MONOSSL_DATA) $(wildcard ../shared/data))
DEMO_OUT ?= demo_out
STAMP := .make-installed

.PHONY: install test demo bench clean

$(STAMP): pyproject.toml
	@# torch first: an unpinned torch would pull gigabytes of CUDA wheels on a CPU box.
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
	$(PYTHON) benchmarks/bench_train.py $(if $(DATA),--data-root $(DATA))
	$(PYTHON) benchmarks/bench_threads.py $(if $(DATA),--data-root $(DATA))
	$(PYTHON) benchmarks/bench_folder_probe.py
	$(PYTHON) benchmarks/bench_precision.py

clean:
	rm -rf $(STAMP) $(DEMO_OUT) build src/*.egg-info
