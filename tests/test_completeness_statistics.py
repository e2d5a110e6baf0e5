"""The completeness test's statistical behaviour, measured by simulation on its real SQL.

dbt compiles int_log_factorials and int_completeness_tests; the compiled SQL runs in DuckDB on
simulated partner-days (fixed seeds): complete days for the false alarm rate, days that lost
20 % of users' callbacks for the power. SciPy's binomial distribution is the independent reference
for the p-values and for the exact power curve.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pytest
from compiled_sql import CompiledProject
from scipy.stats import binom

from redcat.completeness import dbt_vars

LANDING = 0.95
PARTNERS = {"sim50": 0.5, "sim100": 1.0}  # simulated programmes at the two reference ratios
VARS = dbt_vars()
ALPHA, SHORTFALL, MIN_EXPECTED = (
    VARS[k] for k in ("completeness_alpha", "completeness_min_shortfall", "completeness_min_expected")
)


@pytest.fixture(scope="module")
def compiled(compiled_project, tmp_path_factory):
    """The two models' compiled SQL and a scratch warehouse to run it in."""
    home = tmp_path_factory.mktemp("sim")
    sql = {name: compiled_project.sql(name) for name in ("int_log_factorials", "int_completeness_tests")}
    return CompiledProject.scratch(home), sql


def evaluate(compiled, clicked: np.ndarray, visited: np.ndarray, partners: list[str]) -> list[tuple]:
    """Run the compiled test SQL on simulated (clicked, visited) partner-days."""
    path, sql = compiled
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA intermediate; CREATE SCHEMA reference")
    con.execute(
        "CREATE TABLE reference.callback_sampling_policy (partner VARCHAR, program_version VARCHAR, "
        "sampling_ratio DOUBLE, landing_rate DOUBLE, valid_from DATE, valid_to DATE, note VARCHAR)"
    )
    for name, ratio in PARTNERS.items():
        con.execute(
            "INSERT INTO reference.callback_sampling_policy VALUES (?, 'sim', ?, ?, DATE '2000-01-01', NULL, '')",
            [name, ratio, LANDING],
        )
    days = [dt.date(2000, 1, 1) + dt.timedelta(days=i) for i in range(len(clicked))]
    con.execute(
        "CREATE TABLE intermediate.int_click_coverage (report_date DATE, partner VARCHAR, clicked_users BIGINT, visited_users BIGINT)"
    )
    con.executemany(
        "INSERT INTO intermediate.int_click_coverage VALUES (?, ?, ?, ?)",
        [(d, p, int(n), int(x)) for d, p, n, x in zip(days, partners, clicked, visited)],
    )
    con.execute(f"CREATE TABLE intermediate.int_log_factorials AS {sql['int_log_factorials']}")
    out = con.execute(
        f"SELECT report_date, partner, clicked_users, visited_users, p_value_below, test_status "
        f"FROM ({sql['int_completeness_tests']}) ORDER BY report_date"
    ).fetchall()
    con.close()
    return out


def test_p_values_are_exact_binomial_tails(compiled):
    rng = np.random.default_rng(1)
    clicked = rng.integers(40, 3000, 300)
    partners = rng.choice(list(PARTNERS), 300).tolist()
    pi = np.array([PARTNERS[p] * LANDING for p in partners])
    visited = rng.binomial(clicked, pi * rng.uniform(0.7, 1.05, 300).clip(max=1 / LANDING) * 1.0)
    visited = np.minimum(visited, clicked)
    for (_, partner, n, x, p_below, _), p in zip(evaluate(compiled, clicked, visited, partners), pi):
        expected = binom.cdf(x, n, p)
        if expected > 1e-250:
            assert p_below == pytest.approx(expected, rel=1e-9, abs=1e-300), (partner, n, x)
        else:
            assert p_below < 1e-240


def test_false_alarms_on_complete_days_stay_below_a_tenth_of_a_percent(compiled):
    rng = np.random.default_rng(20241)
    days = 10_000
    clicked = np.exp(rng.uniform(np.log(40), np.log(5000), days)).astype(int)  # small to large days
    partners = rng.choice(list(PARTNERS), days).tolist()
    pi = np.array([PARTNERS[p] * LANDING for p in partners])
    visited = rng.binomial(clicked, pi)
    statuses = [r[5] for r in evaluate(compiled, clicked, visited, partners)]
    fails = statuses.count("fail")
    assert fails / days <= 0.001, f"{fails} false alarms in {days} complete partner-days"
    assert statuses.count("warn") / days <= 0.001
    assert statuses.count("insufficient_data") == int((clicked * pi < MIN_EXPECTED).sum())


def test_a_20_percent_loss_is_caught_on_days_with_500_or_more_clicked_users(compiled):
    rng = np.random.default_rng(20242)
    days = 2_000
    clicked = rng.integers(500, 5000, days)
    partners = rng.choice(list(PARTNERS), days).tolist()
    pi = np.array([PARTNERS[p] * LANDING for p in partners])
    visited = rng.binomial(clicked, 0.8 * pi)
    statuses = [r[5] for r in evaluate(compiled, clicked, visited, partners)]
    caught = statuses.count("fail") / days
    assert caught >= 0.90, f"caught {caught:.1%} of 20 % losses"


def _exact_power(n: int, pi: float, loss: float = 0.2) -> float:
    """Power of the one-sided exact test at ALPHA with the materiality gate, for a loss of users."""
    c = int(binom.ppf(ALPHA, n, pi))
    while binom.cdf(c, n, pi) >= ALPHA:
        c -= 1
    gate = int(np.ceil((1 - SHORTFALL) * pi * n)) - 1  # x < (1 - shortfall) n pi
    return float(binom.cdf(min(c, gate), n, (1 - loss) * pi))


@pytest.mark.parametrize("n", [500, 650, 1000])
def test_power_curve_at_50_percent_sampling_matches_the_exact_binomial(compiled, n):
    """At 500 clicked users and 50 % sampling no test with 0.03 % false alarms (the store-visit
    share of the partner-day budget) can beat 78 % (this test is the Neyman-Pearson test); from
    about 650 users it exceeds 90 %."""
    rng = np.random.default_rng(n)
    days = 2_000
    clicked = np.full(days, n)
    visited = rng.binomial(clicked, 0.8 * 0.5 * LANDING)
    caught = [r[5] for r in evaluate(compiled, clicked, visited, ["sim50"] * days)].count("fail") / days
    expected = _exact_power(n, 0.5 * LANDING)
    assert abs(caught - expected) < 3 * np.sqrt(expected * (1 - expected) / days) + 0.005, (caught, expected)
