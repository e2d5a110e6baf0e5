"""Business time: every date in redcat is an Asia/Shanghai calendar date."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

BUSINESS_TZ_NAME = "Asia/Shanghai"
BUSINESS_TZ = ZoneInfo(BUSINESS_TZ_NAME)
DAY_MS = 86_400_000
# Asia/Shanghai has kept UTC+8 without daylight saving since 1991; the vectorised
# generator uses the fixed offset, everything else goes through zoneinfo.
SHANGHAI_OFFSET_MS = 8 * 3_600_000
EPOCH_DATE = dt.date(1970, 1, 1)


def day_start_ms(day: dt.date) -> int:
    """Epoch milliseconds of local midnight starting `day` in Asia/Shanghai."""
    return int(dt.datetime.combine(day, dt.time(), BUSINESS_TZ).timestamp() * 1000)


def business_today() -> dt.date:
    return dt.datetime.now(BUSINESS_TZ).date()


def date_range(start: dt.date, end_inclusive: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end_inclusive - start).days + 1)]


def parse_date(value: str, what: str = "date") -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a date: use YYYY-MM-DD, e.g. 2024-07-15") from None


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01 (a business date as an integer)."""
    return (day - EPOCH_DATE).days
