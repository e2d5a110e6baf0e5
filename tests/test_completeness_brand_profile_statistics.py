"""The brand and within-day profile tests' statistical behaviour, measured by simulation on
their real SQL (as tests/test_completeness_stage_statistics.py does for the stage tests).

dbt compiles int_completeness_brand_tests and int_completeness_profile_tests; the compiled SQL
runs in DuckDB on simulated partners (fixed seeds), 40-day runs with traffic varying +-20 % a day
and the sampling ratio switching from 50 % to 100 % on day 20.

Brands (`BRANDS`: mean callback users a day at the small test world's scale, day-to-day cv of
the brand's rate beyond Poisson, as measured on the generator's world, 30 days at scale 0.004):
exposed users E_bt ~ Poisson(10 mu_b traffic_t), callback users x_bt ~ Poisson(mu_b ratio_t
traffic_t g_bt), g ~ Gamma(mean 1, cv c_b). `size` multiplies every brand's volume.

Profile: the day's callbacks come from users (one hour each, by the generator's hourly profile,
`HOURS`, times a 5 % hour-by-hour day-to-day variation) with 1 + Poisson(0.6) callbacks each: the
burstiness that makes the share after an hour vary about twice as much as binomial (measured:
after 14:00 0.51 +- 0.018 at 1,700 callbacks a day).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
from compiled_sql import CompiledProject

BRANDS = [
    (125, 0.0),
    (40, 0.30),
    (6, 0.32),
    (75, 0.03),
    (35, 0.04),
    (30, 0.0),
    (11, 0.27),
    (84, 0.13),
    (145, 0.15),
    (103, 0.06),
    (79, 0.35),
    (132, 0.05),
    (156, 0.09),
]
HOURS = np.array(
    [
        0.046,
        0.039,
        0.035,
        0.03,
        0.028,
        0.026,
        0.026,
        0.029,
        0.033,
        0.034,
        0.036,
        0.04,
        0.044,
        0.046,
        0.042,
        0.042,
        0.043,
        0.045,
        0.045,
        0.054,
        0.057,
        0.064,
        0.063,
        0.055,
    ]
)
HOURS = HOURS / HOURS.sum()
DAY0 = dt.date(2000, 1, 1)
DAYS, MIN_DAYS = 40, 10
MODELS = ("int_completeness_brand_tests", "int_completeness_profile_tests")


@pytest.fixture(scope="module")
def compiled(compiled_project, tmp_path_factory):
    home = tmp_path_factory.mktemp("brand_profile_sim")
    return CompiledProject.scratch(home), {m: compiled_project.sql(m) for m in MODELS}


def _day(partner: int, d: int) -> dt.date:
    """Each simulated partner on its own dates: its content side (exposure totals) is its own."""
    return DAY0 + dt.timedelta(days=50 * partner + d)


def _runs(rng, partners: int):
    ratio = np.where(np.arange(DAYS) < DAYS // 2, 0.5, 1.0)
    return [(ratio, rng.uniform(0.8, 1.2, DAYS)) for _ in range(partners)]


def simulate_brands(rng, partners: int, size: float, vanish: int | None = None) -> pd.DataFrame:
    """Brand users and exposure; `vanish`: that brand's callbacks all missing on the last day."""
    rows = []
    for p, (ratio, traffic) in enumerate(_runs(rng, partners)):
        for b, (mu, cv) in enumerate(BRANDS):
            g = rng.gamma(1 / cv**2, cv**2, DAYS) if cv else np.ones(DAYS)
            x = rng.poisson(mu * size * ratio * traffic * g)
            e = rng.poisson(10 * mu * size * traffic)
            if vanish == b:
                x[-1] = 0
            rows += [(_day(p, d), f"p{p}", f"b{b:02d}", int(x[d]), int(e[d])) for d in range(DAYS)]
    return pd.DataFrame(rows, columns=["report_date", "partner", "brand_id", "brand_users", "exposed_users"])


def simulate_hours(rng, partners: int, callbacks: float, cut: int | None = None) -> pd.DataFrame:
    """Callbacks per hour; `cut`: the last day's callbacks from that hour on missing."""
    rows = []
    for p, (ratio, traffic) in enumerate(_runs(rng, partners)):
        for d in range(DAYS):
            profile = HOURS * rng.gamma(400, 1 / 400, 24)
            users = rng.multinomial(rng.poisson(callbacks / 1.6 * ratio[d] * traffic[d]), profile / profile.sum())
            per_hour = users + rng.poisson(0.6 * users)
            if cut is not None and d == DAYS - 1:
                per_hour[cut:] = 0
            rows += [(_day(p, d), f"p{p}", h, int(per_hour[h])) for h in range(24)]
    return pd.DataFrame(rows, columns=["report_date", "partner", "callback_hour", "callbacks"])


