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

.PHONY: env study test test-nbs test-py check-export export clean-nbs docs docs-check chromium lab bench clean pages pages-check

# The environment: torch pinned first (the CPU wheel on this machine kind; the CUDA build of the same
# version on a GPU machine), then the package with its dev tools. Rebuilt when settings.ini changes.
# PYTHONWARNINGS=ignore hides setuptools' editable-install notice (a screen of asterisks that is not news here).
$(STAMP): settings.ini setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	PYTHONWARNINGS=ignore $(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

env: $(STAMP)

study: env
	$(VENV)/bin/corepreg study --preset quick --out $(STUDY_OUT)

test: env check-export test-nbs test-py

check-export: env
	tools/check_export.sh

# Tests run in JOBS processes of one thread each: JOBS processes of JOBS threads (torch's default) oversubscribe the
# cores, and OpenMP's spinning threads then make the suite 2-3x slower (benchmarks/RESULTS.md, "The test suite").
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

test-nbs: env
	cd nbs && OMP_NUM_THREADS=1 $(if $(wildcard ../shared/data),COREPREG_DATA_ROOT=$(abspath ../shared/data)) ../$(VENV)/bin/nbdev_test --n_workers $(JOBS)

test-py: env
	OMP_NUM_THREADS=1 $(PY) -m pytest tests/ -q -n $(JOBS)

export: env
	$(VENV)/bin/nbdev_export

clean-nbs: env
	$(VENV)/bin/nbdev_clean

docs: env
	$(PY) tools/build_docs.py

# Every built page opened in headless Chromium with the network cut off: fails on raw TeX, a broken image or link,
# a missing alt text, a request that leaves the machine, or a console error (tools/docs_check.py says which).
docs-check: docs chromium
	$(PY) tools/docs_check.py

# Debian's Chromium for docs-check and its tests (Playwright drives it; Playwright's own browser download is not used).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); export DEBIAN_FRONTEND=noninteractive; \
	  echo "installing Debian's chromium (apt-get)"; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	@command -v chromium >/dev/null 2>&1 || { echo "make chromium: chromium is still missing; install Debian's chromium package" >&2; exit 1; }

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

# The pages that quote results/, re-executed; then README.md regenerated from the home page, with the analysis plan's answer.
RESULT_PAGES = 11b_plan.ipynb 12_results.ipynb 13_ablations.ipynb index.ipynb
# `make test` fails while they are stale (tests/test_plan.py).
pages: env
	cd nbs && for nb in $(RESULT_PAGES); do OMP_NUM_THREADS=2 ../$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace $$nb || exit 1; done
	$(VENV)/bin/nbdev_clean
	$(PY) tools/pages.py

# CI: the generated parts of the pages (README.md from the home page, the answer blocks) agree with results/ and nbs/index.ipynb.
pages-check: env
	$(PY) tools/pages.py --check
