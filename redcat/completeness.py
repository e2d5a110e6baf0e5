"""Evidence behind the callback completeness check, read from mart_callback_completeness
after dbt built it: what failed, where, and how to clear it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb
import yaml

from redcat.config import DBT_PROJECT_DIR

COLUMNS = (
    "report_date",
    "partner",
    "program_version",
    "sampling_ratio",
    "landing_rate",
    "clicked_users",
    "visited_users",
    "observed_coverage",
    "expected_coverage",
    "ci_low",
    "ci_high",
    "p_value_below",
    "p_value_above",
    "status",
    "delivery_status",
    "is_accepted",
    "accepted_by",
    "blocks_marts",
    "worst_status",
    "failing_stages",
    "blocking_stages",
    "failing_brands",
    "blocking_brands",
    "profile_status",
    "truncated_after_hour",
    "profile_p_value",
    "profile_blocks",
)
STAGE_COLUMNS = (
    "report_date",
    "partner",
    "stage",
    "reference_population",
    "is_linked",
    "reference_users",
    "observed_users",
    "expected_users",
    "expected_low",
    "expected_high",
    "observed_share",
    "p_value_below",
    "baseline_from",
    "baseline_to",
    "baseline_days",
    "dispersion",
    "status",
    "is_accepted",
    "accepted_by",
    "blocks_marts",
)

BRAND_COLUMNS = (
    "report_date",
    "partner",
    "brand_id",
    "observed_users",
    "expected_users",
    "expected_low",
    "observed_share",
    "p_value_below",
    "alpha",
    "judged_brands",
    "baseline_days",
    "status",
    "is_accepted",
    "blocks_marts",
)


@cache
def dbt_vars() -> dict:
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]


@dataclass
class Evidence:
    description: str
    metadata: dict = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)

    @property
    def blocking(self) -> list[dict]:
        return [r for r in self.rows if r["blocks_marts"]]


def _query(source, sql: str) -> list[tuple]:
    """Rows of `sql` from a WarehouseReader (DuckDB or Spark), or from a DuckDB file; none when
    the completeness marts do not exist yet."""
    from redcat.warehouse_reader import DuckDBReader, MissingRelation

    if isinstance(source, (str, Path)):
        con = duckdb.connect(str(source), read_only=True)
        try:
            return _query(DuckDBReader(con), sql)
        finally:
            con.close()
    try:
        return source.rows(sql)
    except MissingRelation:
        return []


def _read(source, table: str, columns, only_reprocessed: bool, condition: str, order_by: str) -> list[dict]:
    """Rows of a completeness mart as dicts, of the dates the last dbt run rebuilt (or all)."""
    where = [condition] if condition else []
    if only_reprocessed:
        where.append("report_date IN (SELECT report_date FROM intermediate.int_reprocessing_dates)")
    sql = f"SELECT {', '.join(columns)} FROM marts.{table}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [dict(zip(columns, r)) for r in _query(source, f"{sql} ORDER BY {order_by}")]


def read_rows(source, only_reprocessed: bool = True) -> list[dict]:
    """mart_callback_completeness of the dates the last dbt run rebuilt (or all); `source` is a
    WarehouseReader or the DuckDB warehouse file."""
    return _read(source, "mart_callback_completeness", COLUMNS, only_reprocessed, "", "report_date, partner")


def read_stage_rows(source, only_reprocessed: bool = True) -> list[dict]:
    """The stage tests (mart_callback_completeness_stages) other than store visits."""
    return _read(
        source,
        "mart_callback_completeness_stages",
        STAGE_COLUMNS,
        only_reprocessed,
        "stage <> 'store_visit'",
        "report_date, partner, stage_order",
    )


def read_brand_rows(source, only_reprocessed: bool = True) -> list[dict]:
    """The failing brand tests (mart_callback_completeness_brands) of the rebuilt days."""
    return _read(
        source,
        "mart_callback_completeness_brands",
        BRAND_COLUMNS,
        only_reprocessed,
        "status = 'fail'",
        "report_date, partner, brand_id",
    )


def _accept_day(partner: str, day) -> str:
    return (
        f"`redcat accept --partner {partner} --date {day} --by NAME --reason TEXT` (the whole day) to publish it "
        "flagged as known-incomplete"
    )


def explain_brand(row: dict) -> str:
    """One failing brand of a partner-day in words, with what to do."""
    day, partner, brand = row["report_date"], row["partner"], row["brand_id"]
    text = (
        f"{partner} {day} brand {brand}: {row['observed_users']:,} users with a callback of the brand, expected "
        f"{row['expected_users']:,.0f} (a complete day shows at least {row['expected_low']:,.0f}) from its share of "
        f"the partner's callbacks and of the content side's exposed users over {row['baseline_days']} baseline days; "
        f"P(so few | complete) = {row['p_value_below']:.2g} < {row['alpha']:.2g} (Bonferroni over "
        f"{row['judged_brands']} brands): the brand's callbacks are missing (a brand mapping failure at {partner}?). "
        f"Ask {partner} to re-deliver dt={day} and re-run that partition, or run {_accept_day(partner, day)}."
    )
    if row["is_accepted"]:
        text += " Accepted as known-incomplete."
    return text


def explain_profile(row: dict) -> str:
    """A partner-day whose within-day profile failed: the dump stops at some hour."""
    day, partner, hour = row["report_date"], row["partner"], row["truncated_after_hour"]
    return (
        f"{partner} {day} truncated after {hour:02d}:00: the share of the day's callbacks after {hour:02d}:00 "
        f"(Asia/Shanghai) is far below the partner's trailing within-day profile (P = {row['profile_p_value']:.2g}): "
        f"the dump was cut. Ask {partner} to re-deliver dt={day} and re-run that partition, or run "
        f"{_accept_day(partner, day)}."
    )


def explain_stage(row: dict) -> str:
    """One failing stage of a partner-day in words, with what to do."""
    day, partner, stage = row["report_date"], row["partner"], row["stage"]
    if row["status"] == "no_delivery":
        return ""  # said once for the day
    reference = f"{row['reference_users']:,} {row['reference_population'].replace('_', ' ')}"
    observed = (
        f"{row['observed_users']:,} of {reference} had a {stage} callback"
        if row["is_linked"]
        else f"{row['observed_users']:,} users with a {stage} callback per {reference}"
    )
    text = (
        f"{partner} {day} stage {stage}: {observed}, expected {row['expected_users']:,.0f} (range of a complete "
        f"day {row['expected_low']:,.0f}-{row['expected_high']:,.0f}) at the share of {row['baseline_days']} "
        f"baseline days {row['baseline_from']}..{row['baseline_to']}"
    )
    if row["status"] == "fail":
        text += (
            f"; P(so few | complete) = {row['p_value_below']:.2g}: about {1 - row['observed_share']:.0%} of the "
            f"{stage} callbacks are missing. Ask {partner} to re-deliver dt={day} and re-run that partition, or run "
            f"`redcat accept --partner {partner} --date {day} --stage {stage} --by NAME --reason TEXT` to publish it "
            "flagged as known-incomplete."
        )
    else:
        text += "."
    if row["is_accepted"]:
        text += f" Accepted as known-incomplete by {row['accepted_by']}."
    return text


def explain(row: dict) -> str:
    """One partner-day in words, with what to do when it blocks."""
    day, partner = row["report_date"], row["partner"]
    accept = (
        f"`redcat accept --partner {partner} --date {day} --by NAME --reason TEXT` to publish it flagged as "
        "known-incomplete"
    )
    if row["status"] == "no_delivery":
        text = (
            f"{partner} {day}: the partner's dump did not arrive (delivery status {row['delivery_status']}), so "
            "its callbacks are missing. Re-run this partition when it arrives (the delivery sensor does), or run "
            f"{accept}."
        )
    else:
        clicked, visited = row["clicked_users"], row["visited_users"]
        text = (
            f"{partner} {day}: {visited:,} of {clicked:,} users who clicked a {partner} link have a store-visit "
            f"callback ({_pct(row['observed_coverage'])}, 99.9 % interval {_pct(row['ci_low'])}-{_pct(row['ci_high'])}); "
            f"expected {_pct(row['expected_coverage'])} = sampling ratio {row['sampling_ratio']:g} x landing rate "
            f"{row['landing_rate']:g}. "
        )
        if row["status"] == "fail":
            short = 1 - row["observed_coverage"] / row["expected_coverage"]
            text += (
                f"P(so few | complete) = {row['p_value_below']:.2g}: about {short:.0%} of the users' callbacks are "
                f"missing. Ask {partner} to re-deliver dt={day} and re-run that partition, or run {accept}."
            )
        elif row["status"] == "warn":
            text += (
                f"P(so many | configured ratio) = {row['p_value_above']:.2g}: the sampling ratio or the landing "
                "rate in seeds/callback_sampling_policy.csv is likely wrong for this partner; confirm with the partner."
            )
        elif row["status"] == "insufficient_data":
            text += f"Too few clicked users to judge (fewer than {dbt_vars()['completeness_min_expected']} expected visitors)."
        else:
            text += "Consistent with complete callbacks."
    if row["is_accepted"]:
        text += f" Accepted as known-incomplete by {row['accepted_by']}."
    return text


def completeness_evidence(source) -> Evidence:
    """The check's evidence from a WarehouseReader (the engine dbt built on) or the DuckDB file."""
    rows = read_rows(source)
    if not rows:
        return Evidence("No partner programme day was rebuilt by this run: nothing to check.")
    stages = read_stage_rows(source)
    brands = read_brand_rows(source)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    blocking = [r for r in rows if r["blocks_marts"]]
    blocking_stages = [s for s in stages if s["blocks_marts"]]
    stage_text = {(s["report_date"], s["partner"]): [] for s in blocking_stages}
    for s in blocking_stages:
        stage_text[(s["report_date"], s["partner"])].append(explain_stage(s))
    if blocking:
        parts = []
        for r in blocking:
            if r["status"] in ("fail", "no_delivery") and not r["is_accepted"]:
                parts.append(explain(r))
            parts += [t for t in stage_text.get((r["report_date"], r["partner"]), []) if t]
            parts += [
                explain_brand(b)
                for b in brands
                if b["blocks_marts"] and (b["report_date"], b["partner"]) == (r["report_date"], r["partner"])
            ]
            if r["profile_blocks"]:
                parts.append(explain_profile(r))
        description = f"{len(blocking)} partner-day(s) incomplete; the business marts were not rebuilt. " + " ".join(
            parts
        )
    else:
        noteworthy = [explain(r) for r in rows if r["status"] in ("warn", "insufficient_data") or r["is_accepted"]]
        description = (
            f"{len(rows)} partner-day(s) checked: "
            + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            + ". "
            + " ".join(noteworthy)
        )
    table = [
        "| date | partner | clicked | visited | observed | expected | 99.9 % interval | p below | status | accepted |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    table += [
        f"| {r['report_date']} | {r['partner']} | {r['clicked_users']:,} | {r['visited_users']:,} | "
        f"{_pct(r['observed_coverage'])} | {_pct(r['expected_coverage'])} | {_pct(r['ci_low'])}-{_pct(r['ci_high'])} | "
        f"{_p(r['p_value_below'])} | {r['status']} | {r['accepted_by'] or ''} |"
        for r in rows
    ]
    metadata = {
        "partner_days": "\n".join(table),
        "statuses": counts,
        "blocking_partner_days": [f"{r['partner']} {r['report_date']}" for r in blocking],
        "blocking_stages": [
            f"{r['partner']} {r['report_date']} {'all' if r['status'] == 'no_delivery' else 'store_visit'}"
            for r in blocking
            if r["status"] in ("fail", "no_delivery") and not r["is_accepted"]
        ]
        + [f"{s['partner']} {s['report_date']} {s['stage']}" for s in blocking_stages if s["status"] == "fail"]
        + [f"{b['partner']} {b['report_date']} brand {b['brand_id']}" for b in brands if b["blocks_marts"]]
        + [
            f"{r['partner']} {r['report_date']} truncated after {r['truncated_after_hour']:02d}:00"
            for r in rows
            if r["profile_blocks"]
        ],
        "failing_brands": [f"{b['partner']} {b['report_date']} {b['brand_id']}" for b in brands],
        "stage_tests": "\n".join(_stage_table(stages)) if stages else "",
        "alpha": dbt_vars()["completeness_alpha"],
        "min_shortfall": dbt_vars()["completeness_min_shortfall"],
    }
    if len(rows) == 1:
        metadata.update(
            {
                k: _plain(rows[0][k])
                for k in (
                    "clicked_users",
                    "visited_users",
                    "observed_coverage",
                    "expected_coverage",
                    "ci_low",
                    "ci_high",
                    "p_value_below",
                    "status",
                )
            }
        )
    return Evidence(description.strip(), metadata, rows)


