# Developer entry points. `make run` starts the whole catalogue locally; `make test` is what CI runs (.ci/run).

VENV ?= .venv
PY := $(VENV)/bin/python
# checkov alone (requirements/scan.lock: its pins clash with the dev set); tests/infra/test_scanners.py
SCAN_VENV ?= .venv-scan
# The supported interpreter: CPython 3.11 (the Lambda runtime; pyproject.toml requires-python).
# PYTHON=/path/to/python3.11 picks another one.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
PYTHON_WANTED := 3.11
# pip prints one "WARNING: Location ... is ignored" per configured index it skips; drop them.
PIP_QUIET := sed -u '/^WARNING: Location .* is ignored/d'
# Installs take pinned, hash-checked files from the locks only: --no-deps (the locks are the
# whole closure) and --no-build-isolation (sdists build with build.lock's setuptools).
PIP_LOCKED := -m pip install --no-input --disable-pip-version-check --require-hashes --no-deps
LOCKS := requirements/build.lock requirements/runtime.lock requirements/dev.lock

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

.PHONY: help install run test soak lint fmt clean distclean bench lock check-python check-locks browser

help:
	@echo "make run        start the local stack (moto, osmem-server, runner, chalice local) with demo data"
	@echo "make test       lint, type-check and run every test (what .ci/run does)"
	@echo "make soak       T3 load for 10 min + report, then delivery, concurrency, fault and fuzz tests at full size"
	@echo "make bench      our catalogue against dtool-lookup-server 0.18 and dservercore 0.22 (~10 min; BENCH_ARGS=--quick: a few)"
	@echo "make synth      the AWS CDK template, offline (STAGE=dev|prod)"
	@echo "make deploy     deploy STAGE with your AWS credentials (see README: Deploy to AWS)"
	@echo "make lock       regenerate the lock files from requirements/*.in and bench/{peer,dserver}.in (UPGRADE=--upgrade: newest)"
	@echo "make lint       ruff check, ruff format --check, mypy"
	@echo "make fmt        ruff format and ruff check --fix"
	@echo "make clean      remove caches and local-stack logs (keeps $(VENV))"
	@echo "make distclean  clean, and remove $(VENV)"

check-python:
	@found="$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)"; \
	if [ "$$found" != "$(PYTHON_WANTED)" ]; then \
	  echo "make: this project needs Python $(PYTHON_WANTED); found $${found:-no Python} at '$(PYTHON)'. Install Python $(PYTHON_WANTED) or run make PYTHON=/path/to/python$(PYTHON_WANTED) ..." >&2; exit 2; \
	fi
	@if [ -x $(PY) ]; then \
	  found="$$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)"; \
	  if [ "$$found" != "$(PYTHON_WANTED)" ]; then \
	    echo "make: $(VENV) runs Python $${found:-(broken)}, not $(PYTHON_WANTED): make distclean, then again" >&2; exit 2; \
	  fi; \
	fi

$(VENV)/.installed: $(LOCKS) pyproject.toml client/pyproject.toml | check-python
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) $(PIP_LOCKED) -r requirements/build.lock 2>&1 | $(PIP_QUIET)
	$(PY) $(PIP_LOCKED) --no-build-isolation -r requirements/dev.lock 2>&1 | $(PIP_QUIET)
	$(PY) -m pip install --no-input --disable-pip-version-check --no-deps --no-build-isolation -e . -e client 2>&1 | $(PIP_QUIET)
	touch $@

install: $(VENV)/.installed

$(SCAN_VENV)/.installed: requirements/scan.lock | check-python
	test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python $(PIP_LOCKED) -r requirements/scan.lock 2>&1 | $(PIP_QUIET)
	touch $@

run: check-python $(VENV)/.installed
	$(PY) -m infra.local.stack

# a lock older than its list fails here, with the hint, before anything is installed
check-locks: check-python
	@$(PYTHON) -m infra.locks check

lock: $(VENV)/.installed
	$(PY) -m infra.locks compile $(UPGRADE)

# Debian's chromium and its driver for the browser tests (tests/e2e/test_browser_*.py), from
# Debian's packages with apt-get when missing (root only). Without them those tests say so
# loudly and skip; the rest of the suite runs.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make: installing Debian's chromium and chromium-driver for the browser tests"; \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver \
	    || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver; }; \
	  } >/dev/null 2>&1 || echo "make: WARNING: chromium could not be installed; the browser tests will be skipped" >&2; \
	else echo "make: WARNING: no chromium/chromedriver and no root to install them; the browser tests will be skipped" >&2; fi

test: check-locks $(VENV)/.installed $(SCAN_VENV)/.installed browser
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy chalicelib app.py infra client/src && $(VENV)/bin/pytest -n 2 --timeout 600 --durations=25

# not part of make test: T3's mixed load for CATALOGUE_LOAD_SECONDS (default 600) alone, so that
# its figures mean something (report: build/soak/report.md, .json); then, two at a time, the
# delivery tests at full size (1,000 events for 500 keys, 100 crashes), the concurrency tests
# (T2 at 50 rounds), the fault tests, schemathesis at 50 examples per operation and mode, the
# mass-assignment and SSRF walks at 25
soak: $(VENV)/.installed
	@status=0; \
	echo "make soak: T3 mixed load for $${CATALOGUE_LOAD_SECONDS:-600} s"; \
	CATALOGUE_SOAK=1 CATALOGUE_LOAD_SECONDS=$${CATALOGUE_LOAD_SECONDS:-600} $(VENV)/bin/pytest -q -s --timeout 1800 \
	  tests/e2e/test_mixed_load.py || status=1; \
	CATALOGUE_SOAK=1 $(VENV)/bin/pytest -n 2 --timeout 1800 --durations=10 tests/e2e/test_ingest_delivery.py \
	  tests/e2e/test_concurrency.py tests/e2e/test_concurrency_records.py tests/e2e/test_faults.py \
	  tests/functional/test_schemathesis.py tests/functional/test_mass_assignment.py tests/functional/test_ssrf.py \
	  || status=1; \
	echo "make soak: the report is build/soak/report.md (all figures and RSS samples: build/soak/report.json)"; \
	exit $$status

bench: $(VENV)/.installed
	$(PY) bench/run.py $(BENCH_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy chalicelib app.py infra client/src

fmt: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf .local-stack .pytest_cache .mypy_cache .ruff_cache .hypothesis .schemathesis build *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(SCAN_VENV)

# --- AWS (issue 8): the CDK app in infra/ (cdk.json, cdk_app.py, stacks/) -------------------
# `make synth` needs no AWS account: a dummy region (context "region") and PyPI for packaging.
.PHONY: synth deploy
STAGE ?= dev
CDK_CLI ?= aws-cdk@2

synth: $(VENV)/.installed
	cd infra && $(abspath $(PY)) cdk_app.py -c stage=$(STAGE)

deploy: $(VENV)/.installed
	@echo "deploying stage $(STAGE) with the account and region of your AWS credentials (bootstrap once: npx $(CDK_CLI) bootstrap)"
	cd infra && npx --yes $(CDK_CLI) deploy -c stage=$(STAGE)
