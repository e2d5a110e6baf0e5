"""When redcat runs by itself: the daily schedule and the late-delivery sensor.

- `redcat_daily_schedule`: 03:00 Asia/Shanghai, the previous delivery date (the partition that
  just closed). dbt then rebuilds every report date that day's deliveries touched.
- `late_delivery_sensor`: compares the landing zone with the load ledger and runs a delivery
  date again when something arrived after it was loaded: a partner dump that was missing, a
  re-delivered file (its manifest changed), or a delivery date that was never loaded.
"""

import datetime as dt
import hashlib
import json

import dagster as dg
import duckdb

from orchestration.resources import WarehouseResource
from redcat import contract
from redcat.timeutil import business_today

SENSOR_LOOKBACK_DAYS = 30


def build_daily_schedule(job) -> dg.ScheduleDefinition:
    # The job's partitions are Asia/Shanghai days, so 03:00 is Shanghai time and each tick
    # targets the day that ended three hours earlier (a real partition key, not a range).
    return dg.build_schedule_from_partitioned_job(
        job, hour_of_day=3, minute_of_hour=0, name="redcat_daily_schedule",
        description="03:00 Asia/Shanghai: ingest yesterday's deliveries and rebuild the report dates they touch.",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )


def landing_manifests(landing, day: dt.date) -> dict[str, dict]:
    """source -> {file name: declared sha256} for the manifests present for a delivery date."""
    out = {}
    for source in ("content", *sorted({t.source for t in contract.ALL_TABLES} - {"content"})):
        path = landing / f"dt={day}" / contract.delivery_dir(source) / contract.MANIFEST
        if path.exists():
            try:
                files = json.loads(path.read_text())["files"]
                out[source] = {f["name"]: f["sha256"] for f in files}
            except (ValueError, KeyError, TypeError):
                out[source] = {"_manifest.json": hashlib.sha256(path.read_bytes()).hexdigest()}
    return out


def recent_delivery_dates(landing) -> list[dt.date]:
    """The SENSOR_LOOKBACK_DAYS delivery dates up to the newest folder in the landing zone, but
    never today's (its partition is still open)."""
    found = []
    for p in landing.glob("dt=*"):
        try:
            found.append(dt.date.fromisoformat(p.name[3:]))
        except ValueError:
            continue
    if not found:
        return []
    newest = min(max(found), business_today() - dt.timedelta(days=1))
    return [newest - dt.timedelta(days=i) for i in range(SENSOR_LOOKBACK_DAYS)]


def stale_delivery_dates(settings, days: list[dt.date]) -> dict[dt.date, list[str]]:
    """Delivery dates whose landing zone differs from what the ledger says was loaded, with why."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        ledger = con.execute(
            """SELECT delivery_date, source, file, status, sha256_declared FROM ops.load_ledger_current
               WHERE delivery_date BETWEEN ? AND ?""", [min(days), max(days)]).fetchall()
    finally:
        con.close()
    loaded: dict[tuple, tuple] = {}
    for day, source, file, status, sha in ledger:
        loaded[(day, source, (file or "").rsplit("/", 1)[-1])] = (status, sha)
    statuses = {(day, source): status for day, source, _, status, _ in ledger}
    out: dict[dt.date, list[str]] = {}
    for day in days:
        reasons = []
        for source, files in landing_manifests(settings.landing_dir, day).items():
            if (day, source) not in statuses:
                reasons.append(f"{source} delivered, never loaded")
            elif statuses[(day, source)] in ("no_delivery", "not_in_programme"):
                reasons.append(f"{source} arrived after it was recorded as {statuses[(day, source)]}")
            else:
                for name, sha in files.items():
                    status, loaded_sha = loaded.get((day, source, name), (None, None))
                    if loaded_sha is not None and loaded_sha != sha:
                        reasons.append(f"{source}/{name} re-delivered (manifest changed)")
        if reasons:
            out[day] = reasons
    return out


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
        digest = hashlib.sha256(json.dumps(landing_manifests(settings.landing_dir, day), sort_keys=True).encode()).hexdigest()[:16]
        requests.append(dg.RunRequest(run_key=f"{day}:{digest}", partition_key=day.isoformat(),
                                      tags={"redcat/reason": "; ".join(reasons)[:200]}))
    return requests