def _stage_table(stages: list[dict]) -> list[str]:
    table = [
        "| date | partner | stage | reference | observed | expected | complete-day range | p below | baseline | status | accepted |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    table += [
        f"| {s['report_date']} | {s['partner']} | {s['stage']} | {s['reference_users']:,} | {s['observed_users']:,} | "
        f"{_num(s['expected_users'])} | {_num(s['expected_low'])}-{_num(s['expected_high'])} | {_p(s['p_value_below'])} | "
        f"{s['baseline_days']} days | {s['status']} | {s['accepted_by'] or ''} |"
        for s in stages
    ]
    return table


def _num(x) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


def _pct(x) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _p(x) -> str:
    return "n/a" if x is None else f"{x:.2g}"


def _plain(v):
    return float(v) if isinstance(v, float) else v


LOG_COLUMNS = (
    "report_date",
    "partner",
    "status",
    "is_accepted",
    "blocks_marts",
    "clicked_users",
    "visited_users",
    "observed_coverage",
    "expected_coverage",
    "ci_low",
    "ci_high",
    "p_value_below",
)


def log_evaluation(warehouse: Path, rows: list[dict], run_id: str | None) -> None:
    """Append this run's evaluations to ops.completeness_log (one transaction)."""
    import datetime as dt

    from redcat.duck import connect
    from redcat.ingest.ledger import ensure_schema

    if not rows:
        return
    con = connect(warehouse)
    try:
        ensure_schema(con)
        now = dt.datetime.now(dt.UTC)
        con.execute("BEGIN")
        con.executemany(
            f"INSERT INTO ops.completeness_log (run_id, evaluated_at, {', '.join(LOG_COLUMNS)}) "
            f"VALUES (?, ?, {', '.join('?' for _ in LOG_COLUMNS)})",
            [[run_id, now, *(r[c] for c in LOG_COLUMNS)] for r in rows],
        )
        con.execute("COMMIT")
    finally:
        con.close()
