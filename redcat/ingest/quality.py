"""Judgements on loads, shared by the Dagster checks and `redcat run`: volume against the
trailing median, quarantine rate."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

import duckdb

VOLUME_WINDOW_DAYS = 14
VOLUME_MIN_HISTORY = 7
VOLUME_LOW, VOLUME_HIGH = 0.5, 2.0  # tolerated ratio to the trailing median
QUARANTINE_WARN_SHARE = 0.01


@dataclass(frozen=True)
class VolumeVerdict:
    ok: bool
    day: str
    volume: float | None  # rows loaded, divided by the sampling ratio for partners
    median: float | None
    history_days: int
    message: str


def volume_verdict(con: duckdb.DuckDBPyConnection, source: str, table: str, day: dt.date) -> VolumeVerdict:
    """Rows loaded on `day` against the median of the previous 14 loaded days. Partner volumes
    are divided by their sampling ratio, so the 50 % -> 100 % switch is not an anomaly."""
    rows = con.execute(
        """SELECT delivery_date, rows_loaded / coalesce(nullif(sampling_ratio, 0), 1.0) AS volume
           FROM ops.load_ledger_current
           WHERE source = ? AND table_name = ? AND status = 'loaded'
             AND delivery_date BETWEEN ? AND ? ORDER BY delivery_date""",
        [source, table, day - dt.timedelta(days=VOLUME_WINDOW_DAYS), day],
    ).fetchall()
    today = [v for d, v in rows if d == day]
    history = [v for d, v in rows if d < day]
    iso = day.isoformat()
    if not today:
        return VolumeVerdict(True, iso, None, None, len(history), f"{iso}: nothing loaded, no volume to judge")
    volume = float(today[0])
    if len(history) < VOLUME_MIN_HISTORY:
        return VolumeVerdict(
            True,
            iso,
            volume,
            None,
            len(history),
            f"{iso}: {volume:,.0f} rows; only {len(history)} earlier days, {VOLUME_MIN_HISTORY} needed to judge",
        )
    median = statistics.median(history)
    ratio = volume / median if median else float("inf")
    ok = VOLUME_LOW <= ratio <= VOLUME_HIGH
    message = (
        f"{iso}: {volume:,.0f} rows (sampling-normalised) is {ratio:.2f}x the {len(history)}-day median {median:,.0f}"
    )
    if not ok:
        message += (
            f", outside [{VOLUME_LOW}, {VOLUME_HIGH}]. Compare with the sender's own counts; if the day is "
            "genuinely unusual (a campaign, an outage) no action is needed."
        )
    return VolumeVerdict(ok, iso, volume, median, len(history), message)
