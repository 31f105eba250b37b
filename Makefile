# Esep: `make run` starts the system with demo data; `make test` runs the test suite.
# Everything (virtualenv, PostgreSQL cluster, Redis) is private to this checkout: .venv/ and var/.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements.stamp
ARGS ?=

# playwright (Python) drives Debian's /usr/bin/chromium; it must never download a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.DEFAULT_GOAL := help
.PHONY: help venv packages services migrate messages run test bench lint stop status

help:
	@echo "make run      system with demo data at http://127.0.0.1:8000/ (logins are printed)"
	@echo "make test     test suite (ARGS=\"-k foo\" passes arguments to pytest)"
	@echo "make bench    benchmark (results in BENCHMARKS.md)"
	@echo "make lint     ruff check"
	@echo "make migrate  apply migrations      make messages  compile translations"
	@echo "make services start PostgreSQL and Redis under var/   make stop  stop everything"
	@echo "make status   what is running"

venv: $(STAMP)

# Reinstall only when requirements.txt is newer than the stamp (or .venv is missing).
$(STAMP): requirements.txt
	@test -x $(PY) || { echo "creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	@touch $@

packages:
	@bash scripts/ensure-system-packages.sh

services: packages
	@bash scripts/services.sh start

migrate: venv services
	$(PY) manage.py migrate --noinput

# Compile .po files if there are any (compilemessages walks the tree: skip .venv and var).
messages: venv
	@if find . -path ./.venv -prune -o -path ./var -prune -o -name '*.po' -print -quit | grep -q .; then \
		$(PY) manage.py compilemessages --ignore=.venv --ignore=var --ignore=node_modules; \
	fi

run: venv services messages
	@bash scripts/run.sh

test: venv services messages
	$(PY) -m pytest $(ARGS)

# The ledger benchmark, then each sub-ledger's (each writes its own section of BENCHMARKS.md).
SUB_BENCHES := financing payroll inventory devices reporting dwh_export
bench: venv services
	$(PY) -m bench $(ARGS)
	@for b in $(SUB_BENCHES); do echo "== bench.$$b"; $(PY) -m bench.$$b || exit 1; done

lint: venv
	$(PY) -m ruff check .

# Stops web/worker/beat left over from a killed `make run`, then PostgreSQL and Redis.
stop:
	@bash scripts/run.sh stop
	@bash scripts/services.sh stop

status:
	@bash scripts/services.sh status
