# `make demo` and `make test` work on a fresh machine with only Python 3.11: they create .venv and
# install what they need (pinned by requirements.lock).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
FANZHA := $(VENV)/bin/fanzha
STAMP := $(VENV)/.installed
ECHARTS := src/fanzha/web/static/echarts.min.js

.PHONY: demo test lint format bench lock clean web

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "fanzha needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $@

# The console's browser assets: Apache ECharts from npm at the version package-lock.json pins,
# copied to the package's static files (served at /console/static, never from a CDN).
web: $(ECHARTS)
$(ECHARTS): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	cp node_modules/echarts/dist/echarts.min.js $@

# A synthetic city (20,000 people, 14 days, seed 1) -> ingest, detectors, decide -> scorecard
# (demo/world/score.json, demo/world/report.html) -> police cases traced and frozen -> the console
# served at http://127.0.0.1:$(DEMO_PORT)/console/ with a printed analyst key (FANZHA_NO_SERVE=1:
# stop before serving). A few minutes on a 2-core machine.
DEMO_PORT ?= 8000
demo: $(STAMP) $(ECHARTS)
	@rm -rf demo && mkdir -p demo
	$(FANZHA) sim --people 20000 --days 14 --seed 1 -o demo/world
	$(FANZHA) score demo/world --db demo/fanzha.duckdb
	$(PY) -m fanzha.web.demo --db demo/fanzha.duckdb --url http://127.0.0.1:$(DEMO_PORT)
	@if [ "$$FANZHA_NO_SERVE" = 1 ]; then echo "FANZHA_NO_SERVE=1: not serving"; else \
	  echo "serving the console until Ctrl-C (one-time codes go to demo/sms/sms.jsonl)"; \
	  FANZHA_SCORE=demo/world/score.json $(FANZHA) serve --db demo/fanzha.duckdb \
	    --port $(DEMO_PORT) --sms-sink demo/sms; fi

# pyspark (a 450 MB wheel) for `fanzha spark` and tests/spark, on top of the base install.
SPARK_STAMP := $(VENV)/.spark
$(SPARK_STAMP): $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[dev,spark]'
	@touch $@

test: $(STAMP) $(SPARK_STAMP) $(ECHARTS)
	$(PY) -m ruff check src tests bench
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench

bench: $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[dev,bench,spark]'
	$(PY) bench/engine.py
	$(PY) bench/warning.py
	$(PY) bench/fraud_numbers.py
	$(PY) bench/sim.py
	$(PY) bench/leaks.py
	$(PY) bench/privacy.py
	$(PY) bench/funds.py
	$(PY) bench/rings.py
	$(PY) bench/store.py
	$(PY) bench/api.py
	$(PY) bench/scale.py

# Refresh requirements.lock from a clean environment after changing pyproject.toml.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install -q --disable-pip-version-check -e '.[dev,bench,spark]'
	.lockenv/bin/pip freeze --exclude-editable | grep -v '^fanzha' > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache node_modules $(ECHARTS)
