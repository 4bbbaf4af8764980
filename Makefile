# One Door — every entry point a developer or CI needs.
#   make run    install what is missing, migrate, load the demo, serve on http://127.0.0.1:8000
#   make test   install what is missing, run the whole suite on PostgreSQL and Redis
#   make check  lint, format, types, migrations, deploy checks
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: help install install-run run test check fmt bench soak fuzz hostile-files chromium static clean messages

help:
	@echo "make run    - serve One Door with demo data on http://127.0.0.1:8000"
	@echo "make test   - run the whole test suite (PostgreSQL and Redis on 127.0.0.1)"
	@echo "make check  - ruff, format, local dates, mypy, makemigrations --check, check --deploy"
	@echo "make bench  - benchmarks on the real stack (not part of make test); see docs/benchmarks.md"
	@echo "make fuzz   - deeper API fuzzing (FUZZ_EXAMPLES per operation and actor, default 50)"
	@echo "make soak   - chaos soak on a throwaway stack (SOAK_SECONDS, default 600); see docs/hardening.md"
	@echo "make hostile-files - the hostile upload corpus against the clamd test peer (or CLAMD_SOCKET/CLAMD_HOST)"
	@echo "make messages - refresh the Chinese catalogue from the code and compile it (commit .po and .mo)"

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"

# Installs are keyed on the lock files: a changed lock reinstalls exactly what it pins.
$(VENV)/.base-installed: requirements/base.txt | $(VENV)/bin/activate
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements/base.txt
	touch $@

$(VENV)/.dev-installed: requirements/base.txt requirements/dev.txt | $(VENV)/bin/activate
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements/base.txt -r requirements/dev.txt
	touch $@ $(VENV)/.base-installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

static/build/.built: node_modules/.installed static/src/onedoor.scss frontend/build.mjs
	node frontend/build.mjs
	touch $@

static: static/build/.built

chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

install-run: $(VENV)/.base-installed static
	@mkdir -p var/staticfiles

install: $(VENV)/.dev-installed static chromium
	@mkdir -p var/staticfiles

run: install-run
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_holidays
	$(PY) manage.py seed_demo
	@bash bin/serve

test: install
	@DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m tests.preflight
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) PORTAL_ENV=test \
	  $(PY) -m pytest $(PYTEST_ARGS)

check: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) bin/check_local_dates.py
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy lib accounts services documents workflows payments portal
	$(PY) manage.py makemigrations --check --dry-run
	PORTAL_ENV=production SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') \
	  ALLOWED_HOSTS=onedoor.example DATABASE_URL=$(TEST_DATABASE_URL) CLAMD_HOST=clamav TRANSPARENCY_GENERATE_KEY=true \
	  DOCUMENT_ORIGINALS_KEYS=$$($(PY) -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
	  $(PY) manage.py check --deploy --fail-level WARNING

# The real stack (PostgreSQL, Redis, gunicorn, Celery worker + beat) started and stopped by
# bench/run.py; writes var/bench/results.json and results.md. Knobs: BENCH_SECONDS, BENCH_LEVELS, …
bench: $(VENV)/.dev-installed static
	@mkdir -p var/staticfiles var/bench
	@command -v pgbench >/dev/null 2>&1 || { echo "Installing pgbench (postgresql-client)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql-client >/dev/null; }
	$(PY) -m bench.run

# The Simplified Chinese catalogue: extract every wrapped string into locale/zh_Hans/LC_MESSAGES/django.po,
# then compile django.mo. Translate the new entries (no fuzzy left) and commit both files, so a
# fresh clone needs no gettext; portal/tests/test_translations.py fails until that is done.
messages: $(VENV)/.base-installed
	@command -v msgfmt >/dev/null 2>&1 || { echo "Installing gettext"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq gettext >/dev/null; }
	$(PY) manage.py makemessages -l zh_Hans --ignore=node_modules --ignore=.venv --ignore=var --ignore=static
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv --ignore=node_modules

# schemathesis against /api/schema/ as every standard actor, FUZZ_EXAMPLES generated requests per
# operation and actor; writes var/fuzz/summary.json. (make test runs the same with 3.)
FUZZ_EXAMPLES ?= 50
fuzz: $(VENV)/.dev-installed
	@DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m tests.preflight
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) PORTAL_ENV=test FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
	  $(PY) -m pytest tests/test_api_fuzz.py $(PYTEST_ARGS)
	@cat var/fuzz/summary.json

# The chaos soak (soak/run.py): its own throwaway PostgreSQL cluster, Redis, gunicorn, Celery
# worker and beat under var/soak; faults injected for SOAK_SECONDS; writes var/soak/results.json
# and fails when anything was lost or done twice. Needs PostgreSQL's server binaries (initdb).
SOAK_SECONDS ?= 600
soak: $(VENV)/.dev-installed
	@mkdir -p var/soak
	@test -x /usr/lib/postgresql/15/bin/initdb || [ -n "$$SOAK_PG_BIN" ] || { echo "Installing PostgreSQL server binaries for the throwaway cluster"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql-15 >/dev/null; }
	@command -v redis-server >/dev/null 2>&1 || { echo "Installing redis-server"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq redis-server >/dev/null; }
	SOAK_SECONDS=$(SOAK_SECONDS) $(PY) -m soak.run

# The hostile upload corpus (tests/corpus/) through the vault API, scanned by the clamd test peer
# that speaks clamd's INSTREAM protocol, or by a real clamd when CLAMD_SOCKET or CLAMD_HOST is set.
hostile-files: $(VENV)/.dev-installed
	@DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m tests.preflight
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) PORTAL_ENV=test \
	  $(PY) -m pytest tests/corpus documents/tests/test_antivirus.py -v $(PYTEST_ARGS)

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf var/staticfiles static/build .pytest_cache .mypy_cache .ruff_cache
