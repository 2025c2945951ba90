# siyu: two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
SIYU   := $(VENV)/bin/siyu
STAMP  := $(VENV)/.installed
DEMO   ?= data/demo
# The demo world: small enough for the whole flow in two to three minutes on 2 cores (123-138 s, median of
# 3 runs, benchmarks/bench_flow.py, load 0.4-1.6, on two days; 148-181 s in earlier runs on the same host), large enough for
# models that mean something (5,000 users: 69,000 training rows for the uplift task, 137,000 over its
# 40 campaigns); `make demo-full` runs the same flow on 20,000 users over 420 days.
DEMO_USERS ?= 5000
DEMO_DAYS  ?= 365
CONFIG ?= configs/siyu.yaml
# Most tests hold one core (pandas, Python, a CLI's imports): two processes ran the suite in 7.0 min
# against 9.8 min in one, on 2 cores.
TEST_WORKERS ?= 2
# OpenMP threads that spin while waiting make LightGBM/XGBoost 3-10x slower on a busy 2-core box.
export OMP_WAIT_POLICY := PASSIVE

.DEFAULT_GOAL := help
.PHONY: help setup demo demo-full test test-fast bench lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || (command -v $(PYTHON) >/dev/null && $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV))
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,postgres,spark]"
	$(PY) -m siyu.features.warmup
	@touch $(STAMP)

setup: $(STAMP) ## create .venv and install siyu with its test tools and the Spark engine (pyspark; Java 17 for its tests)

demo: $(STAMP) ## the main job end to end on a generated world (generate, validate, trainsets, train, promote, segment, score, contact plan, campaign readout, report, analyze)
	$(SIYU) generate --users $(DEMO_USERS) --days $(DEMO_DAYS) --seed 7 --out $(DEMO)
	$(SIYU) validate --config $(CONFIG)
	$(SIYU) trainset --config $(CONFIG) --task all
	$(SIYU) train --config $(CONFIG) --task all --model all
	$(SIYU) compare --config $(CONFIG) --task all
	$(SIYU) promote --config $(CONFIG) --task all
	$(SIYU) segment --config $(CONFIG)
	$(SIYU) score --config $(CONFIG)
	$(SIYU) target --config $(CONFIG)
	$(SIYU) experiment --config $(CONFIG) --campaign latest
	$(SIYU) tags export --config $(CONFIG) --format csv
	$(SIYU) report --config $(CONFIG) --task churn
	$(SIYU) analyze --config $(CONFIG)
	$(SIYU) report --config $(CONFIG) --kind operations

demo-full: $(STAMP) ## the same flow on the large world (20,000 users, 420 days; about 8 minutes on a quiet 2-core machine)
	$(MAKE) demo DEMO_USERS=20000 DEMO_DAYS=420

test: $(STAMP) ## run the whole test suite (CI runs this), two processes taking a folder of tests/ each at a time
	$(PY) -m pytest -q -n $(TEST_WORKERS)

test-fast: $(STAMP) ## the suite without tests marked slow
	$(PY) -m pytest -q -n $(TEST_WORKERS) -m "not slow"

bench: $(STAMP) ## run the benchmarks under benchmarks/ and print their tables
	$(PY) -m benchmarks.run_all

lint: $(STAMP) ## ruff
	$(VENV)/bin/ruff check src tests benchmarks

clean: ## remove generated data, local MLflow store and reports
	rm -rf data work mlflow.db mlartifacts models/artifacts .pytest_cache
