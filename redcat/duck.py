"""DuckDB connections with the project's settings."""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb

from redcat.config import env_number

DEFAULT_LOCK_TIMEOUT_SECONDS = 30.0


class WarehouseBusy(Exception):
    """Another process holds the DuckDB file's lock for longer than REDCAT_LOCK_TIMEOUT_SECONDS."""


def lock_timeout_seconds() -> float:
    """REDCAT_LOCK_TIMEOUT_SECONDS (default 30): how long a writer waits for another process's lock."""
    return env_number("REDCAT_LOCK_TIMEOUT_SECONDS", DEFAULT_LOCK_TIMEOUT_SECONDS, what="a number of seconds >= 0")


def _is_lock_conflict(error: duckdb.Error) -> bool:
    text = str(error)
    return "Could not set lock" in text or "Conflicting lock" in text


def sql_literal(value) -> str:
    """A SQL string literal of str(value) (for statements that take no bound parameter: COPY, SET, ATTACH)."""
    return "'" + str(value).replace("'", "''") + "'"


def connect(path: Path | str, read_only: bool = False, wait_seconds: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file with bounded memory and a spill directory beside it.

    REDCAT_DUCKDB_MEMORY_LIMIT (default 3GB, as for dbt in profiles.yml) and REDCAT_DUCKDB_THREADS (default: all cores)
    tune it; the spill directory keeps big sorts and joins off the heap. When another process holds the file
    (a second `redcat run`, a notebook or BI tool on the working warehouse), this waits up to `wait_seconds`
    (REDCAT_LOCK_TIMEOUT_SECONDS) and then raises WarehouseBusy saying who holds it and what to do.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise WarehouseBusy(
            f"{path} is a directory, not a DuckDB file. Point REDCAT_WAREHOUSE (or --warehouse) at "
            "a file, e.g. data/warehouse.duckdb."
        )
    config = {"memory_limit": os.environ.get("REDCAT_DUCKDB_MEMORY_LIMIT", "3GB")}
    if threads := os.environ.get("REDCAT_DUCKDB_THREADS"):
        config["threads"] = int(threads)
    timeout = lock_timeout_seconds() if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + timeout
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only, config=config)
            break
        except duckdb.IOException as e:
            if not _is_lock_conflict(e):
                raise
            if time.monotonic() >= deadline:
                holder = (
                    str(e).split("Conflicting lock is held in", 1)[-1].strip() if "Conflicting lock" in str(e) else ""
                )
                raise WarehouseBusy(
                    f"The warehouse {path} is in use by another process"
                    + (f" ({holder.splitlines()[0]})" if holder else "")
                    + f"; waited {timeout:g} s for it (REDCAT_LOCK_TIMEOUT_SECONDS). Let the other run finish, or close "
                    "the connection holding it (BI tools and notebooks should read the published serving file, not the "
                    "working warehouse), then run again; or raise REDCAT_LOCK_TIMEOUT_SECONDS to wait longer."
                ) from None
            time.sleep(min(0.5, max(deadline - time.monotonic(), 0.01)))
    # After connecting: ICU (built in) loads with the connection, not with its config.
    # UTC sessions make any implicit use of the session time zone visible in tests.
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # redcat shows its own progress
    if not read_only:
        con.execute(f"SET temp_directory = {sql_literal(str(path.parent / (path.name + '.tmp')))}")
    return con


def wait_until_free(path: Path | str) -> None:
    """Wait (up to REDCAT_LOCK_TIMEOUT_SECONDS) until this process could write the warehouse; raise
    WarehouseBusy if it cannot. A run checks this first, so a busy warehouse stops it before any step."""
    path = Path(path)
    if not path.exists():
        return
    connect(path).close()
