"""Analysts' tools: the semantic layer answers like the marts and cannot sum over attribution models, a
column added to a mart reaches BI on every date, every mart's enforced contract types every column
and a retyped column fails the build, dbt docs build offline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml
from warehouse import rows

from redcat.config import DBT_PROJECT_DIR

BIN = Path(sys.executable).parent


def _env(settings):
    return {**os.environ, **settings.export_env()}


def _mf(settings, metrics: str, group_by: str, where: str | None = None) -> subprocess.CompletedProcess:
    args = [str(BIN / "mf"), "query", "--metrics", metrics, "--group-by", group_by, "--csv", "/dev/stdout", "--quiet"]
    return subprocess.run(
        args + (["--where", where] if where else []),
        cwd=DBT_PROJECT_DIR,
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _mf_rows(settings, metrics: str, group_by: str, where: str | None = None) -> list[dict]:
    out = _mf(settings, metrics, group_by, where)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = [line for line in out.stdout.strip().splitlines() if line]
    header = lines[0].split(",")
    assert header[0].startswith("metric_time__"), out.stdout
    return [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]


def test_semantic_layer_metrics_cannot_be_summed_over_attribution_models(clean_built):
    """mart_brand_daily has one row per attribution model: a metric query without the model must
    give the right number (model-independent metrics) or none (per-model ones), never 7 times it."""
    settings, _ = clean_built
    # model-independent metrics by day, without any filter: the sums over one model's rows,
    # computed here from other models than the one the semantic views read
    got = _mf_rows(settings, "gmv_estimated,gmv_observed,purchases,spend_total,roas", "metric_time__day")
    assert len(got) == 16
    truth = {
        str(d): v
        for d, *v in rows(
            settings,
            """
        SELECT report_date, sum(gmv_estimated), sum(gmv_observed), sum(purchases_observed), sum(gmv_estimated) / 7
        FROM marts.mart_brand_daily WHERE attribution_model = 'linear' GROUP BY 1""",
        )
    }
    every_model = dict(
        rows(settings, "SELECT report_date::VARCHAR, sum(gmv_estimated) / 7 FROM marts.mart_brand_daily GROUP BY 1")
    )
    spend = {
        str(d): v
        for d, *v in rows(
            settings,
            """
        SELECT report_date, sum(spend_total_cny), sum(gmv_attributed_estimated) / sum(spend_total_cny)
        FROM marts.mart_brand_roi_daily WHERE attribution_model = 'markov' GROUP BY 1""",
        )
    }
    for row in got:
        day = row["metric_time__day"][:10]
        gmv, observed, purchases, _ = truth[day]
        assert float(row["gmv_estimated"]) == pytest.approx(gmv, rel=1e-9)
        assert float(row["gmv_estimated"]) == pytest.approx(every_model[day], rel=1e-9)  # not 7 x
        assert float(row["gmv_observed"]) == pytest.approx(observed, rel=1e-9)
        assert int(row["purchases"]) == purchases
        assert float(row["spend_total"]) == pytest.approx(spend[day][0], rel=1e-9)
        assert float(row["roas"]) == pytest.approx(spend[day][1], rel=1e-6)
    assert sum(float(r["gmv_estimated"]) for r in got) > 0

    # they have no attribution model: asking for one fails clearly instead of repeating the total
    out = _mf(settings, "gmv_estimated", "metric_time__day,attribution_model")
    assert out.returncode != 0 and "does not match any of the available group-by-items" in out.stdout + out.stderr

    # per-model metrics per model equal the mart's per-model sums
    got = _mf_rows(
        settings,
        "gmv_attributed_estimated,gmv_attributed_estimated_ci_low,roas_boosted",
        "metric_time__day,attribution_model",
    )
    assert len(got) == 16 * 7
    attributed = {
        (str(d), m): (g, lo)
        for d, m, g, lo in rows(
            settings,
            """
        SELECT report_date, attribution_model, sum(gmv_attributed_estimated), sum(gmv_attributed_estimated_ci_low)
        FROM marts.mart_brand_daily GROUP BY 1, 2""",
        )
    }
    boosted = {
        (str(d), m): r
        for d, m, r in rows(
            settings,
            """
        SELECT report_date, attribution_model, sum(gmv_attributed_boosted_estimated) / sum(spend_total_cny)
        FROM marts.mart_brand_roi_daily GROUP BY 1, 2""",
        )
    }
    for row in got:
        key = (row["metric_time__day"][:10], row["attribution_model"])
        assert float(row["gmv_attributed_estimated"]) == pytest.approx(attributed[key][0], rel=1e-9)
        assert float(row["gmv_attributed_estimated_ci_low"]) == pytest.approx(attributed[key][1], rel=1e-9)
        assert float(row["roas_boosted"]) == pytest.approx(boosted[key], rel=1e-9)
    # one model by a filter: the same numbers
    linear = _mf_rows(
        settings, "gmv_attributed_estimated", "metric_time__day", "{{ Entity('attribution_model') }} = 'linear'"
    )
    assert {r["metric_time__day"][:10]: float(r["gmv_attributed_estimated"]) for r in linear} == pytest.approx(
        {d: v[0] for (d, m), v in attributed.items() if m == "linear"}, rel=1e-9
    )
    # and without a model they are empty, not the sum over seven models
    mixed = _mf_rows(settings, "gmv_attributed_estimated,roas_boosted", "metric_time__day")
    assert len(mixed) == 16 and all(r["gmv_attributed_estimated"] == r["roas_boosted"] == "" for r in mixed)

    # weeks: one model, one grain, partner 'all' gives the mart's figure; without the filters, none
    week = (
        "{{ Dimension('brand_period__period_grain') }} = 'week' and {{ Entity('attribution_model') }} = 'linear' "
        "and {{ Dimension('brand_period__period_partner') }} = 'all'"
    )
    weekly = {
        r["metric_time__week"][:10]: float(r["period_gmv_estimated"])
        for r in _mf_rows(settings, "period_gmv_estimated", "metric_time__week", week)
    }
    assert weekly == pytest.approx(
        {
            str(d): v
            for d, v in rows(
                settings,
                """
        SELECT period_start, sum(gmv_estimated) FROM marts.mart_brand_period
        WHERE period_grain = 'week' AND attribution_model = 'linear' AND partner = 'all' GROUP BY 1""",
            )
        },
        rel=1e-9,
    )
    assert all(r["period_gmv_estimated"] == "" for r in _mf_rows(settings, "period_gmv_estimated", "metric_time__week"))


def test_dbt_docs_build_offline_into_one_file(clean_built, tmp_path):
    settings, _ = clean_built
    done = subprocess.run(
        [str(BIN / "dbt"), "docs", "generate", "--static", "--target-path", str(tmp_path)],
        cwd=DBT_PROJECT_DIR,
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout
    page = (tmp_path / "static_index.html").read_text()
    assert "mart_callback_completeness" in page and "Horvitz" in page


def _project_copy(root: Path) -> Path:
    """The dbt project and the seeds it reads (../seeds) copied, as an analyst's working copy."""
    shutil.copytree(DBT_PROJECT_DIR, root / "dbt_project", ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(DBT_PROJECT_DIR.parent / "seeds", root / "seeds")
    return root / "dbt_project"


def _dbt(project: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "dbt"), *args], cwd=project, env=env, capture_output=True, text=True, timeout=900)


