"""The raw layer: one Parquet file per source table and delivery date,

    <raw>/content/<table>/dt=YYYY-MM-DD/data.parquet                      content tables
    <raw>/partners/<table>/partner=<partner>/dt=YYYY-MM-DD/data.parquet   every partner's tables

Partners share one directory tree per table, partitioned by partner (hive style), so one dbt
source (`partners.callbacks`) reads every configured partner on DuckDB and Spark alike, and a new
partner needs no code (seeds/partners.csv).

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

from redcat import reference

DATA_FILE = "data.parquet"
PENDING_PREFIX = "_pending-"
PARTNERS_DIR = "partners"


def table_dir(raw_dir: Path, source: str, table: str) -> Path:
    if source in reference.partners():
        return raw_dir / PARTNERS_DIR / table / f"partner={source}"
    return raw_dir / source / table


def partition_dir(raw_dir: Path, source: str, table: str, day: str) -> Path:
    return table_dir(raw_dir, source, table) / f"dt={day}"


def _locate(partition: Path) -> tuple[str, str, str]:
    """(source, table, day) of a dt= directory in either layout."""
    day = partition.name[3:]
    parent = partition.parent
    if parent.name.startswith("partner="):
        return parent.name[len("partner=") :], parent.parent.name, day
    return parent.parent.name, parent.name, day


def pending_path(raw_dir: Path, source: str, table: str, day: str, load_id: str) -> Path:
    return partition_dir(raw_dir, source, table, day) / f"{PENDING_PREFIX}{load_id}.parquet"


def data_path(raw_dir: Path, source: str, table: str, day: str) -> Path:
    return partition_dir(raw_dir, source, table, day) / DATA_FILE


def table_glob(raw_dir: Path, source: str, table: str) -> str:
    return str(table_dir(raw_dir, source, table) / "dt=*" / DATA_FILE)


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
    pendings = [
        *raw_dir.glob(f"*/*/dt=*/{PENDING_PREFIX}*.parquet"),
        *raw_dir.glob(f"{PARTNERS_DIR}/*/partner=*/dt=*/{PENDING_PREFIX}*.parquet"),
    ]
    for pending in pendings:
        source, table, day = _locate(pending.parent)
        load_id = pending.name[len(PENDING_PREFIX) : -len(".parquet")]
        if committed.get((source, table, day)) == load_id:
            publish(pending)
            done.append(f"rolled forward {source}/{table} dt={day} (load {load_id})")
        else:
            pending.unlink()
            done.append(f"removed uncommitted {pending.name} in {source}/{table} dt={day}")
    return done


def migrate_partner_layout(con: duckdb.DuckDBPyConnection, raw_dir: Path) -> list[str]:
    """Move partner partitions written by earlier versions (<raw>/<partner>/<table>/dt=...) into
    the shared layout, rewriting the committed pointers in the same transaction. The move is a
    rename per partition; a crash midway leaves pointers to paths that still exist (each rename
    is followed by its own pointer update), so the next open finishes the move."""
    done = []
    for partner in reference.partners():
        for old_table in sorted((raw_dir / partner).glob("*")):
            if not old_table.is_dir():
                continue
            for old in sorted(old_table.glob("dt=*")):
                new = partition_dir(raw_dir, partner, old_table.name, old.name[3:])
                if new.exists():
                    continue
                new.parent.mkdir(parents=True, exist_ok=True)
                os.replace(old, new)
                con.execute("BEGIN")
                con.execute(
                    "UPDATE ops.raw_partitions SET path = replace(path, ?, ?) WHERE source = ? AND table_name = ? "
                    "AND delivery_date = ?",
                    [str(old), str(new), partner, old_table.name, old.name[3:]],
                )
                con.execute("COMMIT")
                done.append(f"moved {partner}/{old_table.name} {old.name} to {new.relative_to(raw_dir)}")
            if not any(old_table.iterdir()):
                old_table.rmdir()
        if (raw_dir / partner).is_dir() and not any((raw_dir / partner).iterdir()):
            (raw_dir / partner).rmdir()
    return done
