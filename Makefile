# Turnout: `make run` brings the product up on this machine; `make test` runs the suite.
# Both set everything up themselves (virtualenv, locked dependencies, database).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK_HASH := $(shell sha256sum requirements.lock | cut -c1-16)
STAMP := $(VENV)/.installed-$(LOCK_HASH)
PORT ?= 8000
DEMO_CONTACTS ?= 3000
PYTEST_ARGS ?=
# Two test processes by default (the suite is built for it: a database, queue name and
# var directory per worker; browser tests kept together on one). PYTEST_WORKERS=0 runs
# everything in one process.
PYTEST_WORKERS ?= 2

.PHONY: run test lint bench topology lock system-deps clean

$(STAMP): requirements.lock
	@bash .ci/system-deps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@rm -f $(VENV)/.installed-*
	@touch $@

system-deps:
	@bash .ci/system-deps

run: $(STAMP)
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo --if-empty --users --contacts $(DEMO_CONTACTS) --schools 120 --districts 12
	DEBUG=1 PORT=$(PORT) $(BIN)/python manage.py serve --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	DJANGO_SETTINGS_MODULE=tests.settings $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadgroup) $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

# The production shape on this machine: gunicorn workers, two queue consumers on Redis,
# PostgreSQL, the fake ESP as Mailgun (docs/deploy.md). Needs SECRET_KEY; DATABASE_URL
# and REDIS_URL default to turnout_topology and Redis db 0. TOPOLOGY_ARGS="--fresh" etc.
topology: $(STAMP)
	$(BIN)/python -m campaign.topology $(TOPOLOGY_ARGS)

# Re-pin requirements.lock after editing pyproject.toml.
lock:
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
