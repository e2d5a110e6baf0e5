"""The stage tests' statistical behaviour, measured by simulation on their real SQL.

dbt compiles int_completeness_stage_tests; the compiled SQL runs in DuckDB on simulated partners
(fixed seeds), each a run of consecutive days: store-visit users n_t (traffic varying +-20 % a
day, the sampling ratio switching from 50 % to 100 % in mid-run, so n doubles) and per stage
x_t ~ Poisson(n_t R g_t) with g_t ~ Gamma(mean 1, cv c): day-to-day variation beyond sampling
noise as measured on the generator's world (`STAGES`: rate per reference user, cv). A complete
run gives the false alarms of all stage tests together per partner-day; a loss on the last day
the power. SciPy's t distribution is the reference for the p-values.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
from compiled_sql import CompiledProject
from scipy.stats import t as student_t

# rate per reference user and day-to-day cv, as measured on `redcat generate --scale 0.01`, 30 days
STAGES = {"search": (2.4, 0.05), "add_to_cart": (0.27, 0.02), "purchase": (0.127, 0.04), "refund": (0.011, 0.02)}
DAY0 = dt.date(2000, 1, 1)
MIN_DAYS = 10  # dbt_project.yml: completeness_baseline_min_days


@pytest.fixture(scope="module")
def compiled(compiled_project, tmp_path_factory):
    home = tmp_path_factory.mktemp("stage_sim")
    return CompiledProject.scratch(home), compiled_project.sql("int_completeness_stage_tests")


def simulate(rng, partners: int, days: int, visitors: float, loss: dict | None = None) -> pd.DataFrame:
    """Stage users of `partners` partners over `days` days; loss = {stage: share} on the last day."""
    rows = []
    for p in range(partners):
        ratio = np.where(np.arange(days) < days // 2, 0.5, 1.0)
        n = rng.poisson(visitors * ratio * rng.uniform(0.8, 1.2, days))
        for stage, (rate, cv) in STAGES.items():
            g = rng.gamma(1 / cv**2, cv**2, days) if cv else np.ones(days)
            reference = rng.binomial(n, 0.6) if stage == "search" else n  # visitors without a click
            x = rng.poisson(reference * rate * g)
            if loss and stage in loss:
                x[-1] = rng.binomial(x[-1], 1 - loss[stage])
            rows += [
                (DAY0 + dt.timedelta(days=d), f"p{p}", stage, int(x[d]), int(n[d]), int(n[d] - reference[d]))
                for d in range(days)
            ]
    return pd.DataFrame(rows, columns=["report_date", "partner", "stage", "stage_users", "visitors", "landed"])


def evaluate(compiled, sim: pd.DataFrame) -> pd.DataFrame:
    path, sql = compiled
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA intermediate; CREATE SCHEMA staging")
    con.register("sim", sim)
    con.execute("""CREATE TABLE intermediate.int_callback_stage_users AS
                   SELECT report_date, partner, stage, stage_users, stage_users AS callbacks FROM sim
                   UNION ALL SELECT DISTINCT report_date, partner, 'store_visit', visitors, visitors FROM sim""")
    con.execute("""CREATE TABLE intermediate.int_click_coverage AS
                   SELECT DISTINCT report_date, partner, 0 AS clicked_users, landed AS visited_users FROM sim
                   WHERE stage = 'search'""")
    con.execute("""CREATE TABLE staging.stg_partners__deliveries AS
                   SELECT DISTINCT partner, report_date AS delivery_date, 'loaded' AS delivery_status FROM sim""")
    con.execute(
        "CREATE TABLE intermediate.int_completeness_tests AS "
        "SELECT DISTINCT report_date, partner, 'ok' AS test_status FROM sim"
    )
    out = con.execute(f"SELECT * FROM ({sql}) ORDER BY partner, report_date, stage").df()
    con.close()
    return out


def test_p_values_follow_student_t(compiled):
    out = evaluate(compiled, simulate(np.random.default_rng(3), 20, 30, 600))
    out = out[out.df.notna() & out.t_value.notna()] if "df" in out else out[out.baseline_days > 1]
    ref = student_t.cdf(out.t_value, out.baseline_days - 1)
    mask = ref > 1e-6
    assert mask.sum() > 500
    assert np.allclose(out.p_value_below[mask], ref[mask], rtol=0.05, atol=2e-4)


@pytest.mark.parametrize("visitors", [300, 1000, 5000])
def test_false_alarms_of_all_stages_together_stay_below_a_tenth_of_a_percent(compiled, visitors):
    """40-day runs, the switch on day 20: every judged partner-day (10 to 28 baseline days)."""
    out = evaluate(compiled, simulate(np.random.default_rng(visitors), 150, 40, visitors))
    judged = out[out.test_status != "insufficient_data"]
    per_day = out.groupby(["partner", "report_date"]).test_status.apply(lambda s: (s == "fail").any())
    days = len(out[out.baseline_days >= MIN_DAYS].groupby(["partner", "report_date"]))
    assert days >= 150 * 29
    assert per_day.sum() / days <= 0.001, f"{per_day.sum()} false alarms in {days} partner-days"
    assert len(judged) > 0


def _last_day(out: pd.DataFrame) -> pd.DataFrame:
    return out[out.report_date == out.report_date.max()]


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_total_loss_of_a_stage_is_always_caught_once_history_exists(compiled, stage):
    out = _last_day(evaluate(compiled, simulate(np.random.default_rng(7), 100, 12, 2000, {stage: 1.0})))
    mine = out[out.stage == stage]
    judged = mine[mine.expected_users >= 30]
    assert (judged.test_status == "fail").all()
    assert set(out[out.stage != stage].test_status) <= {"ok", "insufficient_data"}
    if stage != "refund":
        assert len(judged) == 100


def power(compiled, stage: str, visitors: int, loss: float = 0.2, seed: int = 11) -> tuple[float, float]:
    out = _last_day(evaluate(compiled, simulate(np.random.default_rng(seed), 200, 29, visitors, {stage: loss})))
    mine = out[out.stage == stage]
    return float((mine.test_status == "fail").mean()), float(mine.expected_users.mean())


def test_a_20_percent_loss_of_add_to_cart_is_caught_with_90_percent_power_from_about_1000_expected(compiled):
    caught, expected = power(compiled, "add_to_cart", 5000)
    assert expected > 1000 and caught >= 0.90, f"caught {caught:.1%} of 20 % losses at {expected:,.0f} expected users"


@pytest.mark.parametrize("stage", ["search", "purchase"])
def test_power_of_overdispersed_stages_is_bounded_by_their_day_to_day_variation(compiled, stage):
    """Searches and purchases vary by 4-5 % a day beyond sampling noise: a 20 % loss is 4-5 of
    their standard deviations, caught only part of the time however large the day (the 90 %
    target is not met); a 40 % loss is always caught."""
    caught_20, _ = power(compiled, stage, 20000)
    caught_40, _ = power(compiled, stage, 20000, loss=0.4)
    assert 0.2 < caught_20 < 0.9
    assert caught_40 >= 0.99
