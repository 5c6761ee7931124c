# `make serve` and `make test` create .venv and install requirements.txt first (`make test` also
# requirements-dev.txt); `make serve` serves with gunicorn (gunicorn.conf.py) after `manage.py bootstrap`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# HOST and PORT of `make serve`: make's own (its command line, the environment), else the .env file's as
# gunicorn.conf.py reads them (gunicorn is handed these), else 127.0.0.1:8000. Read once, when serve runs.
ENV_FILE_VALUE = $(shell $(PY) -m mem0server.env_file $(1) 2>/dev/null)
HOST ?= $(eval HOST := $(or $(call ENV_FILE_VALUE,HOST),127.0.0.1))$(HOST)
PORT ?= $(eval PORT := $(or $(call ENV_FILE_VALUE,PORT),8000))$(PORT)
# Test processes for `make test` (pytest-xdist). Each test file runs whole in one of them, and
# the schema fuzzing's operations are spread one by one (conftest.py). Exit status 5, "no test collected", is
# fine when PYTEST_ARGS selects none.
# Two more than the cores: while processes wait (on a server they started, a killed worker's restart, a poll), the
# others keep the cores busy. On 2 cores, 4 processes left 56 CPU-s idle in a run where 3 left 127: 389 s of pytest
# against 412 s, the machine idle but for them, though each more process collects the suite once more (~8 CPU-s).
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 2 )))
# Python keeps the modules it compiles (__pycache__, which git ignores) unless PYTHONDONTWRITEBYTECODE is set, as
# some shells and CI machines set it. Then every process compiled every module it imported from source again:
# a Django start took 12 s of CPU instead of 5.6, and `make test` on a fresh clone 10.2 CPU-minutes instead of
# 8.7. Empty, it is unset for everything these targets run.
export PYTHONDONTWRITEBYTECODE :=

.PHONY: serve serve-prod worker test test-setup checks embedder bench lint format migrate clean stop-db test-packages old-sdk hermes pipecat

# torch, CPU build. On Linux, PyPI's torch is the CUDA build: half a gigabyte, then gigabytes of nvidia-*
# wheels. Its `+cpu` build of the same version comes from PyTorch's CPU index, which pip sees as an extra index
# for this one install (its `+cpu` version sorts above PyPI's, so it wins); the `torch==X+cpu` requirement
# rules out a CUDA build whatever else pip finds. When that index cannot be reached (offline, a firewall), a
# local +cpu wheel in pip's own configuration (find-links, an index mirror) does. macOS wheels are CPU-only.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_PIN := $(shell grep -E '^torch==' requirements.txt)
OS_NAME ?= $(shell uname -s)
TORCH_REQ := $(if $(filter Linux,$(OS_NAME)),$(TORCH_PIN)+cpu,$(TORCH_PIN))
PIP := $(PY) -m pip install --disable-pip-version-check --no-compile

# Step 1: a venv with torch's CPU build. --no-compile: Python compiles each module when it is first imported,
# instead of pip compiling all of them (most never run) at install.
$(VENV)/.torch: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "mem0server needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	@test -x $(PY) || { echo "Creating $(VENV) ..."; $(PYTHON) -m venv $(VENV); }
	@echo "Installing dependencies into $(VENV): the first time downloads a few hundred MB and takes a few minutes."
	@echo "[1/2] PyTorch, CPU build ($(TORCH_REQ)) ..."
	@if $(PY) -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/torch/", timeout=5)' \
			"$(TORCH_CPU_INDEX)" 2>/dev/null; then \
		$(PIP) --extra-index-url "$(TORCH_CPU_INDEX)" "$(TORCH_REQ)"; \
	else \
		echo "      $(TORCH_CPU_INDEX) cannot be reached; looking in pip's configured indexes and wheel folders."; \
		$(PIP) "$(TORCH_REQ)" || { echo "No $(TORCH_REQ) found: reach $(TORCH_CPU_INDEX), or point pip at a local CPU wheel (PIP_FIND_LINKS)."; exit 1; }; \
	fi
	@touch $@

