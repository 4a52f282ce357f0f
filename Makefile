# Two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 5000
PYTHON ?= python3

.PHONY: run test deps vnu bench load crash fuzz seed lint clean messages translations lighthouse

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.run-installed

## Install into .venv and serve the app on http://127.0.0.1:$(PORT) (the /setup link asks the organisation's name)
# The one-time setup link (none once an administrator exists) is made first, so the server does not print its own,
# and shown last, set apart, once the server answers: never lost in the install's or the server's output.
run: $(VENV)/.run-installed
	@$(VENV)/bin/flask --app app db migrate
	@link="$$(PORT=$(PORT) $(VENV)/bin/flask --app app users setup-link 2>/dev/null | sed -n 's/^Open //p')"; \
	$(VENV)/bin/flask --app app run --host 127.0.0.1 --port $(PORT) & server=$$!; \
	trap 'kill $$server 2>/dev/null' INT TERM EXIT; \
	if [ -n "$$link" ]; then \
	  for i in $$(seq 100); do $(PY) -c "import socket; socket.create_connection(('127.0.0.1', $(PORT)), 1)" \
	    2>/dev/null && break; sleep 0.2; done; \
	  printf '\n  ------------------------------------------------------------\n  %s\n  Open this link in a browser on this machine to create the first administrator (it works once).\n  ------------------------------------------------------------\n\n' "$$link"; \
	fi; \
	wait $$server

## Install the test dependencies (and Debian packages when root) and run every test
test: $(VENV)/.test-installed deps vnu
	$(PY) -m pytest

deps:
	@scripts/system-deps.sh

## The W3C Nu HTML Checker from npm into the gitignored .vnu folder (tests/test_w3c.py; Java comes from `deps`)
vnu:
	@if [ -f .vnu/node_modules/vnu-jar/build/dist/vnu.jar ]; then :; \
	elif command -v npm >/dev/null; then mkdir -p .vnu && cd .vnu && \
	  { [ -f package.json ] || echo '{"private": true}' > package.json; } && npm install -s --no-audit --no-fund vnu-jar; \
	else echo "npm not found: the HTML checker's test is skipped" >&2; fi

## Lighthouse from npm into the gitignored .lighthouse folder (the run-screen benchmark skips its scores without it)
lighthouse:
	@if [ -x .lighthouse/node_modules/.bin/lighthouse ]; then :; \
	elif command -v npm >/dev/null; then mkdir -p .lighthouse && cd .lighthouse && \
	  { [ -f package.json ] || echo '{"private": true}' > package.json; } && npm install -s --no-audit --no-fund lighthouse; \
	else echo "npm not found: Lighthouse scores are left out of the benchmark"; fi

## Print the benchmark table
bench: $(VENV)/.test-installed deps lighthouse
	$(PY) -m benchmarks

## Load test: 500 simulated phones against gunicorn on loopback for 60 s, then a ramp to find the saturation point
load: $(VENV)/.test-installed
	$(PY) -m benchmarks.load --devices 500 --seconds 60 --ramp

## Crash test: SIGKILL the server while a client streams events; every acknowledged event survives
crash: $(VENV)/.test-installed
	$(PY) -m pytest tests/test_crash.py -q

## Fuzzing: schemathesis against /api/v1/openapi.json signed in, and hypothesis on the loader and validator
fuzz: $(VENV)/.test-installed
	$(PY) -m pytest tests/test_api_fuzz.py tests/test_protocol_loader.py tests/test_run_core.py -q

.PHONY: mutate
## Mutation testing (mutmut, about 10 minutes): killed / survived mutants and kill rate per trusted module
mutate: $(VENV)/.test-installed
	$(PY) scripts/mutate.py

## Build the cached benchmark database (100,000 runs, 5 million events) under bench-out/
seed: $(VENV)/.test-installed
	$(PY) -m benchmarks.seed

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check donoharm tests

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

## Interface catalogues: extract every marked string into messages.pot and merge it into each language's .po
LOCALES := es fr km th
CATALOGUES := donoharm/translations
messages: $(VENV)/.run-installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --sort-by-file --project "Do No Harm" \
		--copyright-holder "Do No Harm contributors" --msgid-bugs-address "" -o $(CATALOGUES)/messages.pot .
	@for l in $(LOCALES); do \
		if [ -f $(CATALOGUES)/$$l/LC_MESSAGES/messages.po ]; then \
			$(VENV)/bin/pybabel update -i $(CATALOGUES)/messages.pot -d $(CATALOGUES) -l $$l --ignore-obsolete --no-fuzzy-matching; \
		else $(VENV)/bin/pybabel init -i $(CATALOGUES)/messages.pot -d $(CATALOGUES) -l $$l; fi; \
	done
	$(MAKE) translations

## Compile the .po catalogues into the .mo files the app reads (committed, so a fresh clone needs no step)
translations: $(VENV)/.run-installed
	$(VENV)/bin/pybabel compile -d $(CATALOGUES) --statistics
