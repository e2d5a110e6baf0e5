"""Publication for BI: after the marts, export what the run rebuilt and swap in a new serving
file (redcat/serving.py; on Spark from Spark's tables, redcat/spark_publication.py). If a blocking
check failed upstream, this step does not run and BI keeps the last good publication."""

import warnings
from collections.abc import Iterator

import dagster as dg
import duckdb

from orchestration.partitions import daily_partitions
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from redcat.serving import TABLES, WHOLE_DBT_TABLES, Publication, publish
from redcat.spark_publication import publish_from_spark
from redcat.warehouse_reader import dbt_target

PUBLICATION = dg.AssetKey(["serving", "publication"])
# BackfillPolicy on @asset is marked beta but is how a partition range becomes one run.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")


@dg.asset(
    key=PUBLICATION,
    deps=[dg.AssetKey(list(key)) for key in (*TABLES, *WHOLE_DBT_TABLES)],
    group_name="serving",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    kinds={"duckdb", "parquet", "spark"} if dbt_target() == "spark" else {"duckdb", "parquet"},
    owners=["team:data-engineering"],
    description="The marts and bi views as one Parquet folder per publication (data/export/<schema>/<table> is the "
    "current one) and a self-contained DuckDB serving file (data/serving.duckdb) that BI tools read: "
    "published atomically after every successful run, from the DuckDB warehouse or from Spark's tables (docs/bi.md).",
    check_specs=[
        dg.AssetCheckSpec(
            "serving_matches_marts",
            asset=PUBLICATION,
            blocking=True,
            description="Every exported date has exactly the warehouse's (on Spark: Spark's) rows in the serving file.",
        )
    ],
)
def publication(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> Iterator:
    settings = warehouse.settings()
    expected = None  # on Spark: Spark's row counts of the exported dates
    if dbt_target() == "spark":
        spark_pub = publish_from_spark(settings, run_id=context.run.run_id)
        pub, expected = spark_pub.publication, spark_pub.spark_rows
    else:
        pub = publish(settings, run_id=context.run.run_id)
    yield dg.MaterializeResult(
        metadata={
            "publication": pub.id,
            "serving_file": dg.MetadataValue.path(pub.serving),
            "dates_exported": len(pub.dates_exported),
            "rows": dg.MetadataValue.json(pub.rows),
            "source": "spark" if expected is not None else "duckdb",
        }
    )
    yield _compare(settings, pub, expected)


def _compare(settings, pub: Publication, expected: dict[str, int] | None = None) -> dg.AssetCheckResult:
    """Rows of the exported dates in the serving file against the warehouse (or Spark's counts), table by table."""
    mismatches = []
    source = "Spark" if expected is not None else "warehouse"
    wh = None if expected is not None else duckdb.connect(str(settings.warehouse), read_only=True)
    sv = duckdb.connect(str(settings.serving), read_only=True)
    try:
        for (schema, table), date_col in TABLES.items():
            q = f"SELECT count(*) FROM {schema}.{table} WHERE {date_col} IN (SELECT unnest(?::DATE[]))"
            a = expected[f"{schema}.{table}"] if wh is None else wh.execute(q, [pub.dates_exported]).fetchone()[0]
            b = sv.execute(q, [pub.dates_exported]).fetchone()[0]
            if a != b:
                mismatches.append(f"{schema}.{table}: {source} {a:,} rows, serving {b:,}")
    finally:
        if wh is not None:
            wh.close()
        sv.close()
    return dg.AssetCheckResult(
        asset_key=PUBLICATION,
        check_name="serving_matches_marts",
        passed=not mismatches,
        description="; ".join(mismatches) + ". Re-run the partition to publish again."
        if mismatches
        else f"{len(TABLES)} tables, {len(pub.dates_exported)} dates: the serving file holds the {source}'s rows",
    )
