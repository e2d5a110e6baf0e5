"""Compaction of the working warehouse: DuckDB reuses the blocks that replaced dates free but never
returns them to the file system, so a warehouse re-run day after day carries dead space (26 % of
its blocks after 17 daily runs, benchmarks/results/storage.md). When the free share passes
REDCAT_COMPACT_FREE_SHARE, the database is copied into a new file (`COPY FROM DATABASE`: live
rows only), checked table by table, and swapped in with one atomic rename.

Crash safety: the original file is untouched until the rename; a crash leaves at most a
`<name>.compact-*` file, removed by the next compaction. The caller holds the warehouse writer
pool (the Dagster asset does), so nothing writes during the copy; a reader that has the old file
open keeps reading it, as with the serving file.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from redcat.config import env_number
from redcat.duck import connect

DEFAULT_FREE_SHARE = 0.25


class CompactionProblem(Exception):
    """A setting or a state of the warehouse that compaction refuses to work with."""


@dataclass
class Blocks:
    total: int
    free: int

    @property
    def free_share(self) -> float:
        return self.free / self.total if self.total else 0.0


@dataclass
class Compaction:
    compacted: bool
    bytes_before: int
    bytes_after: int
    blocks_before: Blocks
    reason: str


def free_share_threshold() -> float | None:
    """REDCAT_COMPACT_FREE_SHARE: compact when free blocks exceed this share of the file (default
    0.25); `off` never compacts."""
    return env_number(
        "REDCAT_COMPACT_FREE_SHARE", DEFAULT_FREE_SHARE, what="a share between 0 and 1 or 'off'", maximum=1, off=True
    )


def blocks(con: duckdb.DuckDBPyConnection) -> Blocks:
    ((total, free),) = con.execute(
        "SELECT total_blocks, free_blocks FROM pragma_database_size() WHERE database_name = current_database()"
    ).fetchall()
    return Blocks(total=total, free=free)


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    return [
        f'"{s}"."{t}"'
        for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? AND NOT internal "
            "ORDER BY 1, 2",
            [catalog],
        ).fetchall()
    ]


def compact(path: Path | str, threshold: float | None = None) -> Compaction:
    """Compact the DuckDB file at `path` when its free share exceeds `threshold` (default: the
    setting). Returns what it found and did."""
    path = Path(path)
    threshold = free_share_threshold() if threshold is None else threshold
    for leftover in path.parent.glob(path.name + ".compact-*"):
        leftover.unlink()  # a compaction that crashed before its swap
    con = connect(path)  # a writer: waits for others, and checkpoints the WAL into the file on close
    try:
        con.execute("CHECKPOINT")
        before = blocks(con)
    finally:
        con.close()
    size_before = path.stat().st_size
    if threshold is None or before.free_share <= threshold or before.free == 0:
        why = (
            "compaction is off (REDCAT_COMPACT_FREE_SHARE)"
            if threshold is None
            else (f"{before.free_share:.0%} of {before.total:,} blocks free, compacting above {threshold:.0%}")
        )
        return Compaction(False, size_before, size_before, before, why)
    wal = path.with_name(path.name + ".wal")
    if wal.exists():  # it would be replayed onto the new file
        raise CompactionProblem(
            f"{wal} still exists after a checkpoint: another process is writing {path}; "
            "compact when it has finished (redcat compact)"
        )
    new = path.with_name(f"{path.name}.compact-{uuid.uuid4().hex[:8]}")
    catalog = path.stem  # the name the file is attached under when opened, as in every view's binding
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS compact_source (READ_ONLY)", [str(path)])
        con.execute(f'ATTACH ? AS "{catalog}"', [str(new)])
        con.execute(f'COPY FROM DATABASE compact_source TO "{catalog}"')
        source, copied = _tables(con, "compact_source"), _tables(con, catalog)
        if source != copied:
            raise CompactionProblem(
                f"compacting {path}: the copy has tables {sorted(set(copied) ^ set(source))} "
                "different from the original; the original is unchanged"
            )
        for table in source:
            a = con.execute(f"SELECT count(*) FROM compact_source.{table}").fetchone()[0]
            b = con.execute(f'SELECT count(*) FROM "{catalog}".{table}').fetchone()[0]
            if a != b:
                raise CompactionProblem(
                    f"compacting {path}: {table} has {b:,} rows in the copy, {a:,} in the "
                    "original; the original is unchanged"
                )
        con.execute(f'DETACH "{catalog}"')
    except BaseException:
        con.close()
        new.unlink(missing_ok=True)
        raise
    con.close()
    with open(new, "rb") as f:
        os.fsync(f.fileno())
    os.replace(new, path)
    size_after = path.stat().st_size
    return Compaction(
        True,
        size_before,
        size_after,
        before,
        f"{before.free_share:.0%} of {before.total:,} blocks were free: "
        f"{size_before / 2**20:,.1f} MiB -> {size_after / 2**20:,.1f} MiB",
    )