def test_a_column_added_to_a_mart_reaches_every_published_date(clean_built, tmp_path):
    """An analyst adds a column to mart_brand_daily (SQL and its contract) and changes nothing else:
    the next normal run (a delivery window, no --full-refresh) succeeds and appends the column,
    filled on the dates it rebuilt and null on the others; `redcat republish --select` rebuilds
    every date and publishes them, so the serving file has the column filled on every date."""
    built, _ = clean_built
    settings = built.with_(
        warehouse=tmp_path / "warehouse.duckdb", serving=tmp_path / "serving.duckdb", export_dir=tmp_path / "export"
    )
    shutil.copyfile(built.warehouse, settings.warehouse)  # the session's warehouse stays as it is
    project = _project_copy(tmp_path)
    mart = project / "models" / "marts" / "mart_brand_daily.sql"
    sql = mart.read_text()
    anchor = "    coalesce(k.link_clicks, 0) as link_clicks,\n"
    assert sql.count(anchor) == 1
    mart.write_text(sql.replace(anchor, anchor + "    coalesce(k.link_clicks, 0) * 10 as clicks_times_ten,\n"))
    yml = project / "models" / "marts" / "_marts.yml"
    text = yml.read_text()
    anchor = "      - name: purchases_observed\n        data_type: bigint\n        description: Purchase callbacks."
    assert text.count(anchor) == 1  # mart_brand_daily's, after link_clicks as in the SQL
    yml.write_text(text.replace(anchor, "      - name: clicks_times_ten\n        data_type: bigint\n" + anchor))
    env = {**_env(settings), "REDCAT_WINDOW_START": "2024-07-09", "REDCAT_WINDOW_END": "2024-07-10"}

    # the normal run's dbt build (what the Dagster asset runs for one partition), no full refresh
    done = _dbt(
        project,
        env,
        "build",
        "--select",
        "int_reprocessing_dates",
        "mart_brand_daily",
        "--exclude-resource-type",
        "unit_test",
    )
    assert done.returncode == 0, done.stdout[-3000:]
    rebuilt = {d for (d,) in rows(settings, "SELECT report_date FROM intermediate.int_reprocessing_dates")}
    filled = dict(
        rows(settings, "SELECT report_date, count(clicks_times_ten) = count(*) FROM marts.mart_brand_daily GROUP BY 1")
    )
    nulls = dict(
        rows(settings, "SELECT report_date, count(clicks_times_ten) = 0 FROM marts.mart_brand_daily GROUP BY 1")
    )
    assert rebuilt and set(filled) - rebuilt, "the window must rebuild some dates, not all"
    assert all(filled[d] for d in rebuilt if d in filled)
    assert all(nulls[d] for d in set(nulls) - rebuilt), "dates the run did not rebuild hold null until republished"
    assert rows(settings, "SELECT count(*) FROM marts.mart_brand_daily WHERE clicks_times_ten <> 10 * link_clicks") == [
        (0,)
    ]

    # the documented command: rebuild the mart and what reads it on every date, then publish every date
    env.pop("REDCAT_WINDOW_START"), env.pop("REDCAT_WINDOW_END")
    out = subprocess.run(
        [
            str(BIN / "redcat"),
            "republish",
            "--select",
            "mart_brand_daily+",
            "--project-dir",
            str(project),
            "--warehouse",
            str(settings.warehouse),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    with duckdb.connect(str(settings.serving), read_only=True) as con:
        for schema in ("marts", "bi"):
            by_date = con.execute(
                f"SELECT report_date, count(*), count(clicks_times_ten), "
                f"count(*) FILTER (WHERE clicks_times_ten <> 10 * link_clicks) "
                f"FROM {schema}.mart_brand_daily GROUP BY 1"
            ).fetchall()
            assert len(by_date) == len(filled), schema
            assert all(n == filled_n and wrong == 0 for _, n, filled_n, wrong in by_date), (schema, by_date)


# the contract's portable types (docs/contract.md) and what DuckDB's DESCRIBE shows for each
PORTABLE_TYPES = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


def test_every_mart_has_an_enforced_contract_typing_every_column(clean_built):
    """Every model of models/marts/_marts.yml that the build materialised as a table (and the
    fct_attribution view) declares `contract: {enforced: true}` and a portable data_type for every
    column, and the built warehouse holds exactly those columns, in that order, with those types:
    no HUGEINT left for Spark to lack."""
    settings, _ = clean_built
    models = yaml.safe_load((DBT_PROJECT_DIR / "models" / "marts" / "_marts.yml").read_text())["models"]
    kinds = dict(
        rows(settings, "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'marts'")
    )
    assert {m["name"] for m in models} <= set(kinds), "every mart of _marts.yml is built"
    tables = [m for m in models if kinds[m["name"]] == "BASE TABLE"]
    assert len(tables) >= 11, [m["name"] for m in tables]
    for model in tables + [m for m in models if m["name"] == "fct_attribution"]:
        name = model["name"]
        assert model.get("config", {}).get("contract") == {"enforced": True}, name
        declared = [(c["name"], c.get("data_type")) for c in model["columns"]]
        assert all(t in PORTABLE_TYPES for _, t in declared), (
            name,
            [c for c in declared if c[1] not in PORTABLE_TYPES],
        )
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            built = [(c, t) for c, t, *_ in con.execute(f"DESCRIBE marts.{name}").fetchall()]
        assert built == [(c, PORTABLE_TYPES[t]) for c, t in declared], name


def test_a_retyped_mart_column_fails_the_build_and_the_mart_keeps_its_rows(clean_built, tmp_path):
    """An analyst's change that drops a mart's cast to bigint (the count becomes DuckDB's HUGEINT)
    fails `dbt build` on the enforced contract, naming the column; the built mart is left as it was."""
    built, _ = clean_built
    settings = built.with_(warehouse=tmp_path / "warehouse.duckdb")
    shutil.copyfile(built.warehouse, settings.warehouse)
    project = _project_copy(tmp_path)
    mart = project / "models" / "marts" / "mart_funnel_nested_daily.sql"
    sql = mart.read_text()
    anchor = "    cast(e.clickers as bigint) as clickers,\n"
    assert sql.count(anchor) == 1
    mart.write_text(sql.replace(anchor, "    e.clickers,\n"))
    before = rows(settings, "SELECT count(*), sum(clickers) FROM marts.mart_funnel_nested_daily")
    assert before[0][0] > 0

    done = _dbt(
        project, _env(settings), "build", "--select", "mart_funnel_nested_daily", "--exclude-resource-type", "unit_test"
    )
    assert done.returncode != 0, done.stdout[-3000:]
    assert "enforced contract that failed" in done.stdout and "| clickers" in done.stdout, done.stdout[-3000:]
    assert "HUGEINT" in done.stdout and "data type mismatch" in done.stdout, done.stdout[-3000:]
    assert rows(settings, "SELECT count(*), sum(clickers) FROM marts.mart_funnel_nested_daily") == before
    assert (
        dict(
            rows(
                settings,
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'marts' "
                "AND table_name = 'mart_funnel_nested_daily'",
            )
        )["clickers"]
        == "BIGINT"
    )
