"""The ledger balance of one loaded delivery: what the ledger says against what was committed.

loaded + quarantined + duplicates must equal the declared rows, the raw Parquet file must hold
exactly the loaded rows, and ops.quarantine exactly the quarantined lines. The ingestion assets
report it as the blocking check `ledger_balance`."""

from __future__ import annotations

import duckdb

from redcat.contract import SourceTable
from redcat.ingest.loader import KEPT, LOADED, REJECTED, LoadResult


def ledger_balance_problem(con: duckdb.DuckDBPyConnection, table: SourceTable, res: LoadResult) -> str | None:
    """None when the delivery balances, else what is wrong and what to do."""
    if res.status in (REJECTED, KEPT):
        return None
    row = con.execute(
        """SELECT l.rows_declared, l.rows_loaded, l.rows_quarantined, l.rows_duplicate, l.status, p.path, p.rows,
                  (SELECT count(*) FROM ops.quarantine q WHERE q.source = l.source AND q.table_name = l.table_name
                     AND q.delivery_date = l.delivery_date)
           FROM ops.load_ledger_current l
           JOIN ops.raw_partitions p USING (source, table_name, delivery_date)
           WHERE l.source = ? AND l.table_name = ? AND l.delivery_date = ?""",
        [table.source, table.table, res.delivery_date],
    ).fetchone()
    if row is None:
        return "no committed ledger row or raw partition; re-run this partition"
    declared, loaded, quarantined, duplicate, status, path, raw_rows, quarantine_rows = row
    on_disk = con.execute("SELECT count(*) FROM read_parquet(?)", [path]).fetchone()[0]
    if status == LOADED and loaded + quarantined + duplicate != declared:
        return f"loaded {loaded} + quarantined {quarantined} + duplicates {duplicate} != declared {declared}"
    if on_disk != loaded or raw_rows != loaded:
        return (
            f"{path} holds {on_disk} rows but the ledger says {loaded} were loaded; a write was interrupted? "
            "Re-run this partition."
        )
    if quarantine_rows != quarantined:
        return f"ops.quarantine holds {quarantine_rows} lines but the ledger says {quarantined}; re-run this partition."
    return None
