"""Plausibility rules a line must pass beyond its format (docs/ingestion.md).

The format checks (missing keys, enums, times, amounts) live in validate.py; these rules need the
delivery date, the partner's programmes or its plausible amounts, so they are built per load:

| reason | tables | quarantined when |
| --- | --- | --- |
| after_delivery | all | the record's time lies after its delivery date ends (Asia/Shanghai), beyond REDCAT_CLOCK_SKEW_MINUTES |
| outside_programme | partner callbacks | the callback's date falls in no programme of its partner (seeds/callback_sampling_policy.csv) |
| older_than_horizon | note_events, callbacks | the event is dated more than REDCAT_DEDUP_HORIZON_DAYS before its delivery date |
| implausible_amount | partner callbacks | gmv_cny exceeds the partner's max_plausible_gmv_cny (seeds/partners.csv) |

The horizon is also how far back duplicates are looked for: a re-delivered event id is a duplicate
of any delivery within the horizon (first delivery wins), whatever its new event_time says; an
event older than the horizon could not be checked, so it is quarantined instead of loaded twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from redcat import contract, reference
from redcat.config import SettingProblem, env_number  # noqa: F401 (SettingProblem re-exported)
from redcat.contract import SourceTable
from redcat.duck import sql_literal
from redcat.timeutil import BUSINESS_TZ

DEFAULT_HORIZON_DAYS = 30
DEFAULT_CLOCK_SKEW_MINUTES = 10


def _int_env(name: str, default: int) -> int:
    return int(env_number(name, default, what="a whole number >= 0", integer=True))


def horizon_days() -> int:
    """REDCAT_DEDUP_HORIZON_DAYS (default 30): how far back duplicates are looked for, and how old an event may be."""
    return _int_env("REDCAT_DEDUP_HORIZON_DAYS", DEFAULT_HORIZON_DAYS)


def clock_skew_minutes() -> int:
    """REDCAT_CLOCK_SKEW_MINUTES (default 10): how far past its delivery date a record's time may lie."""
    return _int_env("REDCAT_CLOCK_SKEW_MINUTES", DEFAULT_CLOCK_SKEW_MINUTES)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ts(moment: dt.datetime) -> str:
    return f"TIMESTAMPTZ {sql_literal(moment.isoformat())}"


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), BUSINESS_TZ)


@dataclass(frozen=True)
class Rules:
    delivery_date: dt.date
    horizon_days: int
    skew_minutes: int

    @classmethod
    def for_day(cls, day: dt.date) -> Rules:
        return cls(day, horizon_days(), clock_skew_minutes())

    def arms(self, table: SourceTable, typed) -> list[tuple[str, str, str]]:
        """(condition, reason, detail SQL) in precedence order, on the typed columns (`typed(field)`
        names the cast column of a time, date or amount field)."""
        field = next(f for f in table.fields if f.name == table.event_time)
        col, t = _ident(field.name), typed(field)
        day = self.delivery_date
        out: list[tuple[str, str, str]] = []
        if field.kind == "timestamp":
            limit = _midnight(day + dt.timedelta(days=1)) + dt.timedelta(minutes=self.skew_minutes)
            out.append(
                (
                    f"({t} > {_ts(limit)})",
                    contract.AFTER_DELIVERY,
                    f"'{field.name} ' || {col} || ' is after delivery date {day} ends (Asia/Shanghai, "
                    f"{self.skew_minutes} min clock skew allowed)'",
                )
            )
        else:
            out.append(
                (
                    f"({t} > DATE {sql_literal(day.isoformat())})",
                    contract.AFTER_DELIVERY,
                    f"'{field.name} ' || {col} || ' is after delivery date {day}'",
                )
            )
        partner = table.source if table.source in reference.partners() else None
        if partner and table.table == "callbacks":
            periods = [p for p in reference.sampling_policy() if p.partner == partner]
            inside = (
                " OR ".join(
                    f"({t} >= {_ts(_midnight(p.valid_from))}"
                    + (f" AND {t} < {_ts(_midnight(p.valid_to + dt.timedelta(days=1)))})" if p.valid_to else ")")
                    for p in periods
                )
                or "false"
            )
            spans = ", ".join(f"{p.program_version} {p.valid_from}..{p.valid_to or ''}" for p in periods) or "none"
            out.append(
                (
                    f"(NOT ({inside}))",
                    contract.OUTSIDE_PROGRAMME,
                    f"'{field.name} ' || {col} || ' falls in no {partner} programme ({spans}; "
                    "seeds/callback_sampling_policy.csv)'",
                )
            )
        if table.dedup == "first":
            oldest = _midnight(day - dt.timedelta(days=self.horizon_days))
            out.append(
                (
                    f"({t} < {_ts(oldest)})",
                    contract.OLDER_THAN_HORIZON,
                    f"'{field.name} ' || {col} || ' is more than {self.horizon_days} days before delivery date "
                    f"{day} (REDCAT_DEDUP_HORIZON_DAYS): too old to check for duplicates'",
                )
            )
        if partner:
            limit_cny = reference.partner_max_gmv_cny().get(partner)
            for f in table.fields:
                if f.kind == "amount" and limit_cny is not None:
                    out.append(
                        (
                            f"({typed(f)} > {limit_cny!r})",
                            contract.IMPLAUSIBLE_AMOUNT,
                            f"'{f.name} ' || {_ident(f.name)} || ' is above {partner}''s plausible maximum "
                            f"{limit_cny:,.0f} (seeds/partners.csv, max_plausible_gmv_cny)'",
                        )
                    )
        return out
