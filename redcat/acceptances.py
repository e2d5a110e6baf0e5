"""Operator acceptances of known-incomplete partner-days (`redcat accept`).

Stored as one small Parquet file in the raw layer, `_operator/completeness_acceptances.parquet`,
so dbt reads it as a source on DuckDB and on Spark alike. Rewritten whole and swapped in
atomically; every acceptance is kept. An acceptance names one callback stage (search,
store_visit, add_to_cart, purchase, refund) or, with stage empty, the whole partner-day.
A file written before stages existed is rewritten with an empty stage (whole day) when read.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile

import duckdb

from redcat.config import Settings
from redcat.duck import sql_literal
from redcat.ingest import rawfs

SCHEMA = (
    "partner VARCHAR, report_date DATE, accepted_by VARCHAR, reason VARCHAR, accepted_at TIMESTAMPTZ, stage VARCHAR"
)
COLUMNS = "partner, report_date, accepted_by, reason, accepted_at, stage"


def path(settings: Settings) -> str:
    return rawfs.join(settings.raw_dir, "_operator", "completeness_acceptances.parquet")


def _reader(target: str) -> duckdb.DuckDBPyConnection:
    return rawfs.register(duckdb.connect(), target)


def ensure(settings: Settings) -> str:
    """Create the (empty) acceptances file if there is none yet; add the stage column (empty:
    the whole day) to a file written before acceptances could name a stage."""
    target = path(settings)
    if not rawfs.exists(target):
        _write(target, [])
        return target
    with _reader(target) as con:
        names = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(target)]).fetchall()]
        if "stage" not in names:
            old = con.execute(
                "SELECT partner, report_date, accepted_by, reason, accepted_at, NULL FROM read_parquet(?)",
                [str(target)],
            ).fetchall()
    if "stage" not in names:
        _write(target, old)
    return target


def read(settings: Settings) -> list[tuple]:
    target = ensure(settings)
    with _reader(target) as con:
        return con.execute(f"SELECT {COLUMNS} FROM read_parquet(?) ORDER BY accepted_at", [str(target)]).fetchall()


def accept(settings: Settings, partner: str, day: dt.date, by: str, reason: str, stage: str | None = None) -> None:
    """Record an acceptance of one stage of a partner-day, or of the whole day (stage None)."""
    rows = read(settings)
    rows.append((partner, day, by, reason, dt.datetime.now(dt.UTC), stage))
    _write(path(settings), rows)


def _write(target: str, rows: list[tuple]) -> None:
    """Written to a temporary file, then swapped in whole: os.replace beside the target, or one
    upload to object storage (rawfs.put)."""
    if rawfs.scheme(target):
        fd, tmp = tempfile.mkstemp(suffix=".parquet")
        os.close(fd)
    else:
        rawfs.makedirs(rawfs.parent(target))
        tmp = target + ".tmp"
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE TABLE a ({SCHEMA})")
        if rows:
            con.executemany("INSERT INTO a VALUES (?, ?, ?, ?, ?, ?)", rows)
        con.execute(f"COPY a TO {sql_literal(str(tmp))} (FORMAT parquet)")  # COPY takes no bound file name
    rawfs.put(tmp, target)
