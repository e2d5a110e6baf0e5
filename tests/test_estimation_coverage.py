"""Coverage of the 95 % intervals of int_estimation_cells, measured on its compiled SQL.

dbt compiles the model; DuckDB runs it on simulated sampled users (tests/estimation_simulation.py)
of 20 seeds for a small and a typical brand mix, at 50 % and 10 % sampling. Coverage of the
unsampled truth is checked on brand-partner-days and weeks with at least 5 true purchases, for
GMV and attributed GMV (last_touch, linear). At 100 % sampling the interval is the observed value.
"""

from __future__ import annotations

import estimation_simulation as sim
import numpy as np
import pandas as pd
import pytest

SEEDS = range(20)
MIN_COVERAGE, MAX_COVERAGE, FLOOR = 0.93, 0.97, 0.90


@pytest.fixture(scope="module")
def sql(compiled_project):
    return compiled_project.sql("int_estimation_cells")


@pytest.fixture(scope="module")
def results(sql, tmp_path_factory):
    path = tmp_path_factory.mktemp("estimation_run") / "warehouse.duckdb"
    out = []
    for mix in (sim.SMALL, sim.TYPICAL):
        # the typical mix's sizes on 12 brands and 14 days keeps the test small (the benchmark runs it whole)
        mix = mix if mix is sim.SMALL else sim.Mix("typical", brands=12, log_rate=mix.log_rate, days=14)
        for seed in SEEDS:
            sales = sim.simulate(1000 + seed, mix)
            cells = sim.run_cells(path, sql, sales, mix.days)
            out.append(sim.coverage(cells, sim.truth_cells(sales)).assign(mix=mix.name, seed=seed))
    return pd.concat(out, ignore_index=True)


@pytest.mark.parametrize("grain", ["day", "week"])
@pytest.mark.parametrize("measure", ["gmv", "attributed_last_touch", "attributed_linear"])
def test_95_percent_intervals_cover_the_truth_in_93_to_97_percent_of_cells(results, measure, grain):
    r = results[(results.measure == measure) & (results.period_grain == grain) & (results.true_purchases >= 5)]
    assert len(r) >= 500, f"only {len(r)} cells"
    covered = r.covered.mean()
    assert covered >= FLOOR, f"{measure} per {grain}: coverage {covered:.3f} below {FLOOR}"
    assert MIN_COVERAGE <= covered <= MAX_COVERAGE, f"{measure} per {grain}: coverage {covered:.3f} over {len(r)} cells"


def test_coverage_holds_in_each_mix_and_sampling_ratio(results):
    r = results[(results.measure == "gmv") & (results.period_grain == "day") & (results.true_purchases >= 5)]
    for (mix, partner), g in r.groupby(["mix", "partner"]):
        assert g.covered.mean() >= FLOOR, f"{mix} at {partner}: {g.covered.mean():.3f} over {len(g)} cells"


def test_small_cells_are_flagged_and_zero_sampled_buyers_do_not_give_a_confident_zero(sql, tmp_path):
    sales = sim.simulate(7, sim.SMALL)
    cells = sim.run_cells(tmp_path / "warehouse.duckdb", sql, sales, sim.SMALL.days)
    day = cells[cells.period_grain == "day"]
    none = day[day.sampled_buyers == 0]
    assert len(none) and (none.estimate_quality == "no_sampled_buyers").all()
    assert (none.gmv_estimated_ci_low == 0).all() and (none.gmv_estimated_ci_high > 0).all()
    few = day[(day.sampled_buyers > 0) & (day.sampled_buyers < 20)]
    assert len(few) and (few.estimate_quality == "small_sample").all()
    assert (day.gmv_estimated_ci_low >= day.gmv_sampled - 1e-6).all()  # the sampled buyers' GMV is known


def test_at_full_sampling_the_interval_is_the_observed_value(sql, tmp_path):
    sales = sim.simulate(3, sim.SMALL, partners={"sim100": 1.0})
    cells = sim.run_cells(tmp_path / "warehouse.duckdb", sql, sales, sim.SMALL.days, partners={"sim100": 1.0})
    assert len(cells) and (cells.estimate_quality == "ok").all()
    for col in ("gmv_estimated_ci_low", "gmv_estimated_ci_high"):
        assert np.allclose(cells[col], cells.gmv_sampled, rtol=0, atol=0.005)
    for col in ("gmv_attributed_estimated_ci_low", "gmv_attributed_estimated_ci_high"):
        assert np.allclose(cells[col], cells.gmv_attributed_sampled, rtol=0, atol=0.005)
    r = sim.coverage(cells, sim.truth_cells(sales))
    assert r.covered.all()


# --- per-note intervals (int_estimation_note_cells, mart_note_daily) -------------------------------


@pytest.fixture(scope="module")
def note_sql(compiled_project):
    return compiled_project.sql("int_estimation_note_cells")


@pytest.fixture(scope="module")
def note_results(note_sql, tmp_path_factory):
    path = tmp_path_factory.mktemp("note_estimation_run") / "warehouse.duckdb"
    out = []
    for mix in (sim.SMALL, sim.Mix("typical", brands=12, log_rate=sim.TYPICAL.log_rate, days=14)):
        for seed in SEEDS:
            sales = sim.simulate(1000 + seed, mix)
            credits = sim.note_credits(sales, 1000 + seed)
            cells = sim.run_note_cells(path, note_sql, credits)
            out.append(sim.note_coverage(cells, credits).assign(mix=mix.name, seed=seed))
    return pd.concat(out, ignore_index=True)


@pytest.mark.parametrize("measure", ["note_last_touch", "note_linear"])
def test_note_intervals_cover_the_truth_in_93_to_97_percent_of_note_days(note_results, measure):
    r = note_results[(note_results.measure == measure) & (note_results.true_purchases >= 5)]
    assert len(r) >= 500, f"only {len(r)} note-days"
    covered = r.covered.mean()
    assert covered >= FLOOR, f"{measure}: coverage {covered:.3f} below {FLOOR}"
    assert MIN_COVERAGE <= covered <= MAX_COVERAGE, f"{measure}: coverage {covered:.3f} over {len(r)} note-days"
    for mix, g in r.groupby("mix"):
        assert g.covered.mean() >= FLOOR, f"{measure} in the {mix} mix: {g.covered.mean():.3f} over {len(g)} note-days"


def test_note_intervals_at_full_sampling_are_the_observed_value(note_sql, tmp_path):
    sales = sim.simulate(3, sim.SMALL, partners={"sim100": 1.0})
    credits = sim.note_credits(sales, 3)
    cells = sim.run_note_cells(tmp_path / "warehouse.duckdb", note_sql, credits, partners={"sim100": 1.0})
    assert len(cells) and (cells.estimate_quality == "ok").all()
    for col in ("gmv_attributed_estimated_ci_low", "gmv_attributed_estimated_ci_high"):  # bounds rounded to the fen
        assert np.allclose(cells[col], cells.gmv_attributed_sampled, rtol=0, atol=0.0051)
    r = sim.note_coverage(cells, credits)
    assert np.allclose(r.low, r.truth, rtol=0, atol=0.0051) and np.allclose(r.high, r.truth, rtol=0, atol=0.0051)
