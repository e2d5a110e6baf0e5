"""Operator acceptances of known-incomplete partner-days (`redcat accept`).

Stored as one small Parquet file in the raw layer, `_operator/completeness_acceptances.parquet`,
so dbt reads it as a source on DuckDB and on Spark alike. Rewritten whole and swapped in
atomically; every acceptance is kept (the latest per partner-day applies).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb

from redcat.config import Settings

SCHEMA = "partner VARCHAR, report_date DATE, accepted_by VARCHAR, reason VARCHAR, accepted_at TIMESTAMPTZ"


def path(settings: Settings) -> Path:
    return settings.raw_dir / "_operator" / "completeness_acceptances.parquet"


def ensure(settings: Settings) -> Path:
    """Create the (empty) acceptances file if there is none yet."""
    target = path(settings)
    if not target.exists():
        _write(target, [])
    return target


def read(settings: Settings) -> list[tuple]:
    target = ensure(settings)
    with duckdb.connect() as con:
        return con.execute("SELECT partner, report_date, accepted_by, reason, accepted_at FROM read_parquet(?) "
                           "ORDER BY accepted_at", [str(target)]).fetchall()


def accept(settings: Settings, partner: str, day: dt.date, by: str, reason: str) -> None:
    rows = read(settings)
    rows.append((partner, day, by, reason, dt.datetime.now(dt.UTC)))
    _write(path(settings), rows)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _write(target: Path, rows: list[tuple]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE TABLE a ({SCHEMA})")
        if rows:
            con.executemany("INSERT INTO a VALUES (?, ?, ?, ?, ?)", rows)
        con.execute(f"COPY a TO {_literal(str(tmp))} (FORMAT parquet)")  # COPY takes no bound file name
    os.replace(tmp, target)
