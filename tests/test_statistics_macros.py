"""The distribution functions of dbt_project/macros/statistics.sql (the completeness tests'
p-values) against SciPy, evaluated in DuckDB over a grid of values.

The macros are plain Jinja without dbt context, rendered here by Jinja itself (as dbt does)."""

from __future__ import annotations

import duckdb
import jinja2
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from redcat.config import DBT_PROJECT_DIR

MACROS = jinja2.Environment().from_string((DBT_PROJECT_DIR / "macros" / "statistics.sql").read_text()).module


def _evaluate(expression: str, frame) -> np.ndarray:
    con = duckdb.connect()
    con.register("grid", frame)
    out = con.execute(f"SELECT {expression} AS v FROM grid ORDER BY i").fetchall()
    con.close()
    return np.array([np.nan if v is None else v for (v,) in out])


def test_normal_cdf_has_the_relative_accuracy_of_erfc():
    z = np.concatenate([np.linspace(-9, 9, 3601), [0.0]])

    got = _evaluate(str(MACROS.normal_cdf("z")), pd.DataFrame({"i": range(len(z)), "z": z}))
    want = stats.norm.cdf(z)
    # erfcc's relative error is 1.2e-7 on the tail it computes; 1 - tail on the other side
    tail = np.minimum(want, 1 - want)
    got_tail = np.minimum(got, 1 - got)
    assert np.all(np.abs(got_tail - tail) <= 1.3e-7 * tail + 1e-15)
    assert got[-1] == pytest.approx(0.5, rel=1.3e-7)


def test_a_null_gives_null():

    got = _evaluate(str(MACROS.normal_cdf("z")), pd.DataFrame({"i": [0], "z": [None]}, dtype=float))
    assert np.isnan(got[0])


@pytest.mark.parametrize("df, limit", [(3, 8e-4), (5, 4e-4), (9, 2e-4), (27, 2e-5)])
def test_student_t_through_wallaces_normal_equivalent(df, limit):

    t = np.linspace(-8, 8, 1601)
    frame = pd.DataFrame({"i": range(len(t)), "t": t, "df": float(df)})
    got = _evaluate(str(MACROS.student_t_cdf("t", "df")), frame)
    want = stats.t.cdf(t, df)
    worst = np.max(np.abs(got - want))
    assert worst <= limit, f"df={df}: worst absolute error {worst:.2e}"
    # and not much better than stated either: the bound is the approximation's, not slack
    assert worst > limit / 4
