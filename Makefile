# Developer entry points. `make run` starts the whole catalogue locally; `make test` is what CI runs (.ci/run).

VENV ?= .venv
PY := $(VENV)/bin/python
BOOT_PYTHON := $(shell command -v python3.11 2>/dev/null || command -v python3)
# pip prints one "WARNING: Location ... is ignored" per configured index it skips; drop them.
PIP_QUIET := sed -u '/^WARNING: Location .* is ignored/d'

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

.PHONY: help install run test lint fmt clean distclean bench

help:
	@echo "make run        start the local stack (moto, osmem-server, runner, chalice local) with demo data"
	@echo "make test       lint, type-check and run every test (what .ci/run does)"
	@echo "make bench      our catalogue against dtool-lookup-server 0.18 (~10 min; BENCH_ARGS=--quick: a few)"
	@echo "make synth      the AWS CDK template, offline (STAGE=dev|prod)"
	@echo "make deploy     deploy STAGE with your AWS credentials (see README: Deploy to AWS)"
	@echo "make lint       ruff check, ruff format --check, mypy"
	@echo "make fmt        ruff format and ruff check --fix"
	@echo "make clean      remove caches and local-stack logs (keeps $(VENV))"
	@echo "make distclean  clean, and remove $(VENV)"

$(VENV)/.installed: $(wildcard requirements*.txt) pyproject.toml
	test -x $(PY) || $(BOOT_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip 2>&1 | $(PIP_QUIET)
	$(PY) -m pip install -r requirements-dev.txt 2>&1 | $(PIP_QUIET)
	$(PY) -m pip install -e . --no-deps 2>&1 | $(PIP_QUIET)
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(PY) -m infra.local.stack

test: $(VENV)/.installed
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy chalicelib app.py infra && $(VENV)/bin/pytest -n 2 --timeout 600

bench: $(VENV)/.installed
	$(PY) bench/run.py $(BENCH_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy chalicelib app.py infra

fmt: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf .local-stack .pytest_cache .mypy_cache .ruff_cache .hypothesis .schemathesis build *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)

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
