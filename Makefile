# courtfeed: every entry point a newcomer needs. Each target creates .venv itself.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: bytecode run stop test test-unit stack-test fault-test bench bench-burst check lint docs format lock venv system-deps airflow-settings clean

# --compile-bytecode: uv, unlike pip, installs no .pyc files, and where PYTHONDONTWRITEBYTECODE
# is set (as on these machines) none are ever written, so every Airflow process, task and DAG
# parse compiled Airflow and its libraries from source again (the 3 shipped profiles parsed in
# about twice the CPU time).
$(STAMP): requirements.txt pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode -r requirements.txt
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

# Every entry point starts here: the venv, then the .pyc of the project's own code, which is
# installed editable (only changed files are compiled again).
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q plugins dags

system-deps:
	@bash scripts/install-system-deps.sh

## run: the quickstart: Airflow standalone (SQLite) + a local SFTP endpoint over include/demo
run: bytecode
	@bash scripts/run_demo.sh

## stop: stop everything `make run` started
stop:
	@bash scripts/stop_demo.sh

## test: every test, with the real services it starts (sshd, PostgreSQL, SeaweedFS, SMTP, Chromium,
## Airflow, a Docker engine), the live fault matrix and the Docker stack included. tests/deploy and
## tests/e2e run beside the rest (scripts/run_tests.sh); the slowest tests are listed for each half.
test: bytecode system-deps
	PYTEST_ARGS="$(PYTEST_ARGS)" bash scripts/run_tests.sh

## fault-test: only the live fault matrix: SIGKILL of each stage, PostgreSQL restarted, sshd stopped
fault-test: bytecode system-deps
	$(BIN)/python -m pytest -q -m fault_matrix $(PYTEST_ARGS)

## stack-test: Docker engine + images on a local Debian base + docker-compose up (CeleryExecutor, two
## workers, hosted SFTP), real traffic, a worker killed mid-load, teardown. Images cached in .run/stack
stack-test: bytecode system-deps
	PATH=$(CURDIR)/$(BIN):$$PATH timeout 1500 $(BIN)/python -m pytest -q -s -m stack tests/deploy

## test-unit: only the tests that need no service
test-unit: bytecode
	$(BIN)/python -m pytest -q -m "not integration and not e2e" $(PYTEST_ARGS)

# The peer make bench measures beside courtfeed (dlt) in a venv of its own, built once from its
# exact pins and kept: nothing of it reaches .venv.
DLT_VENV := .run/bench/dlt-venv
DLT_STAMP := $(DLT_VENV)/.installed
$(DLT_STAMP): bench/dlt-requirements.txt $(STAMP)
	@test -x $(DLT_VENV)/bin/python || $(PYTHON) -m venv $(DLT_VENV)
	$(BIN)/uv pip sync --python $(DLT_VENV)/bin/python --quiet --compile-bytecode bench/dlt-requirements.txt
	@touch $@

## bench: 1M rows from SFTP to PostgreSQL through the stage functions beside the raw floor (sftp get + psql \copy), the schema floor and dlt; peak RSS at 500k and 5M rows; courtfeed ingest of 3M ragged lines; each figure beside its goal
bench: bytecode system-deps $(DLT_STAMP)
	$(BIN)/python -m bench.run

## bench-burst: N small files over M profiles dropped at once into the quickstart (ARGS=--stack: the compose stack), beside Airflow's empty-task floor; ARGS="--files 200 --profiles 20"
bench-burst: bytecode system-deps
	$(BIN)/python -m bench.burst $(ARGS)

## check: validate every profile and template
check: $(STAMP)
	$(BIN)/courtfeed check

## lint: ruff (style, imports, bugs), mypy (types) over the engine, the packages' floors (docs/architecture.md), module and function sizes (scripts/check_sizes.py)
## and the Prometheus alert rules (promtool, from the Debian package prometheus: hence system-deps)
lint: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python scripts/module_graph.py --check
	$(BIN)/python scripts/check_sizes.py
	promtool check rules deploy/prometheus/courtfeed-rules.yml

## docs: redraw the package graph in docs/architecture.md from the imports
docs: $(STAMP)
	$(BIN)/python scripts/module_graph.py --write

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## lock: re-resolve requirements.in into the exact pins of requirements.txt
lock:
	$(BIN)/uv pip compile --python-version 3.11 requirements.in -o requirements.txt

## airflow-settings: import airflow_settings.yaml (connections, variables, pools) into the Airflow of AIRFLOW_HOME
airflow-settings: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python scripts/import_airflow_settings.py airflow_settings.yaml

clean: stop
	rm -rf .run
