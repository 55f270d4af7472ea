# Every target bootstraps its own virtualenv (uv, from the committed requirements.lock).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
TOOLS := .tools
PY := $(VENV)/bin/python
STAMP := $(VENV)/.synced

export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DO_NOT_TRACK := 1
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export SCARF_ANALYTICS := false
export GX_ANALYTICS_ENABLED := False

.PHONY: run report test test-pg15 test-stack lint bench docs feeds lock clean

$(STAMP): requirements.lock
	@test -x $(TOOLS)/bin/uv || ($(PYTHON) -m venv $(TOOLS) && $(TOOLS)/bin/pip install -q uv==0.13.8)
	@test -x $(PY) || $(TOOLS)/bin/uv venv -q --python $(PYTHON) $(VENV)
	VIRTUAL_ENV=$(VENV) $(TOOLS)/bin/uv pip sync -q requirements.lock
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m local.run

# One periodic report by hand: make report KIND=weekly DATE=2026-11-28 (docs/reports.md)
report: $(STAMP)
	$(PY) -m reports $(KIND) --date $(DATE)

test: $(STAMP)
	$(PY) -m pytest -q

# The same suite against the machine's PostgreSQL 15 (what sites run), if it has one.
test-pg15: $(STAMP)
	@url=$$($(PY) -m local.system_pg start /tmp/fpr-pg15 54315) && \
	  TEST_WAREHOUSE_URL=$$url $(PY) -m pytest -q; rc=$$?; \
	  $(PY) -m local.system_pg stop /tmp/fpr-pg15 >/dev/null; exit $$rc

# The DAG on the real stack as processes (local/stack.py): PostgreSQL metadata, api-server,
# scheduler, dag-processor, triggerer, Redis, two Celery workers; compared with `make run`.
test-stack: $(STAMP)
	FPR_TEST_STACK=1 $(PY) -m pytest -q -s tests/stack

# ruff over the Python, sqlfluff over the dbt models (the pre-commit hooks run the same)
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/sqlfluff lint dbt_project/models --processes 1 --disable-progress-bar

bench: $(STAMP)
	$(PY) -m bench.run

docs: $(STAMP)
	$(PY) -m local.docs

# dbt files generated from ingest/feeds/mappings/*.yml (sources, staging models, signal
# feeds, cadence seed): run after adding or changing a mapping; tests/feeds fail until then.
# everything generated from config: dbt sources/staging/labels and the cadence seed from the
# feed mappings, dbt exposures from the rule catalog (tests fail while these are stale)
feeds: $(STAMP)
	$(PY) -m ingest.feeds.dbt_codegen
	$(PY) -m reports.feed_cadence
	$(PY) -m expectations.exposures

lock:
	@test -x $(TOOLS)/bin/uv || ($(PYTHON) -m venv $(TOOLS) && $(TOOLS)/bin/pip install -q uv==0.13.8)
	$(TOOLS)/bin/uv pip compile pyproject.toml --group local --group dev --python-version 3.11 -o requirements.lock --quiet --no-header
	$(TOOLS)/bin/uv pip compile pyproject.toml --python-version 3.11 -o requirements-prod.lock --quiet --no-header

clean:
	-$(PY) -c "from pathlib import Path; from local import embedded_pg; embedded_pg.stop(Path('var/pg'))"
	rm -rf var
