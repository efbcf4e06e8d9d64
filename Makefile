# supervision — the two commands of the README, and a few more.
#   make demo   installs into .venv and serves the dashboards on data/demo/ at http://127.0.0.1:8866
#   make test   installs what the tests need (Chromium, PostgreSQL, pyspark) and runs the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8866
DEMO_THERAPIST ?= T01
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test install install-test install-hub proxy chromium postgres java test-spark lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP)
install-test: $(TEST_STAMP) chromium postgres proxy java
install-hub: $(TEST_STAMP) proxy

# JupyterHub's proxy for `supervision hub`, from npm, into .venv/node (node and npm needed).
PROXY := $(VENV)/node/node_modules/.bin/configurable-http-proxy
proxy: $(PROXY)
$(PROXY): | $(BIN)/python
	@command -v npm >/dev/null || { \
	  echo "Installing Debian's nodejs and npm (for JupyterHub's proxy)…"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm >/dev/null; }
	npm install --silent --prefix $(VENV)/node configurable-http-proxy

# Two servers: every dashboard over the whole demo on PORT, and the therapist's own view
# fixed to the demo therapist $(DEMO_THERAPIST) on PORT+1 (linked from the landing page).
# Both run in the background and the shell waits for them: Ctrl+C (SIGINT to the terminal's
# group, which background jobs ignore) and a SIGTERM to make (passed on to this shell) both
# reach the trap, which stops the two servers with SIGTERM (each stops its Voila and kernels)
# and ends quietly. If the full server stops by itself (say its port is taken), so does the
# therapist's.
demo: $(STAMP)
	@trap 'kill $$mpid $$tpid 2>/dev/null; wait $$mpid $$tpid 2>/dev/null; exit 0' INT TERM; \
	tport=$$(( $(PORT) + 1 )); \
	$(BIN)/supervision serve data/demo --therapist $(DEMO_THERAPIST) --port $$tport & tpid=$$!; \
	$(BIN)/supervision serve data/demo --port $(PORT) \
	  --demo-therapist $(DEMO_THERAPIST)=http://127.0.0.1:$$tport/ & mpid=$$!; \
	wait $$mpid; status=$$?; kill $$tpid 2>/dev/null; wait $$tpid 2>/dev/null; exit $$status

# Debian's Chromium drives the browser tests (never `playwright install`: it cannot download here).
chromium:
	@if [ ! -x /usr/bin/chromium ] || ! command -v pdftoppm >/dev/null; then \
	  echo "Installing Debian's chromium (and poppler-utils for the report's PDF test)…"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium poppler-utils >/dev/null; \
	fi

# A Java runtime for the Spark tests (pyspark starts a local JVM).
java:
	@if ! command -v java >/dev/null; then \
	  echo "Installing Debian's Java runtime for the Spark tests…"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq default-jre-headless >/dev/null; \
	fi

# Debian's PostgreSQL server binaries for the warehouse tests (a throwaway server per test run).
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "Installing Debian's postgresql for the warehouse tests…"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; \
	fi

# Two workers by default (CI has two cores); a test file stays on one worker (its servers).
TEST_WORKERS ?= 2
# The Spark tests are part of it (the [test] extra installs [spark]; Java 17 is needed).
test: install-test
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=30

# The Spark equality tests alone.
test-spark: install-test
	$(BIN)/python -m pytest -q -m spark

lint: install-test
	$(BIN)/ruff check .

bench: install-test
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info
