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
3. publish: os.replace the pending file over data.parquet (atomic on POSIX); on object storage
   (REDCAT_RAW_DIR=s3://..., rawfs.py) a server-side copy of the pending object to data.parquet,
   then a delete of the pending object. An object is replaced whole, so readers see the previous
   or the new data.parquet, never a part of one.
A crash before 2 leaves the previous state; a crash in or after 3 (before the pending file or
object is gone) is rolled forward by `recover()`, which every load runs first, because the
pending file of the committed load is still there; repeating the copy is harmless.

Paths are strings (rawfs.py): absolute local paths, or URIs on object storage.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from redcat import reference
from redcat.ingest import rawfs

DATA_FILE = "data.parquet"
PENDING_PREFIX = "_pending-"
PARTNERS_DIR = "partners"


def table_dir(raw_dir: Path | str, source: str, table: str) -> str:
    if source in reference.partners():
        return rawfs.join(raw_dir, PARTNERS_DIR, table, f"partner={source}")
    return rawfs.join(raw_dir, source, table)


def partition_dir(raw_dir: Path | str, source: str, table: str, day: str) -> str:
    return rawfs.join(table_dir(raw_dir, source, table), f"dt={day}")


def _locate(partition: str) -> tuple[str, str, str]:
    """(source, table, day) of a dt= directory in either layout."""
    day = rawfs.name(partition)[3:]
    parent = rawfs.parent(partition)
    if rawfs.name(parent).startswith("partner="):
        return rawfs.name(parent)[len("partner=") :], rawfs.name(rawfs.parent(parent)), day
    return rawfs.name(rawfs.parent(parent)), rawfs.name(parent), day


def pending_path(raw_dir: Path | str, source: str, table: str, day: str, load_id: str) -> str:
    return rawfs.join(partition_dir(raw_dir, source, table, day), f"{PENDING_PREFIX}{load_id}.parquet")


def data_path(raw_dir: Path | str, source: str, table: str, day: str) -> str:
    return rawfs.join(partition_dir(raw_dir, source, table, day), DATA_FILE)


def table_glob(raw_dir: Path | str, source: str, table: str) -> str:
    return rawfs.join(table_dir(raw_dir, source, table), "dt=*", DATA_FILE)


def data_file_of(pending: str) -> str:
    return rawfs.join(rawfs.parent(pending), DATA_FILE)


def publish(pending: str) -> None:
    rawfs.publish(pending, data_file_of(pending))


def recover(con: duckdb.DuckDBPyConnection, raw_dir: Path | str) -> list[str]:
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
        *rawfs.glob(raw_dir, f"*/*/dt=*/{PENDING_PREFIX}*.parquet"),
        *rawfs.glob(raw_dir, f"{PARTNERS_DIR}/*/partner=*/dt=*/{PENDING_PREFIX}*.parquet"),
    ]
    for pending in pendings:
        source, table, day = _locate(rawfs.parent(pending))
        file = rawfs.name(pending)
        load_id = file[len(PENDING_PREFIX) : -len(".parquet")]
        if committed.get((source, table, day)) == load_id:
            publish(pending)
            done.append(f"rolled forward {source}/{table} dt={day} (load {load_id})")
        else:
            rawfs.remove(pending)
            done.append(f"removed uncommitted {file} in {source}/{table} dt={day}")
    return done


def migrate_partner_layout(con: duckdb.DuckDBPyConnection, raw_dir: Path | str) -> list[str]:
    """Move partner partitions written by earlier versions (<raw>/<partner>/<table>/dt=...) into
    the shared layout, rewriting the committed pointers in the same transaction. The move is a
    rename per partition; a crash midway leaves pointers to paths that still exist (each rename
    is followed by its own pointer update), so the next open finishes the move. Local raw layers
    only: those versions never wrote to object storage."""
    if rawfs.scheme(raw_dir):
        return []
    raw_dir = Path(raw_dir)
    done = []
    for partner in reference.partners():
        for old_table in sorted((raw_dir / partner).glob("*")):
            if not old_table.is_dir():
                continue
            for old in sorted(old_table.glob("dt=*")):
                new = Path(partition_dir(raw_dir, partner, old_table.name, old.name[3:]))
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
