# DynamoDB Streams + Lambda replication lab. Main commands: `make e2e` and `make test`.
# Every target that needs tools depends on `setup`, which is idempotent and fast when cached.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

VENV        := .venv
PY          := $(VENV)/bin/python
ZIP         := dist/ddbreplica_lambda.zip
LAMBDA_SRC  := lambda_src/ddbreplica_lambda.py lambda_src/lab_config.py lambda_src/replica_targets.py
# The serverless backfill's function (backfill_mode = "serverless"): the ddb-replica code it runs, as the
# package ddb_replica, beside the handler's modules it imports. No cli.py or window.py: the CLI's alone.
BACKFILL_ZIP := dist/ddb_replica_backfill.zip
BACKFILL_SRC := $(addprefix loader/ddb_replica/,__init__.py backfill.py backfill_function.py copying.py items.py \
                  scanning.py segment_store.py settle.py tables.py writes.py)
CSV         ?= ./data/logfile_stream.csv
KEEP        ?= 0
export AWS_ENDPOINT_URL ?= http://127.0.0.1:4566
# Written by `make setup`: TF (terraform or tofu, one variable for everything downstream),
# TF_CLI_CONFIG_FILE (the provider mirror; absent with OFFLINE=0), CHECKOV, TERRAFORM_DOCS.
# On a fresh clone make builds it first (running setup), then restarts with the values.
-include build/setup.env
export TF TF_CMD TF_CLI_CONFIG_FILE TOFU

# Only the e2e tier here: a fresh clone's `make e2e` must not need what only the tests use; `setup` (the full
# tier) adds it, after make has read this file: so the recipes that use the full tier's tools read their paths
# from it when they run (checkov_now, terraform_docs_now), and pytest reads the file itself.
build/setup.env: tools/setup.sh tools/versions.env
	@SETUP_TIER=e2e tools/setup.sh

checkov_now        = $$(sed -n 's/^CHECKOV=//p' build/setup.env)
terraform_docs_now = $$(sed -n 's/^TERRAFORM_DOCS=//p' build/setup.env)

.PHONY: build setup setup-e2e test test-fast test-unit lint lint-python tf-fmt tf-static policy-lint docs e2e bench localstack-up localstack-down clean

build: $(ZIP) $(BACKFILL_ZIP) ## Build the Lambda zips (deterministic)

$(ZIP): $(LAMBDA_SRC) tools/build_zip.py
	python3 tools/build_zip.py $@ $(LAMBDA_SRC)

$(BACKFILL_ZIP): $(LAMBDA_SRC) $(BACKFILL_SRC) tools/build_zip.py
	python3 tools/build_zip.py $@ $(LAMBDA_SRC) $(foreach f,$(BACKFILL_SRC),ddb_replica/$(notdir $(f))=$(f))

setup: ## Install/build everything the tests need (idempotent; ~1 h the first time for the AWS provider, seconds after)
	@tools/setup.sh

setup-e2e: ## Install/build only what make e2e needs (no OpenTofu build, checkov or terraform-docs)
	@SETUP_TIER=e2e tools/setup.sh

# The checks run side by side (2 cores; each mostly one process); --output-sync keeps each one's output whole.
LINT_CHECKS := lint-python tf-fmt tf-static
lint: setup ## ruff, mypy, terraform fmt, checkov, parliament on the rendered IAM policies, terraform-docs up to date
	$(MAKE) --no-print-directory -j3 --output-sync=target $(LINT_CHECKS) policy-lint

lint-python: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Every IAM policy the modules' rendering tests apply (mock providers), linted by parliament: zero findings, or
# each explained next to its statement (EXPLAINED in tools/policy_lint.py).
policy-lint: setup
	$(PY) tools/policy_lint.py

tf-fmt: setup
	$(TF) fmt -check -recursive modules examples tests

# checkov exits 0 when it cannot parse a file, and checks nothing in it: a parse error fails here instead.
tf-static: setup
	@out=$$($(checkov_now) --quiet --compact --skip-download --framework terraform -d modules/dynamodb-stream-replica -d modules/dynamodb-table -d modules/replica-target -d modules/serverless-backfill -d modules/replication-alarms -d examples/workshop -d examples/complete -d examples/multi-region) \
	  || { echo "$$out"; exit 1; }; \
	echo "$$out"; \
	if grep -q 'Parsing errors' <<<"$$out"; then \
	  echo "error: checkov could not parse a file (it then checks nothing in it); run it without --quiet --compact to see which, and fix its syntax" >&2; exit 1; \
	fi
	$(MAKE) --no-print-directory docs DOCS_MODE=--output-check

DOCS_MODE ?=
docs: setup ## Regenerate the Inputs/Outputs tables of the module and example READMEs (terraform-docs)
	for dir in modules/dynamodb-stream-replica modules/dynamodb-table modules/replica-target modules/serverless-backfill modules/replication-alarms examples/workshop examples/complete examples/multi-region; do \
	  $(terraform_docs_now) markdown table --lockfile=false --output-file README.md --output-mode inject $(DOCS_MODE) $$dir; \
	done

# Tests run in parallel workers (pytest-xdist): most of the LocalStack and Terraform time is waiting (the AWS
# provider's SQS waiters, polling), which overlaps with the CPU-bound unit tests. loadgroup keeps each
# xdist_group (one apply/destroy cycle) on one worker. The budget is suite_budget_seconds in pyproject.toml.
PYTEST_WORKERS ?= 5
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadgroup --durations=25

# make lint, with its parliament check read by pytest from the module tests' own Terraform run
# (tests/terraform/test_terraform.py: test_module_terraform_test), beside the other tests.
test: setup build ## All tests: lint, unit (moto), Terraform tests, LocalStack integration and e2e, within budget
	@date +%s.%N >build/make-test.started
	$(MAKE) --no-print-directory -j3 --output-sync=target $(LINT_CHECKS)
	@started=$$(cat build/make-test.started); status=0; \
	MAKE_TEST_STARTED=$$started $(PY) -m pytest $(PYTEST_PARALLEL) || status=$$?; \
	total=$$(LC_ALL=C awk -v start="$$started" -v end="$$(date +%s.%N)" 'BEGIN { printf "%.0f", end - start }'); \
	echo "make test: $$total s in all (lint, then pytest: phases above); exit $$status"; \
	exit $$status

test-fast: setup build ## Unit and Terraform tests without LocalStack, in parallel (the edit loop, about 3 min)
	$(PY) -m pytest -n 2 --dist loadgroup --durations=10 -m "not localstack" tests/unit tests/terraform

test-unit: setup ## Unit tests only (moto, no LocalStack)
	$(PY) -m pytest tests/unit

EXAMPLE     ?= workshop
e2e: setup-e2e build ## The whole lab on LocalStack: apply, load, converge, verify, destroy (EXAMPLE=multi-region: two regions, two accounts)
	$(PY) tools/e2e.py --example "$(EXAMPLE)" --csv "$(CSV)" $(if $(filter 1,$(KEEP)),--keep,)

bench: setup build ## Benchmarks with side-by-side baselines -> bench/results.{json,md,png}
	$(PY) bench/run.py

localstack-up: setup-e2e ## Start LocalStack on 127.0.0.1:4566 unless one already answers
	@tools/localstack.sh up

localstack-down: ## Stop the LocalStack started by localstack-up (never a foreign one)
	@tools/localstack.sh down

clean: ## Remove build outputs (not the caches)
	rm -rf dist build .pytest_cache .mypy_cache .ruff_cache
