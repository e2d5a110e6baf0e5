"""Publishing the marts for BI: one Parquet folder per publication plus a DuckDB serving file.

A BI tool must never block a run and never see half a publication. DuckDB allows one writer,
and even a read-only reader of a file blocks it, so BI never reads the working warehouse:

1. The report dates a run rebuilt (int_reprocessing_dates) are exported from `marts` and `bi`
   into a new publication folder, one Parquet file per table and date:
   `<export>/publications/<id>/<schema>/<table>/YYYY-MM-DD.parquet`. Dates the run did not
   rebuild are hard links to the previous publication's files (no copy; a file is never
   rewritten). The folder is built under a temporary name and renamed when complete.
   Every column is in the file, the date column too (as DATE), and counts are BIGINT, so
   pandas, pyarrow, polars and DuckDB read a folder as it is, with the same types.
2. `<export>/current` is a symlink to the newest publication folder, swapped atomically;
   `<export>/marts` and `<export>/bi` point through it. So `<export>/bi/mart_brand_daily` is
   always exactly the current publication: no file of another publication is visible there.
   `<export>/current.json` lists its files (`<export>/_publications/<id>.json` for each one).
3. The serving file (default `<warehouse dir>/serving.duckdb`) holds the same rows as DuckDB
   tables, no paths at all, so a copied or mounted serving file reads anywhere. It is written as a
   new file from the previous one's rows of the dates not rebuilt and the rebuilt dates' files (a
   table whose columns changed is rebuilt whole; no dead space accumulates), checkpointed, and
   `os.replace`d over the serving path: atomic.
   A connection to the old file keeps reading the old publication until it reconnects.
4. A superseded publication folder stays readable for REDCAT_EXPORT_RETENTION_DAYS (default 7)
   after the publication that replaced it, then is deleted (a reader of a folder, e.g. a
   dashboard's pyarrow dataset, has that long to finish or reopen).
A process killed at any point leaves the previous serving file, folder and manifest in place.

`TABLES` (by report date) and `WHOLE_TABLES` (whole, one file per publication) are the lists of what
is published (and what the publication asset depends on).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from redcat.config import Settings, env_number
from redcat.duck import connect, sql_literal

# table -> its date column; every mart and bi relation is published, except the row-level
# marts.fct_attribution (one row per conversion, touch and model): an analyst who needs it reads
# the working warehouse
TABLES = {
    ("marts", "mart_note_daily"): "report_date",
    ("marts", "mart_brand_daily"): "report_date",
    ("marts", "mart_brand_roi_daily"): "report_date",
    ("marts", "mart_funnel_daily"): "report_date",
    ("marts", "mart_callback_completeness"): "report_date",
    ("bi", "mart_note_daily"): "report_date",
    ("bi", "mart_brand_daily"): "report_date",
    ("bi", "mart_brand_roi_daily"): "report_date",
    ("bi", "mart_funnel_daily"): "report_date",
    ("bi", "mart_callback_completeness"): "report_date",
    ("bi", "suppression_summary"): "report_date",
}
# published whole, one file per publication: small, and history rather than report dates
# (source table -> published name, row order)
WHOLE_TABLES = {
    ("ops", "completeness_log"): (("bi", "completeness_history"), "evaluated_at, report_date, partner"),
    # reference data and the nested funnel (rebuilt whole: a callback changes the cohorts of the
    # lookback days before it, beyond the report dates a run republishes)
    ("bi", "notes"): (("bi", "notes"), "note_id"),
    ("bi", "brands"): (("bi", "brands"), "brand_id"),
    ("bi", "partners"): (("bi", "partners"), "partner, valid_from"),
    ("bi", "mart_funnel_nested_daily"): (("bi", "mart_funnel_nested_daily"), "report_date, brand_id, partner"),
    # weekly and monthly totals: no report_date, and a period's interval depends on all its days
    # (int_estimation_cells is rebuilt whole), so a run's report dates cannot say which rows changed
    ("marts", "mart_brand_period"): (
        ("marts", "mart_brand_period"),
        "period_grain, period_start, brand_id, partner, attribution_model",
    ),
    ("bi", "mart_brand_period"): (
        ("bi", "mart_brand_period"),
        "period_grain, period_start, brand_id, partner, attribution_model",
    ),
}
# The report dates a publication exports (plain SQL that DuckDB and Spark both run): every date,
# for the first publication, and otherwise the dates the last run rebuilt
ALL_DATES_SQL = (
    "SELECT DISTINCT report_date FROM marts.mart_callback_completeness "
    "UNION SELECT DISTINCT report_date FROM marts.mart_brand_daily"
)
REBUILT_DATES_SQL = "SELECT report_date FROM intermediate.int_reprocessing_dates"
# the dbt relations among WHOLE_TABLES: the publication asset depends on them too
WHOLE_DBT_TABLES = tuple(key for key in WHOLE_TABLES if key[0] in ("marts", "bi"))
SCHEMA_FILE = "_schema.parquet"  # zero rows: a table's columns even before it has any date (readers skip `_` files)
LAYOUT = 2  # publication folders (1: one folder per table with files of several publications)
RETENTION_DAYS_DEFAULT = 7
# DuckDB's sum() of integers is HUGEINT, which Parquet stores as DOUBLE: published as BIGINT
INTEGER_CASTS = {"HUGEINT": "BIGINT", "UHUGEINT": "UBIGINT"}


@dataclass
class Publication:
    id: str
    published_at: str
    run_id: str | None
    dates_exported: list[str]
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # "schema.table" -> {date: file}
    rows: dict[str, int] = field(default_factory=dict)
    serving: str = ""
    folder: str = ""  # relative to the export directory
    layout: int = LAYOUT


def retention_days() -> float:
    """REDCAT_EXPORT_RETENTION_DAYS (default 7): how long a superseded publication stays readable."""
    return env_number("REDCAT_EXPORT_RETENTION_DAYS", RETENTION_DAYS_DEFAULT, what="a number of days >= 0")


def current_manifest(settings: Settings) -> dict | None:
    pointer = settings.export_dir / "current.json"
    if not pointer.exists():
        return None
    return json.loads(pointer.read_text())


def previous_publication(settings: Settings) -> dict | None:
    """The current publication's manifest if the next one can build on it (same layout), else None:
    the next publication then exports every date."""
    previous = current_manifest(settings)
    return previous if previous is not None and previous.get("layout") == LAYOUT else None


def _select_list(con, schema: str, table: str) -> str:
    cols = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
        "AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return ", ".join(f'CAST("{c}" AS {INTEGER_CASTS[t]}) AS "{c}"' if t in INTEGER_CASTS else f'"{c}"' for c, t in cols)


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # no hard links on this file system: a copy (files are immutable either way)
        shutil.copyfile(src, dst)


def publish(
    settings: Settings,
    run_id: str | None = None,
    all_dates: bool = False,
    now: dt.datetime | None = None,
    source: Path | None = None,
) -> Publication:
    """Export what the last run rebuilt and swap in a new serving file. `all_dates` exports every
    date (the first publication, and the first after a layout change, do this by themselves).
    `source` is a DuckDB file holding the published relations in place of the warehouse (on Spark:
    redcat/spark_publication.py)."""
    export = settings.export_dir
    export.mkdir(parents=True, exist_ok=True)
    now = now or dt.datetime.now(dt.UTC)
    for leftover in settings.serving.parent.glob(settings.serving.name + ".tmp-*"):
        leftover.unlink()  # a publication killed before its swap
    for leftover in (export / "publications").glob(".building-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    previous = previous_publication(settings)  # files of another layout are not linked into the new one
    pub = Publication(
        id=now.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8],
        published_at=now.isoformat(timespec="seconds"),
        run_id=run_id,
        dates_exported=[],
    )
    pub.folder = f"publications/{pub.id}"
    building = export / "publications" / f".building-{pub.id}"
    building.mkdir(parents=True)
    replaced: dict[str, list[str]] = {}  # "schema.table" -> dates whose rows this publication replaces
    con = connect(source or settings.warehouse, read_only=True)
    try:
        sql = ALL_DATES_SQL if all_dates or previous is None else REBUILT_DATES_SQL
        dates = [r[0] for r in con.execute(f"{sql} ORDER BY 1").fetchall()]
        pub.dates_exported = [d.isoformat() for d in dates]
        for (schema, table), date_col in TABLES.items():
            export_dates = pub.dates_exported
            key = f"{schema}.{table}"
            before = dict((previous or {}).get("files", {}).get(key, {}))
            before.pop(SCHEMA_FILE, None)
            target = building / schema / table
            target.mkdir(parents=True)
            columns = _select_list(con, schema, table)
            con.execute(
                f"COPY (SELECT {columns} FROM {schema}.{table} LIMIT 0) TO {sql_literal(target / SCHEMA_FILE)} (FORMAT parquet)"
            )
            files = {SCHEMA_FILE: f"{pub.folder}/{schema}/{table}/{SCHEMA_FILE}"}
            for day, rel in before.items():
                if day not in export_dates:
                    _link(export / rel, target / f"{day}.parquet")
                    files[day] = f"{pub.folder}/{schema}/{table}/{day}.parquet"
            if export_dates:
                staged = building / ".staging" / schema / table
                staged.parent.mkdir(parents=True, exist_ok=True)
                con.execute(
                    f"""COPY (SELECT {columns} FROM {schema}.{table} WHERE {date_col} IN (SELECT unnest(?::DATE[])))
                        TO {sql_literal(staged)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({date_col}),
                                         FILENAME_PATTERN 'part-{{i}}', WRITE_PARTITION_COLUMNS true)""",
                    [export_dates],
                )
                for day in export_dates:
                    parts = sorted((staged / f"{date_col}={day}").glob("*.parquet"))
                    final = target / f"{day}.parquet"
                    if len(parts) == 1:
                        os.replace(parts[0], final)
                    elif parts:  # DuckDB split a large date: one file per date for readers
                        con.execute(
                            f"COPY (SELECT * FROM read_parquet(?)) TO {sql_literal(final)} (FORMAT parquet, COMPRESSION zstd)",
                            [[str(p) for p in parts]],
                        )
                    if parts:
                        files[day] = f"{pub.folder}/{schema}/{table}/{day}.parquet"
                replaced[key] = export_dates
            pub.files[key] = files
        for (schema, table), ((out_schema, out_table), order) in WHOLE_TABLES.items():
            target = building / out_schema / out_table
            target.mkdir(parents=True, exist_ok=True)
            con.execute(
                f"COPY (SELECT {_select_list(con, schema, table)} FROM {schema}.{table} "
                f"ORDER BY {order}) TO {sql_literal(target / 'data.parquet')} (FORMAT parquet)"
            )
            pub.files[f"{out_schema}.{out_table}"] = {
                SCHEMA_FILE: f"{pub.folder}/{out_schema}/{out_table}/data.parquet"
            }
            replaced[f"{out_schema}.{out_table}"] = None  # whole
    finally:
        con.close()
    shutil.rmtree(building / ".staging", ignore_errors=True)
    folder = export / pub.folder
    os.replace(building, folder)  # the folder appears complete
    _build_serving_file(settings, pub, replaced, incremental=previous is not None)
    manifest_path = export / "_publications" / f"{pub.id}.json"
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(pub.__dict__, indent=1))
    _point_current(export, pub)
    tmp_pointer = export / f".current-{pub.id}.json"
    tmp_pointer.write_text(json.dumps(pub.__dict__, indent=1))
    os.replace(tmp_pointer, export / "current.json")
    collect_garbage(export, now=now)
    return pub


def _point_current(export: Path, pub: Publication) -> None:
    """`current` -> the new folder (atomic), and `marts`, `bi` through it."""
    tmp = export / f".current-{pub.id}"
    tmp.symlink_to(pub.folder, target_is_directory=True)
    os.replace(tmp, export / "current")
    for schema in sorted({key.split(".")[0] for key in pub.files}):
        link = export / schema
        if link.is_symlink():
            continue
        if link.exists():  # a folder of the old layout (one folder per table, several publications)
            shutil.rmtree(link)
        link.symlink_to(Path("current") / schema, target_is_directory=True)


def _columns(con, relation: str) -> list[tuple]:
    return [tuple(r[:2]) for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]


def _build_serving_file(settings: Settings, pub: Publication, replaced: dict, incremental: bool) -> None:
    """A new DuckDB file with this publication's rows. Each table is written once into the new
    file: the previous file's rows of the dates this publication did not replace, then the
    replaced dates from their Parquet files. Deleting and inserting in a copy of the previous file
    would leave the deleted rows' blocks in it (DuckDB reuses them but never shrinks the file), so
    the serving file would grow with every re-run; written fresh it holds live rows only."""
    serving = settings.serving
    serving.parent.mkdir(parents=True, exist_ok=True)
    tmp = serving.with_name(f"{serving.name}.tmp-{pub.id}")
    before = serving.with_name(f"{serving.name}.tmp-{pub.id}-previous")
    if incremental and serving.exists():
        # a copy, not the file itself: a BI tool may hold the serving file open, even for writing
        shutil.copyfile(serving, before)
    export = settings.export_dir
    con = duckdb.connect(str(tmp))
    try:
        con.execute("SET enable_progress_bar = false")
        if before.exists():
            con.execute(f"ATTACH {sql_literal(before)} AS previous (READ_ONLY)")
        for schema in ("marts", "bi", "_redcat"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute("BEGIN")
        for key, files in pub.files.items():
            schema_file = sql_literal(export / files[SCHEMA_FILE])
            dated = [str(export / f) for d, f in sorted(files.items()) if d != SCHEMA_FILE]
            every = "[" + ", ".join([schema_file] + [sql_literal(p) for p in dated]) + "]"
            in_previous = (
                before.exists()
                and con.execute(
                    "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'previous' "
                    "AND schema_name || '.' || table_name = ?",
                    [key],
                ).fetchone()[0]
            )
            days = replaced.get(key, [])  # None: the table is published whole
            if (
                days is not None
                and in_previous
                and _columns(con, f"previous.{key}") == _columns(con, f"read_parquet({schema_file})")
            ):
                date_col = TABLES[tuple(key.split("."))]
                new = [str(export / files[d]) for d in days if d in files]
                kept = f"SELECT * FROM previous.{key} WHERE {date_col} NOT IN (SELECT unnest(?::DATE[]))"
                if new:
                    con.execute(f"CREATE TABLE {key} AS {kept} UNION ALL SELECT * FROM read_parquet(?)", [days, new])
                else:
                    con.execute(f"CREATE TABLE {key} AS {kept}", [days])
            else:  # new, published whole, or its columns changed: built from every file
                con.execute(f"CREATE TABLE {key} AS SELECT * FROM read_parquet({every}, union_by_name = true)")
            pub.rows[key] = con.execute(f"SELECT count(*) FROM {key}").fetchone()[0]
        pub.serving = str(serving)
        con.execute(
            "CREATE TABLE _redcat.publication (id VARCHAR, published_at VARCHAR, run_id VARCHAR, "
            "dates_exported VARCHAR[], tables JSON, folder VARCHAR)"
        )
        con.execute(
            "INSERT INTO _redcat.publication VALUES (?, ?, ?, ?, ?, ?)",
            [pub.id, pub.published_at, pub.run_id, pub.dates_exported, json.dumps(pub.rows), pub.folder],
        )
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    finally:
        con.close()
        before.unlink(missing_ok=True)
    os.replace(tmp, serving)


def collect_garbage(export: Path, now: dt.datetime | None = None, keep_days: float | None = None) -> list[str]:
    """Delete publication folders superseded more than `keep_days` (REDCAT_EXPORT_RETENTION_DAYS,
    default 7) ago: a publication can be open until then. The current one is always kept; a
    file still linked from a newer folder lives on there. Returns the deleted publication ids."""
    now = now or dt.datetime.now(dt.UTC)
    keep = dt.timedelta(days=retention_days() if keep_days is None else keep_days)
    manifests = sorted((export / "_publications").glob("*.json"))
    deleted = []
    for older, newer in zip(manifests, manifests[1:]):
        superseded_at = dt.datetime.fromisoformat(json.loads(newer.read_text())["published_at"])
        if now - superseded_at < keep:
            continue
        pub_id = older.stem
        shutil.rmtree(export / "publications" / pub_id, ignore_errors=True)
        older.unlink()
        deleted.append(pub_id)
    for staged in export.glob("*/*/.staging-*"):  # the layout-1 publication's leftovers
        shutil.rmtree(staged, ignore_errors=True)
    return deleted
