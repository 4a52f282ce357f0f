# Two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 5000
PYTHON ?= python3

.PHONY: run test deps bench load lint clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.run-installed

## Install into .venv and serve the app on http://127.0.0.1:$(PORT)
run: $(VENV)/.run-installed
	$(VENV)/bin/flask --app app run --host 127.0.0.1 --port $(PORT)

## Install the test dependencies (and Debian packages when root) and run every test
test: $(VENV)/.test-installed deps
	$(PY) -m pytest

deps:
	@scripts/system-deps.sh

## Print the benchmark table
bench: $(VENV)/.test-installed deps
	$(PY) -m benchmarks

## Load test: 50 simulated phones against gunicorn on loopback for 60 s
load: $(VENV)/.test-installed
	$(PY) -m benchmarks.load --devices 50 --seconds 60

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check donoharm tests

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
