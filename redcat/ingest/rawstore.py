"""The raw layer: one Parquet file per source table and delivery date,

    <raw>/<source>/<table>/dt=YYYY-MM-DD/data.parquet

Commit protocol (crash-safe, readers never see a half-written file):
1. write the new rows to `dt=.../_pending-<load_id>.parquet` (invisible: readers glob data.parquet);
2. in one warehouse transaction, point `ops.raw_partitions` at <load_id> together with the
   ledger and quarantine rows of that load: this is the commit point;
3. os.replace the pending file over data.parquet (atomic on POSIX).
A crash before 2 leaves the previous state; a crash between 2 and 3 is rolled forward by
`recover()`, which every load runs first, because the pending file of the committed load
is still there.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

DATA_FILE = "data.parquet"
PENDING_PREFIX = "_pending-"


def partition_dir(raw_dir: Path, source: str, table: str, day: str) -> Path:
    return raw_dir / source / table / f"dt={day}"


def pending_path(raw_dir: Path, source: str, table: str, day: str, load_id: str) -> Path:
    return partition_dir(raw_dir, source, table, day) / f"{PENDING_PREFIX}{load_id}.parquet"


def data_path(raw_dir: Path, source: str, table: str, day: str) -> Path:
    return partition_dir(raw_dir, source, table, day) / DATA_FILE


def table_glob(raw_dir: Path, source: str, table: str) -> str:
    return str(raw_dir / source / table / "dt=*" / DATA_FILE)


def publish(pending: Path) -> None:
    os.replace(pending, pending.parent / DATA_FILE)


def recover(con: duckdb.DuckDBPyConnection, raw_dir: Path) -> list[str]:
    """Roll committed loads forward and delete orphans of loads that never committed.
    Returns what it did, for the log."""
    done = []
    committed = {
        (s, t, str(d)): load_id
        for s, t, d, load_id in con.execute(
            "SELECT source, table_name, delivery_date, load_id FROM ops.raw_partitions"
        ).fetchall()
    }
    for pending in raw_dir.glob(f"*/*/dt=*/{PENDING_PREFIX}*.parquet"):
        day = pending.parent.name[3:]
        table = pending.parent.parent.name
        source = pending.parent.parent.parent.name
        load_id = pending.name[len(PENDING_PREFIX) : -len(".parquet")]
        if committed.get((source, table, day)) == load_id:
            publish(pending)
            done.append(f"rolled forward {source}/{table} dt={day} (load {load_id})")
        else:
            pending.unlink()
            done.append(f"removed uncommitted {pending.name} in {source}/{table} dt={day}")
    return done
