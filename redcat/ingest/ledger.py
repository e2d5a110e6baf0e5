"""The `ops` schema in the warehouse: load ledger, quarantine and raw-partition pointers.

`ops.raw_partitions` is the commit record of the raw layer: a partition's Parquet file
is current once its row here names the load that wrote it (see rawstore.py).
"""

from __future__ import annotations

import duckdb

DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.load_ledger (
    load_id VARCHAR NOT NULL,
    run_id VARCHAR,
    source VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    delivery_date DATE NOT NULL,
    file VARCHAR,
    status VARCHAR NOT NULL,          -- loaded | rejected | no_delivery | not_in_programme | kept
    message VARCHAR,
    sha256_declared VARCHAR,
    sha256_actual VARCHAR,
    rows_declared BIGINT,
    rows_read BIGINT,
    rows_loaded BIGINT,
    rows_quarantined BIGINT,
    rows_duplicate BIGINT,
    min_event_time TIMESTAMPTZ,
    max_event_time TIMESTAMPTZ,
    program_version VARCHAR,
    sampling_ratio DOUBLE,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    seconds DOUBLE
);
CREATE TABLE IF NOT EXISTS ops.quarantine (
    load_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    delivery_date DATE NOT NULL,
    file VARCHAR NOT NULL,
    line_number BIGINT NOT NULL,
    raw_text VARCHAR,
    reason VARCHAR NOT NULL,
    detail VARCHAR
);
CREATE TABLE IF NOT EXISTS ops.raw_partitions (
    source VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    delivery_date DATE NOT NULL,
    load_id VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    min_event_time TIMESTAMPTZ,
    max_event_time TIMESTAMPTZ,
    committed_at TIMESTAMPTZ NOT NULL
);
-- Every evaluation of the callback completeness check, failing ones included (the marts keep
-- only the current state): the incident history BI and the report show.
CREATE TABLE IF NOT EXISTS ops.completeness_log (
    run_id VARCHAR,
    evaluated_at TIMESTAMPTZ NOT NULL,
    report_date DATE NOT NULL,
    partner VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    is_accepted BOOLEAN,
    blocks_marts BOOLEAN,
    clicked_users BIGINT,
    visited_users BIGINT,
    observed_coverage DOUBLE,
    expected_coverage DOUBLE,
    ci_low DOUBLE,
    ci_high DOUBLE,
    p_value_below DOUBLE
);
CREATE OR REPLACE VIEW ops.load_ledger_current AS
SELECT * FROM ops.load_ledger
QUALIFY row_number() OVER (PARTITION BY source, table_name, delivery_date ORDER BY started_at DESC, finished_at DESC) = 1;
CREATE OR REPLACE VIEW ops.quarantine_summary AS
SELECT source, table_name, delivery_date, reason, count(*) AS lines, min(line_number) AS first_line
FROM ops.quarantine GROUP BY ALL;
"""

LEDGER_COLUMNS = (
    "load_id",
    "run_id",
    "source",
    "table_name",
    "delivery_date",
    "file",
    "status",
    "message",
    "sha256_declared",
    "sha256_actual",
    "rows_declared",
    "rows_read",
    "rows_loaded",
    "rows_quarantined",
    "rows_duplicate",
    "min_event_time",
    "max_event_time",
    "program_version",
    "sampling_ratio",
    "started_at",
    "finished_at",
    "seconds",
)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("BEGIN")
    con.execute(DDL)
    con.execute("COMMIT")


def insert_ledger(con: duckdb.DuckDBPyConnection, row: dict) -> None:
    cols = ", ".join(LEDGER_COLUMNS)
    marks = ", ".join("?" for _ in LEDGER_COLUMNS)
    con.execute(f"INSERT INTO ops.load_ledger ({cols}) VALUES ({marks})", [row.get(c) for c in LEDGER_COLUMNS])
