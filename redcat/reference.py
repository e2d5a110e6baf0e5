"""Reference data from `seeds/`, shared by the generator, ingestion and dbt.

The CSVs under `seeds/` are the single source of truth: dbt loads them as seeds,
and Python reads the same files here, so an enum or a ratio is never written twice.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"


def _read(name: str) -> list[dict[str, str]]:
    with open(SEEDS_DIR / f"{name}.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _date(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@dataclass(frozen=True)
class PolicyPeriod:
    partner: str
    program_version: str
    sampling_ratio: float
    landing_rate: float
    valid_from: dt.date
    valid_to: dt.date | None  # inclusive; None = still in force

    def covers(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@cache
def sampling_policy() -> tuple[PolicyPeriod, ...]:
    return tuple(
        PolicyPeriod(
            partner=r["partner"],
            program_version=r["program_version"],
            sampling_ratio=float(r["sampling_ratio"]),
            landing_rate=float(r["landing_rate"]),
            valid_from=_date(r["valid_from"]),
            valid_to=_date(r["valid_to"]),
        )
        for r in _read("callback_sampling_policy")
    )


def policy_for(partner: str, day: dt.date) -> PolicyPeriod | None:
    """The programme period in force for `partner` on `day`, or None (not in a programme)."""
    for period in sampling_policy():
        if period.partner == partner and period.covers(day):
            return period
    return None


@cache
def partners() -> tuple[str, ...]:
    return tuple(r["partner"] for r in _read("partners"))


@cache
def partner_max_gmv_cny() -> dict[str, float]:
    """The largest purchase or refund amount a partner's callback may plausibly carry; larger ones are
    quarantined as implausible_amount (seeds/partners.csv, max_plausible_gmv_cny)."""
    return {r["partner"]: float(r["max_plausible_gmv_cny"]) for r in _read("partners")}


@dataclass(frozen=True)
class Category:
    category: str
    links_from: dict[str, dt.date | None]  # partner -> first day external links are allowed


@cache
def categories() -> tuple[Category, ...]:
    """Categories with the day each opened for links per partner (seeds/category_partner_links.csv).
    A partner with no row there has every category open from the start of its first programme."""
    links: dict[str, dict[str, dt.date | None]] = {}
    for r in _read("category_partner_links"):
        links.setdefault(r["partner"], {})[r["category"]] = _date(r["links_from"])
    first_programme = {
        p: min(x.valid_from for x in sampling_policy() if x.partner == p)
        for p in partners()
        if any(x.partner == p for x in sampling_policy())
    }
    out = []
    for r in _read("categories"):
        opens = {}
        for p in partners():
            opens[p] = links[p].get(r["category"]) if p in links else first_programme.get(p)
        out.append(Category(r["category"], opens))
    return tuple(out)


@cache
def content_event_types() -> tuple[str, ...]:
    return tuple(r["event_type"] for r in _read("content_event_types"))


@cache
def callback_event_types() -> tuple[str, ...]:
    return tuple(r["event_type"] for r in _read("callback_event_types"))


LINK_SURFACES = ("note", "comment")
FUNDING_SOURCES = ("brand", "partner")