# Step 2 installs with uv (pinned here; pip puts it into the venv first): it downloads and installs in
# parallel, about 20 s for requirements-dev.txt into a fresh venv where one pip run took 70 on 2 cores. uv
# trusts the platform's certificate store (a proxy's CA) but reads none of pip's configuration: where it
# cannot install (offline, a mirror or wheel folder only pip is configured for), one line says so and pip does.
# PyTorch stays with pip (step 1): uv would not look in pip's configured wheel folders for the +cpu wheel.
UV_PIN := uv==0.13.9
INSTALL_REQUIREMENTS = { $(PIP) "$(UV_PIN)" && $(VENV)/bin/uv pip install --system-certs --python $(PY) -r $(1); } \
	|| { echo "      uv could not install $(1); pip installs it instead."; $(PIP) -r $(1); }

# The server's requirements.
$(VENV)/.installed: $(VENV)/.torch requirements.txt
	@echo "[2/2] The rest of requirements.txt ..."
	@$(call INSTALL_REQUIREMENTS,requirements.txt)
	@touch $@

# Or, for `make test` and `make lint`, the server's requirements and the test and lint tools (pytest,
# schemathesis, ruff) in one run: requirements-dev.txt includes requirements.txt.
$(VENV)/.installed-dev: $(VENV)/.torch requirements.txt requirements-dev.txt
	@echo "[2/2] The rest of requirements.txt, and the test and lint tools (requirements-dev.txt) ..."
	@$(call INSTALL_REQUIREMENTS,requirements-dev.txt)
	@touch $(VENV)/.installed $@

migrate: $(VENV)/.installed
	$(PY) manage.py migrate --noinput

# The address the links `make serve` prints open: this machine's for a server bound to every interface (a browser may
# refuse http://0.0.0.0).
LINK_HOST = $(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(if $(filter ::,$(HOST)),[::1],$(HOST)))

# A port in use fails here, at once, before migrations and startup logs.
PORTCHECK = @$(PY) mem0server/portcheck.py "$(HOST)" "$(PORT)"

# A background-job worker (async adds) runs beside the server in the same command: started first, stopped
# when the server stops (Ctrl-C, or the server failing). The shell's trap does that; a worker started with
# `&` by a script ignores Ctrl-C itself, so the trap is what stops it. WORKER_CONCURRENCY and the other
# WORKER_* settings come from the environment.
WORKER := $(PY) manage.py procrastinate worker
# The job worker beside the server, started again when it ends with an error (scripts/job_worker_loop.sh: 5 s later,
# doubling up to 60 s while it keeps failing soon after its start); a signal to the loop is passed on to it.
WITH_WORKER = sh scripts/job_worker_loop.sh $(WORKER) & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM;

# gunicorn as in production (gunicorn.conf.py: workers, threads and timeouts from the environment) and a job worker
# beside it, stopped with it. More job workers, here or on other machines: `make worker`.
serve: $(VENV)/.installed
	$(PORTCHECK)
	@$(PY) manage.py bootstrap --make-jwt-secret --base-url http://$(LINK_HOST):$(PORT)
	@echo "mem0server on http://$(LINK_HOST):$(PORT) (dashboard: /dashboard/, API docs: /docs) and a job worker; Ctrl-C stops both"
	@$(WITH_WORKER) HOST=$(HOST) PORT=$(PORT) $(VENV)/bin/gunicorn --config gunicorn.conf.py

# The same, under the name it had when `make serve` ran Django's development server.
serve-prod: serve

# One more job worker alone (the database migrated already, e.g. by `make serve` elsewhere): run as many
# as needed, on any machine that reaches the same PostgreSQL (DATABASE_URL).
worker: $(VENV)/.installed
	$(WORKER)

# The official TypeScript SDK for platform_api/tests/test_sdk_typescript.py (node and npm needed); reinstalled
# when the lock file changes. npm writes node_modules/.package-lock.json on every install. Run inside the folder,
# not with --prefix: --prefix also moves npm's global configuration ($(JS_TESTS)/etc/npmrc), so a machine's own
# (a proxy's CA certificate, a registry mirror) went unread and npm retried each download for minutes.
JS_TESTS := platform_api/tests/js
$(JS_TESTS)/node_modules/.package-lock.json: $(JS_TESTS)/package.json $(JS_TESTS)/package-lock.json
	cd $(JS_TESTS) && npm ci --no-audit --no-fund

