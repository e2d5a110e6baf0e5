"""Stale deliveries: delivery dates whose landing zone differs from what the load ledger says
was loaded (a dump that arrived late, a re-delivered file, a date never loaded). The
late-delivery sensor of the Dagster code location runs these dates again."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import duckdb

from redcat import contract
from redcat.timeutil import business_today

SENSOR_LOOKBACK_DAYS = 30


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
               WHERE delivery_date BETWEEN ? AND ?""",
            [min(days), max(days)],
        ).fetchall()
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
