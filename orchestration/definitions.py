"""The one `Definitions` object of the redcat code location."""

import dagster as dg

from orchestration.ingestion import ingestion_assets
from orchestration.resources import WarehouseResource, progress_resource

# Everything, for one or more delivery dates: ingestion, dbt models and checks.
daily_job = dg.define_asset_job(
    "redcat_daily",
    selection=dg.AssetSelection.all(),
    description="Ingest the delivery dates, rebuild what they touch, run every check.",
)

defs = dg.Definitions(
    assets=[*ingestion_assets],
    jobs=[daily_job],
    resources={"warehouse": WarehouseResource(), "progress": progress_resource},
)
