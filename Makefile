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

.PHONY: help install install-run run test check fmt bench soak restore-drill cluster cluster-soak cluster-tools fuzz hostile-files chromium rabbitmq softhsm2 static clean messages

help:
	@echo "make run    - serve One Door with demo data on http://127.0.0.1:8000"
	@echo "make test   - run the whole test suite (PostgreSQL and Redis on 127.0.0.1)"
	@echo "make check  - ruff, format, local dates, mypy, makemigrations --check, check --deploy"
	@echo "make bench  - benchmarks on the real stack (not part of make test); see docs/benchmarks.md"
	@echo "make fuzz   - deeper API fuzzing (FUZZ_EXAMPLES per operation and actor, default 50; STATEFUL_EXAMPLES chains, default 100)"
	@echo "make soak   - chaos soak on a throwaway stack (SOAK_SECONDS, default 600); see docs/hardening.md"
	@echo "make cluster - One Door as seven hosts in network namespaces behind HAProxy, until Ctrl-C (root)"
	@echo "make cluster-soak - the chaos soak on that cluster (CLUSTER_SECONDS, default 600); see docs/hardening.md"
	@echo "make restore-drill - base backup under load, point-in-time restore, verify_audit; RPO/RTO in var/restore-drill"
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

static/build/.built: node_modules/.installed static/src/onedoor.scss static/css/route_diagram.css frontend/build.mjs
	node frontend/build.mjs
	touch $@

static: static/build/.built

chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# softhsm2: the PKCS#11 token the signing tests keep department keys on (docs/certificates.md).
softhsm2:
	@command -v softhsm2-util >/dev/null 2>&1 || { echo "Installing softhsm2 for the signing tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq softhsm2 >/dev/null; }

install-run: $(VENV)/.base-installed static
	@mkdir -p var/staticfiles

# The engine's fault tests also run on RabbitMQ (a throwaway virtual host made with rabbitmqctl).
rabbitmq:
	@command -v rabbitmqctl >/dev/null 2>&1 || { echo "Installing rabbitmq-server for the RabbitMQ fault tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq rabbitmq-server >/dev/null; }

install: $(VENV)/.dev-installed static chromium softhsm2 rabbitmq
	@mkdir -p var/staticfiles

run: install-run
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_holidays
	$(PY) manage.py seed_demo
	@bash bin/serve

test: install
	@DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m tests.preflight --rabbitmq
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) PORTAL_ENV=test \
	  $(PY) -m pytest $(PYTEST_ARGS)

check: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) bin/check_local_dates.py
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy lib accounts services documents workflows appointments payments portal
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
# operation and actor; writes var/fuzz/summary.json. Then the stateful phase: STATEFUL_EXAMPLES
# chains of up to STATEFUL_STEPS calls along the schema's links per actor; writes
# var/fuzz/stateful.json. (make test runs the same with 3 and 15.)
FUZZ_EXAMPLES ?= 50
STATEFUL_EXAMPLES ?= 100
STATEFUL_STEPS ?= 10
fuzz: $(VENV)/.dev-installed
	@DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m tests.preflight
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) PORTAL_ENV=test FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
	  STATEFUL_EXAMPLES=$(STATEFUL_EXAMPLES) STATEFUL_STEPS=$(STATEFUL_STEPS) \
	  $(PY) -m pytest tests/test_api_fuzz.py tests/test_api_stateful.py $(PYTEST_ARGS)
	@cat var/fuzz/summary.json var/fuzz/stateful.json

# The chaos soak (soak/run.py): its own throwaway PostgreSQL cluster, Redis, gunicorn, Celery
# worker and beat under var/soak; faults injected for SOAK_SECONDS; writes var/soak/results.json
# and fails when anything was lost or done twice. Needs PostgreSQL's server binaries (initdb).
SOAK_SECONDS ?= 600
CLUSTER_SECONDS ?= 600
soak: $(VENV)/.dev-installed
	@mkdir -p var/soak
	@test -x /usr/lib/postgresql/15/bin/initdb || [ -n "$$SOAK_PG_BIN" ] || { echo "Installing PostgreSQL server binaries for the throwaway cluster"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql-15 >/dev/null; }
	@command -v redis-server >/dev/null 2>&1 || { echo "Installing redis-server"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq redis-server >/dev/null; }
	SOAK_SECONDS=$(SOAK_SECONDS) $(PY) -m soak.run

# One Door on several hosts (soak/cluster.py): network namespaces on a loopback-range bridge,
# PostgreSQL with a synchronous streaming replica, Redis, two web hosts behind HAProxy, two
# worker hosts; `cluster` holds it up until Ctrl-C, `cluster-soak` drives it through faults and
# writes var/cluster/results.json. Needs root (ip netns) and PostgreSQL's server binaries.
cluster-tools:
	@test -x /usr/lib/postgresql/15/bin/initdb || { echo "Installing PostgreSQL server binaries"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql-15 >/dev/null; }
	@command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || { echo "Installing haproxy"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq haproxy >/dev/null; }
	@command -v redis-server >/dev/null 2>&1 || { echo "Installing redis-server"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq redis-server >/dev/null; }

cluster: $(VENV)/.dev-installed cluster-tools
	$(PY) -m soak.cluster --hold

cluster-soak: $(VENV)/.dev-installed cluster-tools
	CLUSTER_SECONDS=$(CLUSTER_SECONDS) $(PY) -m soak.cluster

# The backup and restore drill (soak/restore_drill.py): a throwaway PostgreSQL cluster archiving its
# WAL under var/restore-drill, a base backup taken while citizens apply, a point-in-time restore
# into another throwaway cluster, verify_audit on it, every submission accepted before the target
# checked; writes var/restore-drill/results.json (RPO, RTO). DRILL_SECONDS of load, default 120.
DRILL_SECONDS ?= 120
restore-drill: $(VENV)/.dev-installed
	@test -x /usr/lib/postgresql/15/bin/pg_basebackup || { echo "Installing PostgreSQL server binaries for the throwaway clusters"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql-15 >/dev/null; }
	@command -v redis-server >/dev/null 2>&1 || { echo "Installing redis-server"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq redis-server >/dev/null; }
	DRILL_SECONDS=$(DRILL_SECONDS) $(PY) -m soak.restore_drill

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
