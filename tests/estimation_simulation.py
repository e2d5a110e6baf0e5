"""Simulated user-level sales for the estimation models, and their coverage on compiled SQL.

A world: brands (a category's median GMV and spread, a daily purchase rate), each with a
population of users per partner whose activity is heavy-tailed, so heavy buyers come back on
several days of a week (the clusters the estimator must respect). Each user is sampled by a
partner with its ratio, once for the whole span (the partners' per-user sampling). Every
purchase is credited to the brand's notes under last_touch (all or nothing, organic buyers
get nothing) and linear (a share). The sampled users' rows are what int_estimation_user_gmv
would hold; the full rows are the truth. Used by tests/test_estimation_coverage.py and
benchmarks/estimation_coverage.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from compiled_sql import compile_project

START = dt.date(2000, 1, 3)  # a Monday
PARTNERS = {"sim50": 0.5, "sim10": 0.1}
CATEGORIES = {"beauty": (180.0, 0.8), "food": (90.0, 0.6), "home": (350.0, 0.9), "digital": (1200.0, 0.9)}
MODELS = ("last_touch", "linear")
SIZES = ((1, 4), (5, 20), (21, 100), (101, 10**9))
SIZE_LABELS = ("1-4", "5-20", "21-100", ">100")


@dataclass(frozen=True)
class Mix:
    name: str
    brands: int
    log_rate: tuple[float, float]  # daily purchases per brand and partner: log-uniform range
    days: int = 28


SMALL = Mix("small", brands=12, log_rate=(np.log(0.5), np.log(15)))
TYPICAL = Mix("typical", brands=40, log_rate=(np.log(1), np.log(250)))


def compile_models(home: Path) -> str:
    """int_estimation_cells as dbt compiles it (for the benchmark; the tests share conftest's compile)."""
    return compile_project(home / "dbt").sql("int_estimation_cells")


def simulate(seed: int, mix: Mix, partners: dict[str, float] = PARTNERS) -> pd.DataFrame:
    """Every purchase-day of every user (sampled or not): one row per date, brand, partner, user."""
    rng = np.random.default_rng(seed)
    cats = list(CATEGORIES)
    frames = []
    for b in range(mix.brands):
        cat = cats[b % len(cats)] if b < len(cats) else cats[rng.integers(len(cats))]
        median, sigma = CATEGORIES[cat]
        for partner, ratio in partners.items():
            rate = float(np.exp(rng.uniform(*mix.log_rate)))
            users = max(40, int(rate * 12))
            weight = rng.lognormal(0.0, 1.2, users)
            weight /= weight.sum()
            sampled = rng.random(users) < ratio
            buys = rng.poisson(rate * np.tile(weight, (mix.days, 1)))  # [day, user]
            day, user = np.nonzero(buys)
            k = buys[day, user]
            gmv = np.array([rng.lognormal(np.log(median), sigma, n).sum() for n in k]).round(2)
            organic = rng.random(len(k)) < 0.15
            frames.append(
                pd.DataFrame(
                    {
                        "conversion_date": [START + dt.timedelta(days=int(d)) for d in day],
                        "brand_id": f"b{b:03d}",
                        "category": cat,
                        "partner": partner,
                        "sampling_ratio": ratio,
                        "user_hash": user.astype(np.int64) + 1_000_000 * b,
                        "purchases": k,
                        "gmv": gmv,
                        "last_touch": np.where(organic, 0.0, gmv),
                        "linear": np.where(organic, 0.0, gmv * rng.uniform(0.3, 1.0, len(k))).round(2),
                        "sampled": sampled[user],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def run_cells(
    path: Path, sql: str, sales: pd.DataFrame, days: int, partners: dict[str, float] = PARTNERS
) -> pd.DataFrame:
    """The compiled SQL on the sampled users' rows: one row per period, brand, partner and model."""
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA intermediate")
    s = sales[sales.sampled]
    users = pd.concat([s.assign(attribution_model=m, gmv_attributed=s[m]) for m in MODELS], ignore_index=True)
    con.register("users_df", users)
    con.execute(
        "CREATE TABLE intermediate.int_estimation_user_gmv AS SELECT conversion_date, brand_id, partner, "
        "user_hash, attribution_model, sampling_ratio, gmv, gmv_attributed FROM users_df"
    )
    con.register("brands_df", sales[["brand_id", "category"]].drop_duplicates())
    con.execute(
        "CREATE TABLE intermediate.int_notes AS SELECT brand_id || '-n' AS note_id, brand_id, category FROM brands_df"
    )
    programme = pd.DataFrame(
        [
            (p, START + dt.timedelta(days=d), r)
            for p, r in partners.items()
            if p in set(sales.partner)
            for d in range(days)
        ],
        columns=["partner", "report_date", "sampling_ratio"],
    )
    con.register("programme_df", programme)
    con.execute(
        "CREATE TABLE intermediate.int_partner_programme_days AS SELECT partner, report_date, "
        "'sim' AS program_version, sampling_ratio, 0.95 AS landing_rate FROM programme_df"
    )
    out = con.execute(f"SELECT * FROM ({sql}) WHERE attribution_model IN {MODELS!r} AND partner <> 'all'").df()
    con.close()
    return out


def truth_cells(sales: pd.DataFrame) -> pd.DataFrame:
    """Unsampled totals per period (day, week), brand, partner and model, with true purchases."""
    rows = []
    for grain in ("day", "week"):
        d = pd.to_datetime(sales.conversion_date)
        start = d if grain == "day" else d - pd.to_timedelta(d.dt.day_of_week, unit="D")
        g = sales.assign(period_start=start.dt.date, period_grain=grain)
        agg = g.groupby(["period_grain", "period_start", "brand_id", "partner"], as_index=False).agg(
            true_purchases=("purchases", "sum"), true_gmv=("gmv", "sum"), **{f"true_{m}": (m, "sum") for m in MODELS}
        )
        rows.append(agg)
    return pd.concat(rows, ignore_index=True)


def coverage(cells: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """One row per evaluated (period, brand, partner, measure): truth, bounds, covered."""
    cells = cells.assign(period_start=pd.to_datetime(cells.period_start).dt.date)
    m = cells.merge(truth, on=["period_grain", "period_start", "brand_id", "partner"], how="inner")
    out = []
    for model in MODELS:
        x = m[m.attribution_model == model]
        if model == MODELS[0]:
            out.append(
                pd.DataFrame(
                    {
                        "measure": "gmv",
                        "period_grain": x.period_grain,
                        "partner": x.partner,
                        "true_purchases": x.true_purchases,
                        "truth": x.true_gmv,
                        "low": x.gmv_estimated_ci_low,
                        "high": x.gmv_estimated_ci_high,
                    }
                )
            )
        out.append(
            pd.DataFrame(
                {
                    "measure": f"attributed_{model}",
                    "period_grain": x.period_grain,
                    "partner": x.partner,
                    "true_purchases": x.true_purchases,
                    "truth": x[f"true_{model}"],
                    "low": x.gmv_attributed_estimated_ci_low,
                    "high": x.gmv_attributed_estimated_ci_high,
                }
            )
        )
    r = pd.concat(out, ignore_index=True)
    tol = 1e-6 * np.maximum(r.truth.abs(), 1.0)
    r["covered"] = (r.low - tol <= r.truth) & (r.truth <= r.high + tol)
    r["width"] = (r.high - r.low) / r.truth.where(r.truth > 0)
    r["size"] = pd.cut(r.true_purchases, [0, 4, 20, 100, np.inf], labels=list(SIZE_LABELS))
    return r


def table(results: pd.DataFrame) -> pd.DataFrame:
    """Coverage and median relative width by measure, grain and cell size; 'all >= 5' row too."""
    t = (
        results.groupby(["measure", "period_grain", "size"], observed=True)
        .agg(cells=("covered", "size"), coverage=("covered", "mean"), median_width=("width", "median"))
        .reset_index()
    )
    ge5 = (
        results[results.true_purchases >= 5]
        .groupby(["measure", "period_grain"])
        .agg(cells=("covered", "size"), coverage=("covered", "mean"), median_width=("width", "median"))
        .reset_index()
    )
    ge5["size"] = ">=5"
    return pd.concat([t, ge5], ignore_index=True)


# --- per-note cells (int_estimation_note_cells) --------------------------------------------------
NOTES_PER_BRAND = 10


def compile_note_model(home: Path) -> str:
    """int_estimation_note_cells as dbt compiles it (for the benchmark)."""
    return compile_project(home / "dbt").sql("int_estimation_note_cells")


def note_credits(sales: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Every (purchase-day, note) of the attributed purchases: each buyer keeps a fixed set of 1-3
    of the brand's notes (popularity heavy-tailed) for the whole span, so a heavy buyer credits the
    same notes on several days; last_touch gives the purchase to one of them (drawn per day),
    linear splits the buyer's linear credit equally among them. Organic buyers touch no note."""
    rng = np.random.default_rng(seed)
    s = sales[sales.last_touch > 0].reset_index(drop=True)
    users = s[["brand_id", "user_hash"]].drop_duplicates().reset_index(drop=True)
    popularity = rng.lognormal(0.0, 1.0, NOTES_PER_BRAND)
    popularity /= popularity.sum()
    k = rng.integers(1, 4, len(users))
    sets = [rng.choice(NOTES_PER_BRAND, size=n, replace=False, p=popularity) for n in k]
    users["notes"] = sets
    s = s.merge(users, on=["brand_id", "user_hash"])
    last = np.array([ns[rng.integers(len(ns))] for ns in s.notes])
    s["last"] = last
    s["k"] = s.notes.map(len)
    x = s.explode("notes").rename(columns={"notes": "note"})
    x["note"] = x.note.astype(int)
    x["note_id"] = x.brand_id + "-n" + x.note.astype(str)
    x["last_touch"] = np.where(x.note == x["last"], x.last_touch, 0.0)
    x["linear"] = (x.linear / x.k).round(4)
    return x.drop(columns=["last", "k", "note"]).reset_index(drop=True)


def run_note_cells(path: Path, sql: str, credits: pd.DataFrame, partners: dict[str, float] = PARTNERS) -> pd.DataFrame:
    """The compiled note SQL on the sampled buyers' note rows: one row per day, note and model."""
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA intermediate")
    s = credits[credits.sampled]
    rows = pd.concat([s.assign(attribution_model=m, gmv_attributed=s[m]) for m in MODELS], ignore_index=True)
    con.register("rows_df", rows)
    con.execute(
        "CREATE TABLE intermediate.int_estimation_note_user_gmv AS SELECT conversion_date, brand_id, note_id, "
        "partner, user_hash, attribution_model, sampling_ratio, gmv_attributed FROM rows_df"
    )
    con.register("notes_df", credits[["note_id", "brand_id", "category"]].drop_duplicates())
    con.execute("CREATE TABLE intermediate.int_notes AS SELECT note_id, brand_id, category FROM notes_df")
    programme = pd.DataFrame(
        [
            (p, day, r)
            for p, r in partners.items()
            if p in set(credits.partner)
            for day in sorted(set(credits.conversion_date))
        ],
        columns=["partner", "report_date", "sampling_ratio"],
    )
    con.register("programme_df", programme)
    con.execute(
        "CREATE TABLE intermediate.int_partner_programme_days AS SELECT partner, report_date, "
        "'sim' AS program_version, sampling_ratio, 0.95 AS landing_rate FROM programme_df"
    )
    out = con.execute(f"SELECT * FROM ({sql}) WHERE attribution_model IN {MODELS!r}").df()
    con.close()
    return out


def note_coverage(cells: pd.DataFrame, credits: pd.DataFrame) -> pd.DataFrame:
    """One row per evaluated (note-day, model) with a sampled buyer: truth (every buyer's credit),
    bounds, covered; true_purchases = the purchases of the buyers who touched the note."""
    truth = credits.groupby(["conversion_date", "note_id"], as_index=False).agg(
        true_purchases=("purchases", "sum"), **{f"true_{m}": (m, "sum") for m in MODELS}
    )
    cells = cells.assign(conversion_date=pd.to_datetime(cells.report_date).dt.date)
    m = cells.merge(truth, on=["conversion_date", "note_id"], how="inner")
    out = []
    for model in MODELS:
        x = m[m.attribution_model == model]
        out.append(
            pd.DataFrame(
                {
                    "measure": f"note_{model}",
                    "period_grain": "day",
                    "partner": "all",
                    "true_purchases": x.true_purchases,
                    "truth": x[f"true_{model}"],
                    "low": x.gmv_attributed_estimated_ci_low,
                    "high": x.gmv_attributed_estimated_ci_high,
                    "estimate_quality": x.estimate_quality,
                }
            )
        )
    r = pd.concat(out, ignore_index=True)
    tol = 1e-6 * np.maximum(r.truth.abs(), 1.0)
    r["covered"] = (r.low - tol <= r.truth) & (r.truth <= r.high + tol)
    r["width"] = (r.high - r.low) / r.truth.where(r.truth > 0)
    r["size"] = pd.cut(r.true_purchases, [0, 4, 20, 100, np.inf], labels=list(SIZE_LABELS))
    return r
