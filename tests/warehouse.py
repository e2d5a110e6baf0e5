"""Reading a built warehouse in tests (read-only, so nothing here can change what is tested)."""

from __future__ import annotations

import duckdb

# docs/contract.md: the mart contract (more columns may be added).
CONTRACT = {
    "fct_attribution": [
        "conversion_date",
        "partner",
        "callback_id",
        "order_id",
        "conversion_type",
        "brand_id",
        "attribution_model",
        "note_id",
        "creator_id",
        "touch_time",
        "is_click_through",
        "credit",
        "gmv_credited_observed",
        "gmv_credited_estimated",
    ],
    "mart_note_daily": [
        "report_date",
        "note_id",
        "attribution_model",
        "brand_id",
        "creator_id",
        "category",
        "reads",
        "likes",
        "collects",
        "comments",
        "shares",
        "link_clicks",
        "searches",
        "store_visits",
        "add_to_carts",
        "purchases",
        "gmv_observed",
        "gmv_estimated",
        "refund_gmv_observed",
        "gmv_attributed_estimated_ci_low",
        "gmv_attributed_estimated_ci_high",
        "estimate_quality",
    ],
    "mart_brand_daily": [
        "report_date",
        "brand_id",
        "partner",
        "attribution_model",
        "reads",
        "link_clicks",
        "purchases_observed",
        "gmv_observed",
        "gmv_attributed_observed",
        "gmv_unattributed_observed",
        "gmv_estimated",
        "gmv_estimated_se",
        "gmv_attributed_estimated",
        "refund_gmv_observed",
        "sampling_ratio",
        "completeness_status",
    ],
    "mart_brand_roi_daily": [
        "report_date",
        "brand_id",
        "attribution_model",
        "spend_brand_cny",
        "spend_partner_cny",
        "gmv_attributed_estimated",
        "roas",
    ],
    "mart_funnel_daily": [
        "report_date",
        "brand_id",
        "partner",
        "readers",
        "engagers",
        "clickers",
        "searchers",
        "visitors",
        "carters",
        "purchasers",
    ],
    "mart_callback_completeness": [
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
        "status",
    ],
}
MODELS = ["first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley"]


def connect(settings) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(settings.warehouse), read_only=True)


def rows(settings, sql: str, params=None) -> list[tuple]:
    with connect(settings) as con:
        return con.execute(sql, params or []).fetchall()


def columns(settings, schema: str, table: str) -> list[str]:
    return [
        r[0]
        for r in rows(
            settings,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
            "AND table_name = ? ORDER BY ordinal_position",
            [schema, table],
        )
    ]


def mart_snapshot(settings, decimals: int = 6, tables=None) -> dict[str, tuple[int, int]]:
    """Every mart's content as (rows, order-independent digest), computed inside DuckDB: the sum
    of a hash of every row with numbers as rounded doubles (sums in another order differ in the last bits).
    Two snapshots are equal when every mart holds the same rows; fetching a fact table of
    millions of rows into Python would need gigabytes. benchmarks/mart_regression.py shows the
    differing rows when two warehouses disagree."""
    out = {}
    with connect(settings) as con:
        for table in tables or CONTRACT:
            cols = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'marts' "
                "AND table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
            # numbers as rounded doubles: a count may be HUGEINT in one file and BIGINT or DOUBLE in another
            numeric = ("DOUBLE", "FLOAT", "INTEGER", "BIGINT", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT")
            values = ", ".join(
                f"round(cast({c} AS DOUBLE), {decimals}) + 0.0" if t in numeric or t.startswith("DECIMAL") else c
                for c, t in cols
            )
            out[table] = tuple(
                con.execute(f"SELECT count(*), coalesce(sum(hash({values})::HUGEINT), 0) FROM marts.{table}").fetchone()
            )
    return out
