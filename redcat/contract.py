"""The landing-zone contract (docs/contract.md), as data.

Ingestion validates against these definitions and the generator's fault injection
breaks them on purpose, so both read the same field lists, enums and keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from redcat import reference

# Quarantine reasons (the generator's malformed-line kinds use the same names).
MALFORMED_LINE = "malformed_line"
UNKNOWN_ENUM = "unknown_enum"
UNPARSABLE_TIME = "unparsable_time"
MISSING_KEY = "missing_key"
NEGATIVE_AMOUNT = "negative_amount"
REASONS = (MALFORMED_LINE, UNKNOWN_ENUM, UNPARSABLE_TIME, MISSING_KEY, NEGATIVE_AMOUNT)
# Quarantine only: a value of the right field but the wrong form (amount 0 or "abc", user_key not hex).
INVALID_VALUE = "invalid_value"
# Quarantine only, from the rules of redcat/ingest/rules.py and the line reader (docs/ingestion.md).
LINE_TOO_LONG = "line_too_long"  # over the reader's line limit; raw_text keeps its start, detail points at the bytes
AFTER_DELIVERY = "after_delivery"  # dated after its delivery date (beyond the clock-skew allowance)
OLDER_THAN_HORIZON = "older_than_horizon"  # an event dated more than the dedup horizon before its delivery
OUTSIDE_PROGRAMME = "outside_programme"  # a callback dated outside every sampling programme of its partner
IMPLAUSIBLE_AMOUNT = "implausible_amount"  # an amount above the partner's plausible maximum (seeds/partners.csv)


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # string | timestamp | date | amount | enum
    required: bool = True
    enum: tuple[str, ...] = ()
    # Required only when another field has one of these values, e.g. order_id for purchases.
    required_when: tuple[str, tuple[str, ...]] | None = None
    # A CSV column added to the contract later: a file whose header lacks it still loads (the
    # field is empty for its rows). Such columns come last, in contract order.
    may_be_absent: bool = False


@dataclass(frozen=True)
class SourceTable:
    """One file of a delivery, e.g. content/note_events.jsonl.gz."""

    source: str  # delivery directory: content, taobao, jd
    table: str  # note_events, notes, ad_spend, callbacks
    stem: str  # file name without compression suffix
    fmt: str  # jsonl | csv
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # identity of a record
    # first: a re-delivered record is a duplicate (events); last: a later delivery restates it
    dedup: str
    event_time: str  # the field that dates a record (business date in Asia/Shanghai)

    @property
    def asset_key(self) -> tuple[str, str]:
        return (self.source, self.table)

    def accepted_headers(self) -> list[list[str]]:
        """The CSV headers a file may have: every field, or without a trailing run of fields
        that may be absent (files written before those columns were added)."""
        names = [f.name for f in self.fields]
        headers = [names]
        for i in range(len(self.fields) - 1, -1, -1):
            if not self.fields[i].may_be_absent:
                break
            headers.append(names[:i])
        return headers


def _note_events() -> SourceTable:
    partners = reference.partners()
    return SourceTable(
        source="content",
        table="note_events",
        stem="note_events.jsonl",
        fmt="jsonl",
        fields=(
            Field("event_id", "string"),
            Field("event_type", "enum", enum=reference.content_event_types()),
            Field("event_time", "timestamp"),
            Field("user_key", "string"),
            Field("note_id", "string"),
            Field("link_partner", "enum", enum=partners, required_when=("event_type", ("link_click",))),
            Field("link_surface", "enum", enum=reference.LINK_SURFACES, required_when=("event_type", ("link_click",))),
        ),
        key=("event_id",),
        dedup="first",
        event_time="event_time",
    )


def _notes() -> SourceTable:
    return SourceTable(
        source="content",
        table="notes",
        stem="notes.csv",
        fmt="csv",
        fields=(
            Field("note_id", "string"),
            Field("creator_id", "string"),
            Field("brand_id", "string"),
            Field("category", "enum", enum=tuple(c.category for c in reference.categories())),
            Field("published_at", "timestamp"),
            Field("link_partner", "enum", required=False, enum=reference.partners()),
            Field("note_title", "string", required=False, may_be_absent=True),
            Field("creator_name", "string", required=False, may_be_absent=True),
        ),
        key=("note_id",),
        dedup="last",
        event_time="published_at",
    )


def _ad_spend() -> SourceTable:
    return SourceTable(
        source="content",
        table="ad_spend",
        stem="ad_spend.csv",
        fmt="csv",
        fields=(
            Field("spend_date", "date"),
            Field("campaign_id", "string"),
            Field("brand_id", "string"),
            # empty: brand-level spend, a campaign tied to no note (docs/contract.md)
            Field("note_id", "string", required=False),
            Field("funding_source", "enum", enum=reference.FUNDING_SOURCES),
            Field("spend_cny", "amount"),
        ),
        # note_id is null in the raw layer for brand-level rows: within a file DuckDB's DISTINCT and
        # PARTITION BY group nulls together, and int_ad_spend's row_number partition does too (SQL
        # window semantics, DuckDB and Spark), so a restated brand-level row replaces the earlier one
        key=("spend_date", "campaign_id", "note_id", "funding_source"),
        dedup="last",
        event_time="spend_date",
    )


def _callbacks(partner: str) -> SourceTable:
    gmv_types = ("purchase", "refund")
    return SourceTable(
        source=partner,
        table="callbacks",
        stem="callbacks.jsonl",
        fmt="jsonl",
        fields=(
            Field("callback_id", "string"),
            Field("event_type", "enum", enum=reference.callback_event_types()),
            Field("event_time", "timestamp"),
            Field("user_key", "string"),
            Field("brand_id", "string"),
            Field("order_id", "string", required_when=("event_type", gmv_types)),
            Field("gmv_cny", "amount", required_when=("event_type", gmv_types)),
        ),
        key=("callback_id",),
        dedup="first",
        event_time="event_time",
    )


CONTENT_TABLES = (_note_events(), _notes(), _ad_spend())
NOTE_EVENTS, NOTES, AD_SPEND = CONTENT_TABLES
CALLBACKS = {p: _callbacks(p) for p in reference.partners()}
ALL_TABLES: tuple[SourceTable, ...] = CONTENT_TABLES + tuple(CALLBACKS.values())


def tables_of(source: str) -> tuple[SourceTable, ...]:
    """The tables delivered in one source's folder, in contract order."""
    return tuple(t for t in ALL_TABLES if t.source == source)


def table(source: str, name: str) -> SourceTable:
    for t in ALL_TABLES:
        if t.source == source and t.table == name:
            return t
    raise KeyError(f"no landing table {source}/{name}")


def delivery_dir(source: str) -> str:
    """Directory of a source inside a dt= folder: content/ or partner=<name>/."""
    return "content" if source == "content" else f"partner={source}"


MANIFEST = "_manifest.json"
