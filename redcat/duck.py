"""DuckDB connections with the project's settings."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


def connect(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file with bounded memory and a spill directory beside it.

    REDCAT_DUCKDB_MEMORY_LIMIT (default 3GB, as for dbt in profiles.yml) and REDCAT_DUCKDB_THREADS (default: all cores)
    tune it; the spill directory keeps big sorts and joins off the heap.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": os.environ.get("REDCAT_DUCKDB_MEMORY_LIMIT", "3GB")}
    if threads := os.environ.get("REDCAT_DUCKDB_THREADS"):
        config["threads"] = int(threads)
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    # After connecting: ICU (built in) loads with the connection, not with its config.
    # UTC sessions make any implicit use of the session time zone visible in tests.
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # redcat shows its own progress
    if not read_only:
        con.execute(f"SET temp_directory = '{path.parent / (path.name + '.tmp')}'")
    return con
