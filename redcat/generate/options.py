"""What `redcat generate` is asked to produce: scale, span, sampling and injected faults."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from redcat import reference
from redcat.timeutil import parse_date

SOURCES = ("content",) + reference.partners()


@dataclass(frozen=True)
class Scale:
    """Size of the synthetic world. `Scale.factor(1.0)` is a production-like day:
    5 M content events and about 0.5 M partner callbacks."""

    events_per_day: int
    users: int
    creators: int
    brands: int
    initial_notes: int
    new_notes_per_day: int
    campaigns_per_brand: int = 3

    @classmethod
    def factor(cls, f: float) -> Scale:
        if f <= 0:
            raise ValueError(f"--scale must be positive, got {f}")
        return cls(
            events_per_day=max(1_000, round(5_000_000 * f)),
            users=max(500, round(1_000_000 * f)),
            creators=max(50, round(40_000 * f)),
            # Brands grow slower than traffic: a bigger platform has bigger brands too.
            brands=max(12, round(200 * math.sqrt(f))),
            initial_notes=max(300, round(150_000 * f)),
            new_notes_per_day=max(10, round(6_000 * f)),
        )


@dataclass(frozen=True)
class PartnerDay:
    partner: str
    day: dt.date


@dataclass(frozen=True)
class Faults:
    """Faults to inject; every one of them is written to the ground truth."""

    drop_delivery: tuple[PartnerDay, ...] = ()
    lose_callbacks: tuple[tuple[PartnerDay, float], ...] = ()
    truncate: tuple[tuple[str, dt.date], ...] = ()  # (source, delivery date)
    bad_manifest_ratio: tuple[tuple[PartnerDay, float], ...] = ()
    duplicate_share: float = 0.0
    late_share: float = 0.0
    max_late_days: int = 3
    malformed_per_kind: int = 0
    drop_stage: tuple[tuple[PartnerDay, str], ...] = ()  # every callback of one stage missing from a dump
    drop_brand: tuple[tuple[PartnerDay, str], ...] = ()  # every callback of one brand (brand_id) missing
    truncate_after_hour: tuple[tuple[PartnerDay, int], ...] = ()  # callbacks after HH:00 (Shanghai) missing
    quiet_days: tuple[dt.date, ...] = ()  # half the traffic on both sides (a holiday): no fault, a real dip

    def any(self) -> bool:
        return bool(
            self.drop_delivery
            or self.drop_stage
            or self.drop_brand
            or self.truncate_after_hour
            or self.lose_callbacks
            or self.truncate
            or self.bad_manifest_ratio
            or self.duplicate_share
            or self.late_share
            or self.malformed_per_kind
        )


@dataclass(frozen=True)
class GeneratorOptions:
    start: dt.date
    days: int
    seed: int = 7
    scale: Scale = field(default_factory=lambda: Scale.factor(0.02))
    faults: Faults = field(default_factory=Faults)
    gzip: bool = True
    sampling: bool = True  # False: every callback is delivered (the unsampled reference world)
    burn_in_days: int = 15  # simulated before `start` so day one already has 15 days of exposures
    true_landing_rate: float | None = None  # None: the policy seed's landing_rate
    organic_share: float = 0.05  # conversions by users whose exposure redcat never sees
    # per brand and day, the chance of a brand-level spend row (empty note_id: a campaign tied to
    # no note, docs/contract.md); 0 writes none
    brand_level_spend_share: float = 0.25

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days - 1)

    def validate(self) -> None:
        if self.days < 1:
            raise ValueError(f"--days must be at least 1, got {self.days}")
        if not 0 <= self.brand_level_spend_share <= 1:
            raise ValueError(f"brand_level_spend_share must lie in [0, 1], got {self.brand_level_spend_share}")
        if not 0 <= self.faults.duplicate_share < 1 or not 0 <= self.faults.late_share < 1:
            raise ValueError("--duplicate-share and --late-share must lie in [0, 1)")
        for _partner_day, share in self.faults.lose_callbacks:
            if not 0 < share <= 1:
                raise ValueError(f"--lose-callbacks share must lie in (0, 1], got {share}")
        for src, _day in self.faults.truncate:
            if src not in SOURCES:
                raise ValueError(f"--truncate source {src!r} unknown; use one of {', '.join(SOURCES)}")
        days = {self.start + dt.timedelta(days=i) for i in range(self.days)}
        named = [pd_.day for pd_ in self.faults.drop_delivery]
        named += [pd_.day for pd_, _ in self.faults.lose_callbacks + self.faults.bad_manifest_ratio]
        named += [d for _, d in self.faults.truncate]
        named += [
            pd_.day for pd_, _ in self.faults.drop_stage + self.faults.drop_brand + self.faults.truncate_after_hour
        ]
        named += list(self.faults.quiet_days)
        for _, stage in self.faults.drop_stage:
            if stage not in reference.callback_event_types():
                raise ValueError(
                    f"--drop-stage stage {stage!r} unknown; use one of {', '.join(reference.callback_event_types())}"
                )
        for _, hour in self.faults.truncate_after_hour:
            if not 0 <= hour <= 23:
                raise ValueError(f"--truncate-after-hour hour must lie in 0..23, got {hour}")
        outside = sorted(d for d in named if d not in days)
        if outside:
            raise ValueError(
                f"fault dates {', '.join(map(str, outside))} lie outside the generated span {self.start}..{self.end}"
            )


def parse_partner_day(text: str, *, with_value: bool = False) -> tuple[PartnerDay, float | None]:
    """Parse `PARTNER:DATE` or `PARTNER:DATE:VALUE` (fault option syntax)."""
    parts = text.split(":")
    expected = 3 if with_value else 2
    if len(parts) != expected:
        form = "PARTNER:DATE:VALUE" if with_value else "PARTNER:DATE"
        raise ValueError(f"{text!r} is not of the form {form}, e.g. taobao:2024-07-10" + (":0.5" if with_value else ""))
    partner = parts[0]
    if partner not in reference.partners():
        raise ValueError(f"unknown partner {partner!r} in {text!r}; known: {', '.join(reference.partners())}")
    day = parse_date(parts[1])
    value = float(parts[2]) if with_value else None
    return PartnerDay(partner, day), value
