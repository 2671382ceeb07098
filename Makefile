# PICO Eval — `make demo` sets up and serves the demo study; `make test` sets up and runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# pip's notes about this machine's unused local index folders are noise here.
PIP_QUIET := 2>&1 | { grep -v '^WARNING: Location' || true; }
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo serve test test-fast lint format bench venv dev-venv system-deps migrations-check clean

# The runtime (requirements.txt) for demo and serve; the test, lint and load tools on top
# (requirements-dev.txt) for test, test-fast, lint, format and bench (locust, for bench_load.py).
venv: $(STAMP)
dev-venv: $(DEV_STAMP)

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "PICO Eval needs Python 3.11; set PYTHON=/path/to/python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip $(PIP_QUIET)
	$(PY) -m pip install --quiet -r requirements.txt $(PIP_QUIET)
	@touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt $(PIP_QUIET)
	@touch $(DEV_STAMP)

# Debian packages listed in debian-packages.txt (Chromium for browser tests, codec tools):
# installed when running as root, otherwise the exact command is printed.
system-deps:
	@missing=$$(for p in $$(grep -v '^#' debian-packages.txt); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing Debian packages. Run:  sudo apt-get install -y $$missing"; exit 1; \
	  fi; \
	fi

demo: export SITE_URL ?= http://$(HOST):$(PORT)
demo: venv system-deps
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py demo
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl-C stops the site and the background workers)"
	@# One worker per queue (evalsite/settings.py TASK_QUEUES): generation never waits behind a report.
	@workers=""; for queue in generation reports design; do \
	  DEBUG=1 $(PY) manage.py run_worker $$queue & workers="$$workers $$!"; \
	done; \
	trap 'kill $$workers 2>/dev/null' EXIT INT TERM; \
	DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

# Production on this machine: PostgreSQL (when root), gunicorn, whitenoise and one background
# worker per queue, in the foreground (evalsite/deploy/serve.sh; docs/configuration.md).
serve: venv system-deps
	HOST=$(HOST) PORT=$(PORT) evalsite/deploy/serve.sh

test: dev-venv system-deps lint migrations-check
	$(PY) -m pytest -m "not gpu" $(PYTEST_ARGS)

# The inner loop: no slow, browser or GPU tests, stopping at the first failure.
test-fast: dev-venv
	$(PY) -m pytest -x -m "not slow and not browser and not gpu" $(PYTEST_ARGS)

# Style, formatting, the import contracts in .importlinter, and types (mypy reads
# [tool.mypy] in pyproject.toml; its Django plugin imports the settings, hence DEBUG=1).
lint: dev-venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DEBUG=1 $(VENV)/bin/mypy

format: dev-venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations-check: venv
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

bench: dev-venv system-deps
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) var artifacts .pytest_cache .ruff_cache .mypy_cache
