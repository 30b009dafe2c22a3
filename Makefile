# caseshare: `make run` sets up and serves http://127.0.0.1:8000 (SQLite file, demo agency); `make test` sets up and runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# make run HOST=0.0.0.0 PORT=8001 DATABASE=other.db (a file) or DATABASE=postgresql://…
HOST     ?= 127.0.0.1
PORT     ?= 8000
DATABASE ?= caseshare.db
DATABASE_URL = $(if $(findstring ://,$(DATABASE)),$(DATABASE),sqlite:///$(DATABASE))

.PHONY: setup run test lint typecheck unit bench bench-peers clean lock peers-lock browser screenshots

setup: $(STAMP)

# Reinstall only when the lock or the project metadata changed: a no-op setup takes well under a second.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: setup
	$(BIN)/caseshare serve --database "$(DATABASE_URL)" --host "$(HOST)" --port "$(PORT)" --demo

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

# CI runs the browser tests, never skips them: it installs Debian's chromium when it is missing
# (CI runs as root); tests/browser then fail, not skip, if a browser still cannot start.
browser:
	@if [ "$$CI" = "true" ] && [ -z "$$CASESHARE_CHROMIUM" ] && ! command -v chromium >/dev/null; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	fi

# Two pytest workers (pytest-xdist), a test file per worker at a time: CI's machine has 2 cores and
# the suite waits on servers and browsers much of the time. TEST_JOBS=0 runs in one process.
TEST_JOBS ?= 2
unit: setup browser
	$(BIN)/python -m pytest -q $(if $(filter 0,$(TEST_JOBS)),,-n $(TEST_JOBS) --dist loadfile)

test: lint typecheck unit

# Photograph every screen of docs/ui.md from a fresh demo into docs/ui/ (Playwright, Debian chromium).
screenshots: setup browser
	$(BIN)/python -m tests.browser.screenshots

bench: setup
	$(BIN)/caseshare bench --size S --store sqlite

# caseshare beside Cedar, Casbin and django-guardian (docs/benchmarks.md): a venv of its own from
# its own hashed lock, never installed by setup or test. PEERS_ARGS="--size XS --budget 5" for a quick run.
PEERS       := .venv-peers
PEERS_STAMP := $(PEERS)/.installed
PEERS_ARGS  ?= --size S

$(PEERS_STAMP): bench/peers/requirements.lock pyproject.toml
	test -x $(PEERS)/bin/python || $(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r bench/peers/requirements.lock
	$(PEERS)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(PEERS_STAMP)

bench-peers: $(PEERS_STAMP)
	$(PEERS)/bin/python -m bench.peers $(PEERS_ARGS)

# Regenerate the hashed lock (needs uv on the developer's machine; never run by CI).
lock:
	uv pip compile pyproject.toml build-requirements.in --extra dev --generate-hashes \
		--python-version 3.11 --no-header -o requirements.lock

# The peers' lock: caseshare's own pins (-c requirements.lock) plus the peer engines.
peers-lock:
	uv pip compile pyproject.toml build-requirements.in bench/peers/requirements.in \
		-c requirements.lock --generate-hashes --python-version 3.11 --no-header \
		-o bench/peers/requirements.lock

clean:
	rm -rf $(VENV) $(PEERS) caseshare.db .pytest_cache .mypy_cache .ruff_cache
