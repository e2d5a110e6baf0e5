# redcat: the two commands a newcomer needs are `make demo` and `make test`.
# Both create .venv and install the pinned stack on first use.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench ui docs report spark lock clean help

help:
	@echo "make demo   generate a synthetic month, materialise it, show the result"
	@echo "make test   run the test suite"
	@echo "make lint   ruff on the Python, sqlfluff on the dbt models"
	@echo "make report one HTML report per brand from the published serving file"
	@echo "make bench  benchmark at production scale (minutes)"
	@echo "make ui     Dagster UI on the code location"
	@echo "make spark  build the whole dbt project on Spark (local PySpark, Java 17) from the raw layer"
	@echo "make docs   dbt docs (offline) into build/dbt-docs"

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"redcat needs Python 3.11, found {sys.version.split()[0]}: set PYTHON=/path/to/python3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/redcat demo

# Two workers (pytest-xdist), one test module at a time each; the longest modules start first
# (tests/conftest.py), so the Spark comparison runs beside the rest. TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

# Python style (ruff check and format, pyproject.toml) and SQL style of the dbt models (sqlfluff,
# dbt templater); make test checks the same (tests/test_lint.py).
# The dbt templater opens a connection: give it a scratch warehouse, not the user's.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@mkdir -p build
	REDCAT_WAREHOUSE=$(CURDIR)/build/lint.duckdb $(BIN)/sqlfluff lint dbt_project/models

# dbt docs as one self-contained HTML file (works offline, no server). Uses the warehouse for
# the catalog when there is one.
docs: $(STAMP)
	cd dbt_project && ../$(BIN)/dbt docs generate --static --target-path ../build/dbt-docs \
		$$( [ -f "$${REDCAT_WAREHOUSE:-../data/warehouse.duckdb}" ] || echo --empty-catalog )
	@echo "dbt docs: build/dbt-docs/static_index.html"

# Production-scale benchmark (about 25 minutes): benchmarks/results/latest.{json,md}
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

report: $(STAMP)
	$(BIN)/redcat report --all-brands

# Dagster UI (webserver + daemon: schedule and sensors) on the code location, with the instance
# `redcat run` records into: REDCAT_DAGSTER_HOME, default <warehouse dir>/dagster (pool: one warehouse writer).
ui: $(STAMP)
	@home=$$($(BIN)/python -m orchestration.instance) && echo "Dagster instance: $$home" && \
	  PATH=$(CURDIR)/$(BIN):$$PATH DAGSTER_HOME=$$home $(BIN)/dagster dev -m orchestration.definitions

# The daily pipeline on Spark: `redcat run --target spark` over SPARK_FROM..SPARK_TO (the same Dagster
# job, checks and exit codes as on DuckDB), dbt on a local[2] PySpark (dbt-spark's session method, Java 17).
# Everything goes under REDCAT_SPARK_DIR (default data/spark): Spark's tables (warehouse/) and metastore
# (metastore_db/), the raw layer (raw/, unless REDCAT_RAW_DIR), the load ledger (warehouse.duckdb) and the
# Dagster instance. Landing zone: REDCAT_LANDING_DIR, else 16 small generated days. Cluster: docs/spark.md.
SPARK_HOME_DIR := $(abspath $(or $(REDCAT_SPARK_DIR),data/spark))
SPARK_LANDING := $(abspath $(or $(REDCAT_LANDING_DIR),data/spark-landing))
SPARK_FROM ?= 2024-06-24
SPARK_TO ?= 2024-07-09
spark: $(STAMP)
	@command -v java >/dev/null 2>&1 || [ -x "$$JAVA_HOME/bin/java" ] || { \
	  echo "make spark needs Java 17 (PySpark runs on the JVM): install e.g. openjdk-17-jre-headless, or set JAVA_HOME" >&2; exit 2; }
	@if [ ! -d "$(SPARK_LANDING)" ]; then \
	  echo "No landing zone in $(SPARK_LANDING): generating 16 small delivery days there"; \
	  $(BIN)/redcat generate --out $(SPARK_LANDING) --start 2024-06-24 --days 16 --scale 0.004 >/dev/null || exit 1; \
	fi
	REDCAT_SPARK_DIR=$(SPARK_HOME_DIR) $(BIN)/redcat run --target spark --from $(SPARK_FROM) --to $(SPARK_TO) \
	  --landing $(SPARK_LANDING) --warehouse $(SPARK_HOME_DIR)/warehouse.duckdb

# Re-pin the whole tree after changing pyproject.toml (install first, then freeze what resolved).
lock:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@{ echo "# Exact versions of the whole dependency tree, used by 'make' as pip constraints."; \
	   echo "# Regenerate after changing pyproject.toml: make lock"; \
	   $(BIN)/pip freeze --exclude-editable; } > constraints.txt
	@touch $(STAMP)

clean:
	rm -rf data build dbt_project/target dbt_project/logs .pytest_cache
