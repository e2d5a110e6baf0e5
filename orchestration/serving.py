"""Publication for BI: after the marts, export what the run rebuilt and swap in a new serving
file (redcat/serving.py). If a blocking check failed upstream, this step does not run and BI
keeps the last good publication."""

import warnings
from collections.abc import Iterator

import dagster as dg
import duckdb

from orchestration.partitions import daily_partitions
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from redcat.serving import TABLES, WHOLE_DBT_TABLES, publish
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
    kinds={"duckdb", "parquet"},
    owners=["team:data-engineering"],
    description="The marts and bi views as one Parquet folder per publication (data/export/<schema>/<table> is the "
    "current one) and a self-contained DuckDB serving file (data/serving.duckdb) that BI tools read: "
    "published atomically after every successful run (docs/bi.md).",
    check_specs=[
        dg.AssetCheckSpec(
            "serving_matches_marts",
            asset=PUBLICATION,
            blocking=True,
            description="Every exported date has exactly the warehouse's rows in the serving file.",
        )
    ],
)
def publication(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> Iterator:
    if dbt_target() == "spark":
        raise dg.Failure(
            description="REDCAT_DBT_TARGET=spark: the marts are Spark tables, and the publication exports "
            "the DuckDB warehouse. On Spark BI reads the marts and bi tables of the Spark warehouse "
            "(docs/spark.md); `redcat run --target spark` does not run this step."
        )
    settings = warehouse.settings()
    pub = publish(settings, run_id=context.run.run_id)
    yield dg.MaterializeResult(
        metadata={
            "publication": pub.id,
            "serving_file": dg.MetadataValue.path(pub.serving),
            "dates_exported": len(pub.dates_exported),
            "rows": dg.MetadataValue.json(pub.rows),
        }
    )
    yield _compare(settings, pub)


def _compare(settings, pub) -> dg.AssetCheckResult:
    """Rows of the exported dates in the serving file against the warehouse, table by table."""
    mismatches = []
    wh = duckdb.connect(str(settings.warehouse), read_only=True)
    sv = duckdb.connect(str(settings.serving), read_only=True)
    try:
        for (schema, table), date_col in TABLES.items():
            q = f"SELECT count(*) FROM {schema}.{table} WHERE {date_col} IN (SELECT unnest(?::DATE[]))"
            a = wh.execute(q, [pub.dates_exported]).fetchone()[0]
            b = sv.execute(q, [pub.dates_exported]).fetchone()[0]
            if a != b:
                mismatches.append(f"{schema}.{table}: warehouse {a:,} rows, serving {b:,}")
    finally:
        wh.close()
        sv.close()
    return dg.AssetCheckResult(
        asset_key=PUBLICATION,
        check_name="serving_matches_marts",
        passed=not mismatches,
        description="; ".join(mismatches) + ". Re-run the partition to publish again."
        if mismatches
        else f"{len(TABLES)} tables, {len(pub.dates_exported)} dates: the serving file holds the warehouse's rows",
    )
