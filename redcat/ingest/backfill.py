"""Backfills in any order: which later delivery dates an earlier one invalidates.

First delivery wins (loader.py): a key delivered on D is a duplicate in any later delivery within
the horizon. Loaded day by day, a later delivery drops such keys itself. Loaded out of order (a
backfill of D after D+1.. were built, a partner's late dump, a re-run of a middle day), the later
partitions already hold keys that D now wins, and the raw layer would carry them twice. `redcat run`
asks `invalidated_dates` after loading D and re-runs those later dates with it (runner.py), so the
result equals the day-by-day run. Tables where the last delivery wins (notes, ad_spend) are
restated by staging in delivery order and need nothing.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from redcat import contract
from redcat.ingest import rawfs
from redcat.ingest.rules import horizon_days


def _paths(con: duckdb.DuckDBPyConnection, table, after: dt.date, until: dt.date) -> list[str]:
    rows = con.execute(
        """SELECT path FROM ops.raw_partitions WHERE source = ? AND table_name = ? AND rows > 0
           AND delivery_date > ? AND delivery_date <= ? ORDER BY delivery_date""",
        [table.source, table.table, after, until],
    ).fetchall()
    paths = [r[0] for r in rows if rawfs.exists(r[0])]
    for path in paths[:1]:  # one raw layer: its filesystem, for read_parquet below
        rawfs.register(con, path)
    return paths


def _has_ops(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ops' "
            "AND table_name = 'raw_partitions'"
        ).fetchone()[0]
    )


def built_after(con: duckdb.DuckDBPyConnection, end: dt.date) -> bool:
    """Whether any table holds a loaded partition of a delivery date after `end`."""
    if not _has_ops(con):
        return False
    return bool(
        con.execute("SELECT count(*) FROM ops.raw_partitions WHERE delivery_date > ? AND rows > 0", [end]).fetchone()[0]
    )


def invalidated_dates(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> dict[dt.date, list[str]]:
    """Later delivery dates (after `end`, within the horizon) whose partitions hold keys that the
    deliveries start..end win, with the tables concerned."""
    if not _has_ops(con):
        return {}
    out: dict[dt.date, list[str]] = {}
    horizon = dt.timedelta(days=horizon_days())
    for table in contract.ALL_TABLES:
        if table.dedup != "first":
            continue
        mine = _paths(con, table, start - dt.timedelta(days=1), end)
        later = _paths(con, table, end, end + horizon)
        if not mine or not later:
            continue
        key = ", ".join('"' + k.replace('"', '""') + '"' for k in table.key)
        rows = con.execute(
            f"""SELECT DISTINCT later.delivery_date FROM read_parquet(?) later
                SEMI JOIN (SELECT {key} FROM read_parquet(?)) mine USING ({key})""",
            [later, mine],
        ).fetchall()
        for (day,) in rows:
            out.setdefault(day, []).append(f"{table.source}/{table.table}")
    return dict(sorted(out.items()))
