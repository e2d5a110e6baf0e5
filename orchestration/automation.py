"""When redcat runs by itself: the daily schedule and the late-delivery sensor.

- `redcat_daily_schedule`: 03:00 Asia/Shanghai, the previous delivery date (the partition that
  just closed). dbt then rebuilds every report date that day's deliveries touched.
- `late_delivery_sensor`: compares the landing zone with the load ledger and runs a delivery
  date again when something arrived after it was loaded: a partner dump that was missing, a
  re-delivered file (its manifest changed), or a delivery date that was never loaded.
"""

import hashlib
import json

import dagster as dg
import duckdb

from orchestration.resources import WarehouseResource
from redcat.ingest.deliveries import landing_manifests, recent_delivery_dates, stale_delivery_dates


def build_daily_schedule(job) -> dg.ScheduleDefinition:
    # The job's partitions are Asia/Shanghai days, so 03:00 is Shanghai time and each tick
    # targets the day that ended three hours earlier (a real partition key, not a range).
    return dg.build_schedule_from_partitioned_job(
        job,
        hour_of_day=3,
        minute_of_hour=0,
        name="redcat_daily_schedule",
        description="03:00 Asia/Shanghai: ingest yesterday's deliveries and rebuild the report dates they touch.",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )


@dg.sensor(
    name="late_delivery_sensor",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs a delivery date again when its dumps arrive late or are re-delivered.",
)
def late_delivery_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    settings = warehouse.settings()
    if not settings.warehouse.exists():
        return dg.SkipReason(f"no warehouse at {settings.warehouse} yet; the schedule creates it")
    days = recent_delivery_dates(settings.landing_dir)
    if not days:
        return dg.SkipReason(f"no dt=YYYY-MM-DD folders in {settings.landing_dir}")
    try:
        stale = stale_delivery_dates(settings, days)
    except duckdb.IOException:
        return dg.SkipReason("the warehouse is being written by a run; checking again next tick")
    except duckdb.CatalogException:
        return dg.SkipReason("nothing loaded yet")
    if not stale:
        return dg.SkipReason(f"landing zone and ledger agree for {min(days)}..{max(days)}")
    requests = []
    for day, reasons in sorted(stale.items()):
        digest = hashlib.sha256(
            json.dumps(landing_manifests(settings.landing_dir, day), sort_keys=True).encode()
        ).hexdigest()[:16]
        requests.append(
            dg.RunRequest(
                run_key=f"{day}:{digest}",
                partition_key=day.isoformat(),
                tags={"redcat/reason": "; ".join(reasons)[:200]},
            )
        )
    return requests
