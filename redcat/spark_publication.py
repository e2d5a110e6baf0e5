"""Publishing for BI when the marts are Spark tables (REDCAT_DBT_TARGET=spark).

BI reads one surface on both engines: the publication of redcat/serving.py (Parquet folders and
a self-contained DuckDB serving file). On Spark the rows come from Spark's tables:

1. A PySpark session on dbt's metastore (redcat/warehouse_reader.py) writes, as Parquet, the
   report dates the run rebuilt (`intermediate.int_reprocessing_dates`; every date for the first
   publication), each published relation's rows of those dates, and the relations published
   whole; Spark also counts each relation's rows of those dates, for the publication's check.
2. Those files become a staging DuckDB file (`<warehouse stem>.spark-publication.duckdb`, beside
   the ledger) with the columns in the marts' contract order and types (`_marts.yml`): Spark
   lists a partition column last and writes time stamps as UTC instants, and a BI tool must see
   the same tables whichever engine built them. The staging file also gets `ops.completeness_log`
   from the ledger.
3. `publish(source=staging)` publishes from it exactly as it does from the DuckDB warehouse.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from redcat.config import DBT_PROJECT_DIR, Settings
from redcat.duck import sql_literal
from redcat.serving import (
    ALL_DATES_SQL,
    REBUILT_DATES_SQL,
    TABLES,
    WHOLE_TABLES,
    Publication,
    previous_publication,
    publish,
)

# dbt's contract types (Spark's spellings) -> DuckDB's
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "double": "DOUBLE",
    "date": "DATE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
}


@dataclass
class SparkPublication:
    publication: Publication
    spark_rows: dict[str, int]  # "schema.table" -> rows of the exported dates, counted by Spark


def staging_path(settings: Settings) -> Path:
    return settings.warehouse.with_name(f"{settings.warehouse.stem}.spark-publication.duckdb")


def contract_columns() -> dict[str, list[tuple[str, str]]]:
    """Each contracted mart's columns in order, with their DuckDB types."""
    spec = yaml.safe_load((DBT_PROJECT_DIR / "models" / "marts" / "_marts.yml").read_text())
    contracts = {}
    for model in spec["models"]:
        if model.get("config", {}).get("contract", {}).get("enforced"):
            contracts[model["name"]] = [(c["name"], DUCKDB_TYPES[c["data_type"]]) for c in model["columns"]]
    return contracts


def _contract_for(schema: str, table: str, contracts: dict) -> list[tuple[str, str]] | None:
    """A mart's own contract; a bi relation has its mart's (bi.mart_brand_daily, bi.notes -> mart_notes)."""
    if schema == "marts":
        return contracts.get(table)
    return contracts.get(table) or contracts.get(f"mart_{table}")


def stage_from_spark(settings: Settings, staging: Path, all_dates: bool) -> dict[str, int]:
    """Write the staging DuckDB file from Spark's tables (see the module doc); returns Spark's row
    counts of the exported dates per published dbt relation."""
    from pyspark.sql import functions as F

    from redcat.warehouse_reader import spark_session

    files = staging.with_name(staging.name + ".parquet")
    shutil.rmtree(files, ignore_errors=True)
    counts: dict[str, int] = {}
    with spark_session({**os.environ, **settings.export_env()}) as spark:
        # publish() reads the dates again from the staging file, by the same SQL
        dates_frame = spark.sql(ALL_DATES_SQL if all_dates else REBUILT_DATES_SQL)
        dates_frame.write.mode("overwrite").parquet(str(files / "intermediate" / "int_reprocessing_dates"))
        dates = [r[0] for r in dates_frame.collect()]
        for (schema, table), date_col in TABLES.items():
            frame = spark.table(f"`{schema}`.`{table}`")
            frame = frame.where(F.col(date_col).isin(dates)) if dates else frame.limit(0)
            counts[f"{schema}.{table}"] = frame.count()
            frame.write.mode("overwrite").parquet(str(files / schema / table))
        for schema, table in WHOLE_TABLES:
            if schema in ("marts", "bi"):
                spark.table(f"`{schema}`.`{table}`").write.mode("overwrite").parquet(str(files / schema / table))
    if staging.exists():
        staging.unlink()
    contracts = contract_columns()
    con = duckdb.connect(str(staging))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        for schema in ("intermediate", "marts", "bi", "ops"):
            con.execute(f"CREATE SCHEMA {schema}")
        for folder in sorted(p for p in files.glob("*/*") if p.is_dir()):
            schema, table = folder.parent.name, folder.name
            source = f"read_parquet({sql_literal(folder / '*.parquet')})"
            read = {c: t for c, t, *_ in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
            contract = _contract_for(schema, table, contracts) or [(c, None) for c in read]
            missing = [c for c, _ in contract if c not in read]
            if missing:
                raise RuntimeError(
                    f"Spark's {schema}.{table} lacks the contracted columns {missing}: rebuild it "
                    "(`redcat run --target spark` for the affected dates) before publishing."
                )
            select = []
            for column, kind in contract:
                value = (
                    f"timezone('UTC', \"{column}\")" if read[column] == "TIMESTAMP WITH TIME ZONE" else f'"{column}"'
                )
                select.append(f'CAST({value} AS {kind}) AS "{column}"' if kind else f'{value} AS "{column}"')
            con.execute(f"CREATE TABLE {schema}.{table} AS SELECT {', '.join(select)} FROM {source}")
        con.execute(f"ATTACH {sql_literal(settings.warehouse)} AS ledger (READ_ONLY)")
        con.execute("CREATE TABLE ops.completeness_log AS SELECT * FROM ledger.ops.completeness_log")
        con.execute("DETACH ledger")
        con.execute("CHECKPOINT")
    finally:
        con.close()
        shutil.rmtree(files, ignore_errors=True)
    return counts


def publish_from_spark(
    settings: Settings, run_id: str | None = None, all_dates: bool = False, now: dt.datetime | None = None
) -> SparkPublication:
    """Publish the Spark warehouse's marts for BI: the same publication as on DuckDB."""
    everything = all_dates or previous_publication(settings) is None
    staging = staging_path(settings)
    try:
        counts = stage_from_spark(settings, staging, everything)
        pub = publish(settings, run_id=run_id, all_dates=everything, now=now, source=staging)
    finally:
        staging.unlink(missing_ok=True)
    return SparkPublication(pub, counts)
