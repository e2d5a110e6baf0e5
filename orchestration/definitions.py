"""The one `Definitions` object of the redcat code location."""

import dagster as dg

from orchestration.alerts import alert_on_check_failure, alert_on_run_failure
from orchestration.automation import build_daily_schedule, late_delivery_sensor
from orchestration.compaction import COMPACTION, warehouse_compaction
from orchestration.dbt import dbt_resource, redcat_dbt
from orchestration.ingestion import ingestion_assets
from orchestration.resources import WarehouseResource, progress_resource
from orchestration.serving import publication
from redcat.warehouse_reader import dbt_target

# Everything, for one or more delivery dates: ingestion, dbt models and checks, publication. On
# Spark (REDCAT_DBT_TARGET=spark) without the compaction: there is no DuckDB warehouse of models.
daily_job = dg.define_asset_job(
    "redcat_daily",
    selection=dg.AssetSelection.all()
    - (dg.AssetSelection.assets(COMPACTION) if dbt_target() == "spark" else dg.AssetSelection.assets()),
    description="Ingest the delivery dates, rebuild what they touch, run every check.",
)

# Written by operators with `redcat accept`; read by dbt as a source.
operator_acceptances = dg.AssetSpec(
    ["operator", "completeness_acceptances"],
    description="Partner-days an operator accepted as known-incomplete (redcat accept): who, when, why.",
    group_name="raw",
    kinds={"parquet"},
)

defs = dg.Definitions(
    assets=[*ingestion_assets, redcat_dbt, publication, warehouse_compaction, operator_acceptances],
    jobs=[daily_job],
    schedules=[build_daily_schedule(daily_job)],
    sensors=[late_delivery_sensor, alert_on_run_failure, alert_on_check_failure],
    resources={"warehouse": WarehouseResource(), "progress": progress_resource, "dbt": dbt_resource},
)
