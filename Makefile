# corepreg: every install step lives here. `make study` and `make test` work on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
TORCH := torch==2.13.0
STUDY_OUT ?= runs/study-quick
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONUNBUFFERED := 1

.PHONY: env study test test-nbs test-py check-export export clean-nbs docs lab bench clean

# The environment: torch pinned first (the CPU wheel on this machine kind; the CUDA build of the same
# version on a GPU machine), then the package with its dev tools. Rebuilt when settings.ini changes.
$(STAMP): settings.ini setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

env: $(STAMP)

study: env
	$(VENV)/bin/corepreg study --preset quick --out $(STUDY_OUT)

test: env check-export test-nbs test-py

check-export: env
	tools/check_export.sh

test-nbs: env
	cd nbs && ../$(VENV)/bin/nbdev_test --n_workers 2

test-py: env
	$(PY) -m pytest tests/ -q

export: env
	$(VENV)/bin/nbdev_export

clean-nbs: env
	$(VENV)/bin/nbdev_clean

docs: env
	$(PY) tools/build_docs.py

# Jupyter refuses to run as root without --allow-root; it is added only when running as root.
lab: env
	$(VENV)/bin/jupyter lab --notebook-dir=nbs $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# The benchmarks (minutes to an hour on 2 cores; run on an idle machine): figures go to benchmarks/results_*.json,
# tabulated by hand in benchmarks/RESULTS.md.
bench: env
	$(PY) benchmarks/bench_losses.py
	$(PY) benchmarks/bench_register.py
	$(PY) benchmarks/bench_train.py

clean:
	rm -rf _docs _proc build *.egg-info
