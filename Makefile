# Potluck: `make run` serves the app, `make test` runs every check. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export DJANGO_SETTINGS_MODULE ?= server.settings.local
SPA_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/index.html frontend/vite.config.ts frontend/package-lock.json frontend/tsconfig.json

.PHONY: run test install lint types pytest spa-test e2e spa migrate clean bench

run: install spa migrate
	$(PY) scripts/run.py

install: $(VENV)/.installed frontend/node_modules/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Potluck needs Python 3.11 or newer ($(PYTHON) is older)."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	touch $@

frontend/node_modules/.installed: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

spa: frontend/dist/index.html

frontend/dist/index.html: frontend/node_modules/.installed $(SPA_SOURCES)
	cd frontend && npm run build

migrate: $(VENV)/.installed
	$(PY) manage.py migrate --noinput

lint: $(VENV)/.installed frontend/node_modules/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	cd frontend && npm run lint

types: $(VENV)/.installed frontend/node_modules/.installed
	$(VENV)/bin/mypy .
	cd frontend && npm run typecheck

pytest: $(VENV)/.installed
	DJANGO_SETTINGS_MODULE=server.settings.test $(VENV)/bin/pytest -m "not e2e" $(PYTEST_ARGS)

spa-test: frontend/node_modules/.installed
	cd frontend && npm test

e2e: $(VENV)/.installed spa
	DJANGO_SETTINGS_MODULE=server.settings.test $(VENV)/bin/pytest -m e2e $(PYTEST_ARGS)

test: lint types pytest spa-test e2e

# Benchmarks want Postgres and Redis: set DATABASE_URL and REDIS_URL (see README "Benchmarks").
bench: install spa
	$(PY) -m bench.chat_streams --n 1,50,200
	$(PY) -m bench.gateway_overhead

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist staticfiles
