# One-command entry points. `demo` and `test` bootstrap .venv/ themselves (via `setup`).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# SETUP_VERSION: bump when the recipe below changes, so existing .venv/s run it again.
SETUP_VERSION := 2
STAMP := $(VENV)/.installed-$(SETUP_VERSION)-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
export KOL_HOME ?= $(CURDIR)/.kol
SIZE ?= small

.PHONY: setup demo test test-slow test-fast bench lint airflow clean docs-reference browser bi bi-venv postgres-binaries

setup: $(STAMP)

# Idempotent: re-installs only when the lock or pyproject changed (the stamp names their checksum).
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@# Bytecode for every installed module, once (~40 s). uv does not write it, and where
	@# PYTHONDONTWRITEBYTECODE is set (many images) Python never caches it, and every process
	@# would compile its imports again (import dbt: 6.2 s without bytecode, 2.9 s with;
	@# pandas+pyarrow+duckdb: 3.4 s, 0.9 s). A few vendored Python 2 files never compile; none is imported.
	@$(BIN)/python -m compileall -qq -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" || true
	@rm -f $(VENV)/.installed-* && touch $@
	@echo "setup: .venv ready ($(BIN)/kol)"

demo: setup
	$(BIN)/kol demo

# Headless Chromium for the tests that check what a reader's browser shows (Debian's package).
# Installed when missing and run as root (CI); otherwise it says what to install.
browser:
	@command -v chromium >/dev/null || { test "$$(id -u)" = 0 || \
	  { echo "tests need Chromium: apt-get install chromium (as root)"; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# PostgreSQL server binaries for the serving tests (Debian's package; not started here).
postgres-binaries:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { \
	  test "$$(id -u)" = 0 || { echo "tests need PostgreSQL: apt-get install postgresql (as root)"; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

test: setup browser postgres-binaries
	$(BIN)/python -m pytest -q -m "not slow" --timeout=900 -n 2 --dist loadfile -p no:cacheprovider

test-slow: setup browser postgres-binaries
	$(BIN)/python -m pytest -q -m slow --timeout=1800

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not integration"

# The setup (a real extract, the copied history, a full refresh per history: ~15 min for
# small) is kept in $(BENCH_DIR)/<size>/ and reused while it matches, by every clone on this
# machine (one bench at a time per folder); BENCH_ARGS adds options
# (e.g. BENCH_ARGS="--reps 3 --stages all" for the full small measurement).
BENCH_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/kol-bench
bench: setup
	$(BIN)/python -m bench.run --size $(SIZE) --workdir $(BENCH_DIR)/$(SIZE) --reuse $(BENCH_ARGS)
	$(BIN)/python -m bench.latency

# docs/metrics.md is generated from the dbt YAML (tests/unit/test_docs_reference.py checks it).
docs-reference: setup
	$(BIN)/python docs/build_metrics_reference.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Superset's own venv (its pins differ from the project's), from bi/requirements.lock.
BI_VENV := .venv-bi
BI_STAMP := $(BI_VENV)/.installed-$(shell cksum < bi/requirements.lock | cut -d' ' -f1)

bi-venv: $(BI_STAMP)

$(BI_STAMP): bi/requirements.lock | $(STAMP)
	@test -x $(BI_VENV)/bin/python || $(BIN)/uv venv --quiet $(BI_VENV) --python $(BIN)/python
	$(BIN)/uv pip install --quiet --python $(BI_VENV)/bin/python -r bi/requirements.lock
	@rm -f $(BI_VENV)/.installed-* && touch $@

# PostgreSQL serving the published marts (made by `kol demo` when there are none yet) and
# Superset with the dashboards of bi/; prints the URLs and logins, Ctrl-C stops both.
bi: setup bi-venv
	@test -f "$(KOL_HOME)/serving/marts.duckdb" || $(BIN)/kol demo
	$(BIN)/python -m pipeline.bi_stack

airflow: setup
	$(BIN)/python dags/local_airflow.py

clean:
	rm -rf .kol dbt_project/target dbt_project/logs
