"""Publishing the marts for BI: date-partitioned Parquet plus a small DuckDB serving file.

A BI tool must never block a run and never see half a publication. DuckDB allows one writer,
and even a read-only reader of a file blocks it, so BI never reads the working warehouse:

1. The report dates a run rebuilt (int_reprocessing_dates) are exported from `marts` and `bi`
   to new, immutable Parquet files, one per table and date, under the export directory:
   `<export>/<schema>/<table>/<date column>=YYYY-MM-DD/part-<publication>.parquet`.
   Existing files are never rewritten.
2. A publication manifest lists exactly the current file of every table and date
   (`<export>/_publications/<id>.json`; `<export>/current.json` points at the latest).
3. A new DuckDB file is built whose `marts` and `bi` views read exactly those files, closed,
   and `os.replace`d over the serving path (default data/serving.duckdb): atomic. A reader
   connected to the old file keeps reading the old publication until it reconnects.
4. Files that neither of the last two publications references are deleted.
A process killed at any point leaves the previous serving file and manifest in place.
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

from redcat.config import Settings
from redcat.duck import connect

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
WHOLE_TABLES = {("ops", "completeness_log"): ("bi", "completeness_history")}
KEEP_PUBLICATIONS = 2
SCHEMA_FILE = "_schema.parquet"  # zero rows: a table's columns even before it has any date


@dataclass
class Publication:
    id: str
    published_at: str
    run_id: str | None
    dates_exported: list[str]
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # "schema.table" -> {date: file}
    rows: dict[str, int] = field(default_factory=dict)
    serving: str = ""


def _q(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def current_manifest(settings: Settings) -> dict | None:
    pointer = settings.export_dir / "current.json"
    if not pointer.exists():
        return None
    return json.loads(pointer.read_text())


def publish(settings: Settings, run_id: str | None = None, all_dates: bool = False) -> Publication:
    """Export what the last run rebuilt and swap in a new serving file. `all_dates` exports every
    date (the first publication does this by itself)."""
    export = settings.export_dir
    export.mkdir(parents=True, exist_ok=True)
    for leftover in settings.serving.parent.glob(settings.serving.name + ".tmp-*"):
        leftover.unlink()  # a publication killed before its swap
    previous = current_manifest(settings)
    pub = Publication(id=dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8],
                      published_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), run_id=run_id,
                      dates_exported=[])
    con = connect(settings.warehouse, read_only=True)
    try:
        if all_dates or previous is None:
            dates = [r[0] for r in con.execute(
                "SELECT DISTINCT report_date FROM marts.mart_callback_completeness "
                "UNION SELECT DISTINCT report_date FROM marts.mart_brand_daily ORDER BY 1").fetchall()]
        else:
            dates = [r[0] for r in con.execute(
                "SELECT report_date FROM intermediate.int_reprocessing_dates ORDER BY 1").fetchall()]
        pub.dates_exported = [d.isoformat() for d in dates]
        for (schema, table), date_col in TABLES.items():
            export_dates = pub.dates_exported
            key = f"{schema}.{table}"
            files = dict((previous or {}).get("files", {}).get(key, {}))
            target = export / schema / table
            target.mkdir(parents=True, exist_ok=True)
            schema_file = target / f"_schema-{pub.id}.parquet"
            con.execute(f"COPY (SELECT * FROM {schema}.{table} LIMIT 0) TO {_q(schema_file)} (FORMAT parquet)")
            files[SCHEMA_FILE] = str(schema_file.relative_to(export))
            if export_dates:
                staged = target / f".staging-{pub.id}"
                con.execute(
                    f"""COPY (SELECT * FROM {schema}.{table} WHERE {date_col} IN (SELECT unnest(?::DATE[])))
                        TO {_q(staged)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({date_col}),
                                         FILENAME_PATTERN 'part-{pub.id}-{{i}}', WRITE_PARTITION_COLUMNS true)""",
                    [export_dates],
                )
                written = {p.parent.name.split("=", 1)[1]: p for p in staged.glob("*/*.parquet")}
                for day in export_dates:
                    if day in written:
                        final = target / f"{date_col}={day}" / written[day].name
                        final.parent.mkdir(parents=True, exist_ok=True)
                        os.replace(written[day], final)  # a new name: no reader ever sees it change
                        files[day] = str(final.relative_to(export))
                    else:
                        files.pop(day, None)  # the date has no rows any more
                shutil.rmtree(staged, ignore_errors=True)
            pub.files[key] = files
        for (schema, table), (out_schema, out_table) in WHOLE_TABLES.items():
            target = settings.export_dir / out_schema / out_table
            target.mkdir(parents=True, exist_ok=True)
            path = target / f"_schema-{pub.id}.parquet"  # one file, so it is kept and collected like schema files
            con.execute(f"COPY (SELECT * FROM {schema}.{table} ORDER BY evaluated_at, report_date, partner) "
                        f"TO {_q(path)} (FORMAT parquet)")
            pub.files[f"{out_schema}.{out_table}"] = {SCHEMA_FILE: str(path.relative_to(settings.export_dir))}
    finally:
        con.close()
    _build_serving_file(settings, pub)
    manifest_path = export / "_publications" / f"{pub.id}.json"
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(pub.__dict__, indent=1))
    tmp_pointer = export / f".current-{pub.id}.json"
    tmp_pointer.write_text(json.dumps(pub.__dict__, indent=1))
    os.replace(tmp_pointer, export / "current.json")
    _collect_garbage(export)
    return pub


def _build_serving_file(settings: Settings, pub: Publication) -> None:
    serving = settings.serving
    serving.parent.mkdir(parents=True, exist_ok=True)
    tmp = serving.with_name(f"{serving.name}.tmp-{pub.id}")
    con = duckdb.connect(str(tmp))
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA bi; CREATE SCHEMA _redcat")
        for key, files in pub.files.items():
            paths = [str(settings.export_dir / files[SCHEMA_FILE])] + [
                str(settings.export_dir / f) for d, f in sorted(files.items()) if d != SCHEMA_FILE]
            listing = "[" + ", ".join(_q(p) for p in paths) + "]"
            con.execute(f"CREATE VIEW {key} AS SELECT * FROM read_parquet({listing}, union_by_name = true)")
            pub.rows[key] = con.execute(f"SELECT count(*) FROM {key}").fetchone()[0]
        pub.serving = str(serving)
        con.execute("CREATE TABLE _redcat.publication (id VARCHAR, published_at VARCHAR, run_id VARCHAR, "
                    "dates_exported VARCHAR[], tables JSON)")
        con.execute("INSERT INTO _redcat.publication VALUES (?, ?, ?, ?, ?)",
                    [pub.id, pub.published_at, pub.run_id, pub.dates_exported, json.dumps(pub.rows)])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, serving)


def _collect_garbage(export: Path) -> None:
    """Delete files that none of the last KEEP_PUBLICATIONS publications references (a reader on
    the previous serving file can still finish its queries)."""
    manifests = sorted((export / "_publications").glob("*.json"))
    keep = manifests[-KEEP_PUBLICATIONS:]
    referenced = set()
    for m in keep:
        for files in json.loads(m.read_text())["files"].values():
            referenced.update(files.values())
    for m in manifests[:-KEEP_PUBLICATIONS]:
        m.unlink()
    for path in export.glob("*/*/*/*.parquet"):
        if str(path.relative_to(export)) not in referenced:
            path.unlink()
    for path in export.glob("*/*/_schema-*.parquet"):
        if str(path.relative_to(export)) not in referenced:
            path.unlink()
    for staged in export.glob("*/*/.staging-*"):
        shutil.rmtree(staged, ignore_errors=True)