def evaluate(compiled, model: str, sim: pd.DataFrame) -> pd.DataFrame:
    path, sql = compiled
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA intermediate; CREATE SCHEMA staging")
    con.register("sim", sim)
    con.execute("CREATE TABLE intermediate.int_partner_programme_days AS SELECT DISTINCT report_date, partner FROM sim")
    con.execute("""CREATE TABLE staging.stg_partners__deliveries AS
                   SELECT DISTINCT partner, report_date AS delivery_date, 'loaded' AS delivery_status FROM sim""")
    con.execute(
        "CREATE TABLE intermediate.int_completeness_tests AS "
        "SELECT DISTINCT report_date, partner, 'ok' AS test_status FROM sim"
    )
    if model == "int_completeness_brand_tests":
        con.execute(
            "CREATE TABLE intermediate.int_callback_brand_users AS "
            "SELECT report_date, partner, brand_id, brand_users FROM sim WHERE brand_users > 0"
        )
        con.execute(
            "CREATE TABLE intermediate.int_brand_exposure AS SELECT report_date, brand_id, exposed_users FROM sim"
        )
    else:
        con.execute("CREATE TABLE intermediate.int_callback_hours AS SELECT * FROM sim WHERE callbacks > 0")
    out = con.execute(f"SELECT * FROM ({sql[model]}) ORDER BY partner, report_date").df()
    con.close()
    return out


def _judged_days(out: pd.DataFrame) -> pd.DataFrame:
    """Per partner-day (from the 11th day on): did any test of the model fail?"""
    late = out[out.baseline_days >= MIN_DAYS]
    return late.groupby(["partner", "report_date"]).test_status.apply(lambda s: (s == "fail").any())


def _last_day(out: pd.DataFrame) -> pd.DataFrame:
    last = out.groupby("partner").report_date.transform("max")
    return out[out.report_date == last]


@pytest.mark.parametrize("size", [1, 5, 25])
def test_brand_false_alarms_stay_far_below_a_tenth_of_a_percent(compiled, size):
    out = evaluate(compiled, "int_completeness_brand_tests", simulate_brands(np.random.default_rng(size), 120, size))
    days = _judged_days(out)
    assert len(days) >= 120 * 29
    assert (out.test_status == "ok").sum() > 0
    assert days.sum() / len(days) <= 0.0003, f"{days.sum()} false alarms in {len(days)} partner-days"


@pytest.mark.parametrize("callbacks", [500, 1700, 8000, 40000])
def test_profile_false_alarms_stay_far_below_a_tenth_of_a_percent(compiled, callbacks):
    out = evaluate(
        compiled, "int_completeness_profile_tests", simulate_hours(np.random.default_rng(callbacks), 120, callbacks)
    )
    days = _judged_days(out)
    assert len(days) >= 120 * 29
    assert days.sum() / len(days) <= 0.0003, f"{days.sum()} false alarms in {len(days)} partner-days"


def brand_power(compiled, brand: int, size: float, seed: int = 5) -> tuple[float, float, set]:
    out = _last_day(
        evaluate(
            compiled,
            "int_completeness_brand_tests",
            simulate_brands(np.random.default_rng(seed), 100, size, vanish=brand),
        )
    )
    mine = out[out.brand_id == f"b{brand:02d}"]
    judged = mine[mine.expected_users >= 30]  # completeness_brand_min_expected
    others = set(out[out.brand_id != f"b{brand:02d}"].test_status)
    caught = float((judged.test_status == "fail").mean()) if len(judged) else 0.0
    return caught, float(mine.expected_users.mean()), others


@pytest.mark.parametrize("brand", [0, 1, 8, 10])
def test_a_vanished_brand_is_caught_once_large_enough_to_judge(compiled, brand):
    """Brands of 30 to 150 users a day, day-to-day cv 0 to 35 %: vanishing, each fails its
    partner-day at the small world's size already; the other brands stay ok."""
    caught, expected, others = brand_power(compiled, brand, 1)
    assert expected >= 30
    assert caught >= 0.99, f"caught {caught:.0%} at {expected:.0f} expected users"
    assert "fail" not in others


def test_a_small_brand_is_insufficient_data_not_failed(compiled):
    caught, expected, _ = brand_power(compiled, 2, 1)  # 6 users a day
    assert expected < 30 and caught == 0


@pytest.mark.parametrize("cut", [10, 14, 18, 22])
def test_a_truncated_dump_is_caught_and_the_cut_named(compiled, cut):
    out = _last_day(
        evaluate(
            compiled, "int_completeness_profile_tests", simulate_hours(np.random.default_rng(cut), 100, 1700, cut=cut)
        )
    )
    assert (out.test_status == "fail").all()
    assert (out.truncated_after_hour == cut).mean() >= 0.95
