# prodsupport: `make run` (the app locally), `make test` (everything CI checks), `make bench`, `make build`.
# The venvs are file targets stamped on what they install from, so a second `make test` installs nothing.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

# Python 3.13, the Lambda runtime: pyenv's 3.13.0 when pyenv has it, else python3.13, else python3.
PYTHON := $(shell \
	if command -v pyenv >/dev/null 2>&1 && pyenv prefix 3.13.0 >/dev/null 2>&1; then \
		echo "$$(pyenv prefix 3.13.0)/bin/python3.13"; \
	elif command -v python3.13 >/dev/null 2>&1 && python3.13 -c '' >/dev/null 2>&1; then \
		command -v python3.13; \
	else \
		command -v python3; \
	fi)
PYTHON_BIN := $(patsubst %/,%,$(dir $(PYTHON)))

VENV := .venv
TOOLS := .venv-tools
SAM_VERSION := 1.170.0
DEV_STAMP := $(VENV)/.installed
TOOLS_STAMP := $(TOOLS)/.installed-aws-sam-cli-$(SAM_VERSION)
SAM := $(TOOLS)/bin/sam
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-checkov-$(CHECKOV_VERSION)

# sam and cfn-lint need a region even offline; no credentials are needed or read.
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: run test lint typecheck unit smoke template bench build clean test-layer holidays-table

$(DEV_STAMP): requirements-dev.txt layers/common/requirements.in layers/charts/requirements.in pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q -r requirements-dev.txt
	$(VENV)/bin/python -m pip install -q --no-deps -e .
	touch $@

# aws-sam-cli pins its own boto3, so it lives apart from the dev venv.
$(TOOLS_STAMP):
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q aws-sam-cli==$(SAM_VERSION)
	rm -f $(TOOLS)/.installed-aws-sam-cli-*
	touch $@

# checkov pins libraries that conflict with aws-sam-cli's, so it gets a venv of its own as well.
$(CHECKOV_STAMP):
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q checkov==$(CHECKOV_VERSION)
	rm -f $(CHECKOV_VENV)/.installed-checkov-*
	touch $@

run: $(DEV_STAMP)
	$(VENV)/bin/prodsupport run

# lint-imports: imports only point down, no cycles, pure models (contracts in pyproject.toml).
lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy

unit: $(DEV_STAMP)
	$(VENV)/bin/pytest

# checkov reads .checkov.yaml: every check it skips there, or in a resource's Metadata, says why.
template: $(DEV_STAMP) $(TOOLS_STAMP) $(CHECKOV_STAMP)
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint --template template.yaml
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --quiet --compact

# `make smoke STACK=<name>`: a deployed stack, checked from outside (AWS credentials, see docs/deploy.md).
# Without STACK: the same checks against the local stack on a free port, as `make test` runs them.
smoke: $(DEV_STAMP)
	$(VENV)/bin/prodsupport smoke $(if $(STACK),--stack $(STACK),--local)

test: lint typecheck unit smoke template

# The whole suite against the layer as `sam build` makes it (pruned, compiled), built for this machine's
# architecture so its compiled extensions load here; tests/layer_plugin.py fails the run if a module of a
# package the layer ships came from the dev venv instead.
LAYER_UNDER_TEST := $(CURDIR)/.aws-sam/layer-under-test
test-layer: $(DEV_STAMP)
	rm -rf $(LAYER_UNDER_TEST)
	$(MAKE) -s -C layers/common build-CommonLayer ARTIFACTS_DIR=$(LAYER_UNDER_TEST) \
		PYTHON=$(CURDIR)/$(VENV)/bin/python LAMBDA_PLATFORM=manylinux2014_$$(uname -m)
	du -sb $(LAYER_UNDER_TEST)
	PRODSUPPORT_LAYER_UNDER_TEST=$(LAYER_UNDER_TEST)/python PYTHONPATH=$(LAYER_UNDER_TEST)/python:tests \
		$(VENV)/bin/pytest -p layer_plugin -o pythonpath="$(LAYER_UNDER_TEST)/python layers/common local" $(ARGS)

# After upgrading `holidays`: rewrite the US federal holiday table the calendar reads.
holidays-table: $(DEV_STAMP)
	$(VENV)/bin/python layers/common/us_federal_holidays.py

bench: $(DEV_STAMP)
	$(VENV)/bin/python benchmarks/run.py

# BuildMethod python3.13 runs `python3.13` from PATH: put the 3.13 interpreter's directory first.
build: $(TOOLS_STAMP)
	PATH="$(PYTHON_BIN):$$PATH" $(SAM) build --template template.yaml

clean:
	rm -rf .aws-sam .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
