"""Warehouse compaction after the publication (redcat/compaction.py): when re-run dates have left
more than REDCAT_COMPACT_FREE_SHARE of the file's blocks free, the warehouse is rewritten with its
live rows only. Runs in the writer pool, so no other step writes meanwhile."""

import dagster as dg

from orchestration.partitions import daily_partitions
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.serving import PUBLICATION
from redcat.compaction import compact

COMPACTION = dg.AssetKey(["ops", "warehouse_compaction"])


@dg.asset(
    key=COMPACTION,
    deps=[PUBLICATION],
    group_name="ops",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    owners=["team:data-engineering"],
    description="The working warehouse's dead space after replaced dates: checked after every publication and "
    "compacted (COPY FROM DATABASE into a new file, checked table by table, swapped in atomically) when "
    "free blocks exceed REDCAT_COMPACT_FREE_SHARE (default 0.25; docs/performance.md).",
)
def warehouse_compaction(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    result = compact(warehouse.settings().warehouse)
    context.log.info(result.reason)
    return dg.MaterializeResult(
        metadata={
            "compacted": result.compacted,
            "free_share_before": dg.MetadataValue.float(round(result.blocks_before.free_share, 4)),
            "blocks_before": result.blocks_before.total,
            "size_before_mib": dg.MetadataValue.float(round(result.bytes_before / 2**20, 2)),
            "size_after_mib": dg.MetadataValue.float(round(result.bytes_after / 2**20, 2)),
            "detail": result.reason,
        }
    )