# Python clients the suite runs for real, each in its own venv under the data folder, every dependency pinned in its
# requirements file; made again when the pins change. uv makes one in about 5 s on a clean run (pip, its fallback,
# about 25 s). $(call client_venv,<venv>,<requirements>):
define client_venv
	@rm -rf $(1)
	@{ $(VENV)/bin/uv venv -q --python $(PY) $(1) \
		&& $(VENV)/bin/uv pip install -q --system-certs --python $(1)/bin/python -r $(2); } \
	|| { echo "      uv could not make $(1); pip does."; rm -rf $(1); $(PY) -m venv $(1) \
		&& $(1)/bin/python -m pip install -q --disable-pip-version-check -r $(2); }
	@touch $(1)/.installed
endef

# An older official client (platform_api/tests/test_sdk_old.py): Python mem0ai 0.1.118, the last 0.1 release, still
# pinned by framework integrations.
OLD_SDK_REQ := platform_api/tests/old_sdk/requirements-0.1.118.txt
OLD_SDK := $(or $(MEM0_DATA_DIR),data)/old-sdk/mem0ai-0.1.118
$(OLD_SDK)/.installed: $(OLD_SDK_REQ) $(VENV)/.installed-dev
	$(call client_venv,$(OLD_SDK),$(OLD_SDK_REQ))

old-sdk: $(OLD_SDK)/.installed

# Hermes Agent, whose Mem0 plugin talks to a self-hosted Mem0 server over its REST API (memories/tests/test_hermes.py).
HERMES_REQ := memories/tests/hermes/requirements-hermes-agent-0.19.0.txt
HERMES := $(or $(MEM0_DATA_DIR),data)/clients/hermes-agent-0.19.0
$(HERMES)/.installed: $(HERMES_REQ) $(VENV)/.installed-dev
	$(call client_venv,$(HERMES),$(HERMES_REQ))

hermes: $(HERMES)/.installed

# Pipecat, whose Mem0 memory service takes a Mem0 server's host (platform_api/tests/test_pipecat.py).
PIPECAT_REQ := platform_api/tests/pipecat/requirements-pipecat-ai-1.14.0.txt
PIPECAT := $(or $(MEM0_DATA_DIR),data)/clients/pipecat-ai-1.14.0
$(PIPECAT)/.installed: $(PIPECAT_REQ) $(VENV)/.installed-dev
	$(call client_venv,$(PIPECAT),$(PIPECAT_REQ))

pipecat: $(PIPECAT)/.installed

# Debian's packages the suite drives: Chromium's headless shell for the dashboard's browser tests (Playwright's own
# browser download is never used), pgbouncer for the tests of the server behind a pooler.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
test-packages:
	@(command -v chromium-headless-shell && test -x /usr/sbin/pgbouncer) >/dev/null \
		|| ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium-headless-shell pgbouncer)

# What the suite needs, three jobs at a time (the install, npm and apt side by side; the checks and the Python
# clients' venvs after the install), each output line whole: `make test` runs this first.
test-setup: checks embedder $(JS_TESTS)/node_modules/.package-lock.json test-packages old-sdk hermes pipecat

# The embedder's ONNX export (once per MEM0_MODELS_DIR), beside the checks. After the same one install as the
# checks: with `.installed` here, a fresh venv got two pip runs at once (requirements.txt and
# requirements-dev.txt), and the export could import a library the other run was replacing.
embedder: $(VENV)/.installed-dev
	@$(PY) manage.py prepare_embedder

# Lint. Django's system checks, missing migrations and the OpenAPI schema's validation are tests
# (mem0server/tests/test_project_checks.py): in the suite's processes, not a Django start-up each.
checks: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The suite and its set-up read no .env file (MEM0_ENV_FILE empty): a developer's own must not change what it tests.
test: export MEM0_ENV_FILE :=
test:
	@$(MAKE) --no-print-directory -j3 -Oline test-setup
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=15 $(PYTEST_ARGS) || [ $$? -eq 5 ]

# Not part of `make test`: a throw-away gunicorn server (as `make serve`'s, on a free port, with its own empty
# embedded PostgreSQL), bench/api_bench.py and bench/load.py against it, then bench/results/summary.md.
# The server is stopped at the end, also on failure. BENCH_ARGS="--duration 20" for a quicker run.
bench: $(VENV)/.installed
	$(PY) bench/run.py $(BENCH_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The embedded PostgreSQL keeps running between commands; this stops it. It lives in $MEM0_DATA_DIR/pg (default
# data/pg), MEM0_DATA_DIR read as mem0server/settings.py reads it: from the environment, else from the .env file.
stop-db: $(VENV)/.installed
	$(PY) -m mem0server.stop_db

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
