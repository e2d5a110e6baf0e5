"""The self-calibrating landing rate (issue 12, item 2) on its compiled SQL: the estimate from
trailing days sits beside the policy's, robust to an incident day, and the warn-only dbt test
flags a seed whose landing rate is materially wrong (and only such a seed)."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
from compiled_sql import CompiledProject


@pytest.fixture(scope="module")
def compiled(compiled_project, tmp_path_factory):
    home = tmp_path_factory.mktemp("landing")
    return (
        CompiledProject.scratch(home),
        compiled_project.sql("int_landing_rate_estimates"),
        compiled_project.sql("landing_rate_matches_policy"),
    )


def run(compiled, true_rate: float, policy_rate: float, incident_day: int | None = None):
    path, model, test = compiled
    path.unlink(missing_ok=True)
    rng = np.random.default_rng(5)
    days = [dt.date(2024, 7, 1) + dt.timedelta(days=i) for i in range(20)]
    clicked = rng.integers(400, 800, len(days))
    visited = rng.binomial(clicked, 0.5 * true_rate)
    if incident_day is not None:
        visited[incident_day] //= 3
    tests = pd.DataFrame(
        {
            "report_date": days,
            "partner": "taobao",
            "landing_rate": policy_rate,
            "sampling_ratio": 0.5,
            "clicked_users": clicked,
            "visited_users": visited,
        }
    )
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA intermediate; CREATE SCHEMA staging")
    con.register("t", tests)
    con.execute("CREATE TABLE intermediate.int_completeness_tests AS SELECT * FROM t")
    con.execute(
        "CREATE TABLE staging.stg_partners__deliveries AS SELECT partner, report_date AS delivery_date, "
        "'loaded' AS delivery_status FROM t"
    )
    con.execute(f"CREATE TABLE intermediate.int_landing_rate_estimates AS {model}")
    estimates = con.execute(
        "SELECT report_date, estimated_landing_rate, baseline_days FROM "
        "intermediate.int_landing_rate_estimates ORDER BY 1"
    ).fetchall()
    flagged = con.execute(f"SELECT report_date FROM ({test}) ORDER BY 1").fetchall()
    con.close()
    return estimates, flagged


def test_a_right_seed_is_not_flagged_and_an_incident_day_does_not_move_the_estimate(compiled):
    estimates, flagged = run(compiled, 0.95, 0.95, incident_day=12)
    assert flagged == []
    last = estimates[-1]
    assert last[2] == 19 and last[1] == pytest.approx(0.95, abs=0.03)
    assert estimates[0][1] is None  # no history on the first day


def test_a_wrong_seed_is_flagged_once_enough_days_exist(compiled):
    estimates, flagged = run(compiled, 0.80, 0.95)
    assert [d for (d,) in flagged] == [e[0] for e in estimates if e[2] >= 10]
    assert estimates[-1][1] == pytest.approx(0.80, abs=0.03)
