"""The same dbt project on Spark and on DuckDB, from one raw layer: the marts must be equal.

Spark runs through dbt-spark's session method (a local[2] PySpark inside the dbt process, Java
17), exactly as `make spark` does, with its metastore and warehouse in a temporary directory.
The build is done in two steps on both engines, as the daily runs do it:
  1. the first delivery days, built from scratch (Spark: create table as select);
  2. the remaining days incrementally, with a delivery window that starts one day back (a re-run
     of a built day must replace its rows, not add to them), including every data test and unit
     test, which must pass on both engines. DuckDB replaces dates with the replace_dates
     strategy; Spark drops the dates' partitions and appends.
Late and duplicated deliveries make step 2 rebuild report dates of step 1. Then every table in
`marts` is compared: the same columns, the same rows by the mart's grain (its
unique_combination test), exact values for counts, keys, strings, dates and time stamps, and
doubles (money, credits, rates, p-values) within 1e-9 relative.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml
from warehouse import CONTRACT

from conftest import settings_for, small_options
from redcat import contract
from redcat.config import DBT_PROJECT_DIR
from redcat.generate import Faults, Scale, generate
from redcat.ingest.loader import Loader
from redcat.timeutil import date_range

pytestmark = pytest.mark.slow

START = dt.date(2024, 6, 27)  # 8 delivery days across Taobao's 50 % -> 100 % switch of 2024-07-01
DAYS = 8
FIRST_STEP_DAYS = 5
# Spark's cost here is per query, not per row: a small world keeps the test at a few minutes.
SCALE = Scale.factor(0.001)
FAULTS = Faults(late_share=0.03, duplicate_share=0.02)
REL_TOL = 1e-9
ATTRIBUTION_MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley")
ABS_TOL = 1e-12  # near zero a relative tolerance means nothing (e.g. a Wilson bound of 0)
DBT = str(Path(sys.executable).parent / "dbt")
DBT_TIMEOUT = 20 * 60  # a build takes 1 to 3 minutes on Spark; a hung JVM must not hang CI


def _require_spark() -> None:
    """Fail, not skip: CI must run this test. Say what is missing and how to get it."""
    try:
        import dbt.adapters.spark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as e:
        pytest.fail(f"the Spark test needs the spark extra ({e}): pip install -e '.[dev]' (it includes "
                    "'.[spark]'); `make test` installs it. Deselect with -k 'not spark' to run without Spark.")
    java = shutil.which("java") or (os.environ.get("JAVA_HOME") and str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    if not java or not Path(java).exists():
        pytest.fail("the Spark test needs Java 17 or later (PySpark 4 runs on the JVM): install it (e.g. apt-get install "
                    "openjdk-17-jre-headless) or set JAVA_HOME. Deselect with -k 'not spark' to run without Spark.")
    version = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    major = re.search(r'version "(\d+)', version)
    if not major or int(major.group(1)) < 17:
        pytest.fail(f"PySpark 4 needs Java 17 or later; {java} is: {version.strip().splitlines()[0] if version else '?'}")


def _ingest(settings, first: dt.date, last: dt.date) -> None:
    with Loader(settings) as loader:
        for day in date_range(first, last):
            for table in contract.ALL_TABLES:
                loader.load(table, day)


def _dbt(engine: str, args: list[str], env: dict, root: Path) -> subprocess.Popen:
    """dbt in dbt_project/ against `engine`, with its target and logs under root (not in the repo)."""
    with open(root / f"dbt-{engine}.out", "a") as out:
        out.write(f"\n$ dbt {' '.join(args)} --target {engine}\n")
        out.flush()
        return subprocess.Popen([DBT, *args, "--target", engine, "--target-path", str(root / f"target-{engine}"),
                                 "--log-path", str(root / f"logs-{engine}")],
                                cwd=DBT_PROJECT_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait(engine: str, proc: subprocess.Popen, root: Path) -> None:
    try:
        code = proc.wait(timeout=DBT_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()  # its JVM exits with it (PySpark's gateway stops when its parent's pipe closes)
        proc.wait()
        pytest.fail(f"dbt on {engine} did not finish within {DBT_TIMEOUT} s; its output: {root / f'dbt-{engine}.out'}")
    if code != 0:
        lines = (root / f"dbt-{engine}.out").read_text().splitlines()
        errors = [ln for ln in lines if re.search(r"ERROR|FAIL|Error|error", ln)][-15:]
        pytest.fail(f"dbt on {engine} exited with {code}:\n" + "\n".join(errors or lines[-30:])
                    + f"\nFull output: {root / f'dbt-{engine}.out'}; dbt log: {root / f'logs-{engine}' / 'dbt.log'}")


def _both(args: list[str], env: dict, root: Path) -> None:
    """Spark in the background while DuckDB runs (its build takes seconds)."""
    spark = _dbt("spark", args, env, root)
    try:
        _wait("duckdb", _dbt("duckdb", args, env, root), root)
    finally:
        _wait("spark", spark, root)  # also when DuckDB failed: never leave dbt (and its JVM) behind


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory):
    """The marts built on DuckDB (a warehouse file) and on Spark (a metastore and warehouse
    directory), from the same raw layer."""
    _require_spark()
    root = tmp_path_factory.mktemp("engines")
    landing = root / "landing"
    generate(small_options(start=START, days=DAYS, scale=SCALE, faults=FAULTS), landing)
    settings = settings_for(landing, root / "duckdb")
    spark_dir = root / "spark"
    env = {**os.environ, **settings.export_env(), "REDCAT_SPARK_DIR": str(spark_dir),
           # many small queries: more dbt threads than cores hide Spark's per-query latency
           "REDCAT_SPARK_THREADS": "4", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("REDCAT_DBT_TARGET", None)
    split = START + dt.timedelta(days=FIRST_STEP_DAYS)
    end = START + dt.timedelta(days=DAYS - 1)

    _ingest(settings, START, split - dt.timedelta(days=1))
    _both(["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"], env, root)
    _ingest(settings, split, end)
    rerun = split - dt.timedelta(days=1)
    window = {"start_date": rerun.isoformat(), "end_date": (end + dt.timedelta(days=1)).isoformat()}
    _both(["build", "--vars", json.dumps(window)], env, root)
    return settings, spark_dir / "warehouse"


# fct_attribution is a view (an unpivot) on both engines: what is stored, and compared, is the
# credits of every model at conversion x touch.
STORED = [("marts", t) for t in CONTRACT if t != "fct_attribution"] + [
    ("intermediate", "int_attribution_credits"), ("intermediate", "int_attribution_refund_credits")]


def _grains() -> dict[str, list[str]]:
    """Each compared table's grain: the columns of its unique_combination test in the YAML."""
    grains = {}
    for spec_file in ("marts/_marts.yml", "intermediate/attribution/_attribution.yml"):
        spec = yaml.safe_load((DBT_PROJECT_DIR / "models" / spec_file).read_text())
        for model in spec["models"]:
            for test in model.get("data_tests", []):
                if isinstance(test, dict) and "unique_combination" in test:
                    grains[model["name"]] = test["unique_combination"]["arguments"]["columns"]
    # the credits hold one row per path row (and one per unattributed conversion): the paths' grain,
    # tested there rather than again on the larger table
    grains.setdefault("int_attribution_credits", grains["int_attribution_paths"])
    return grains


def _spark_files(table_dir: Path) -> list[str]:
    """A Spark table's data files (Hadoop's rule: names starting with _ or . are not data)."""
    files = sorted(str(p) for p in table_dir.rglob("*.parquet")
                   if not any(part.startswith(("_", ".")) for part in p.relative_to(table_dir).parts))
    assert files, f"no data files under {table_dir}: did Spark build the table?"
    return files


def _rows(con, relation: str) -> tuple[list[str], set[str], list[tuple]]:
    """Columns, the names of the floating-point ones, and the rows, time stamps as naive UTC."""
    described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    select = ", ".join(f"timezone('UTC', \"{name}\") AS \"{name}\"" if kind == "TIMESTAMP WITH TIME ZONE" else f'"{name}"'
                       for name, kind, *_ in described)
    floats = {name for name, kind, *_ in described if kind in ("DOUBLE", "FLOAT")}
    return [d[0] for d in described], floats, con.execute(f"SELECT {select} FROM {relation}").fetchall()


def _equal(a, b, is_float: bool) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if is_float:
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return a == b


def test_spark_builds_the_same_marts_as_duckdb(both_engines):
    settings, spark_warehouse = both_engines
    grains = _grains()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH '{settings.warehouse}' AS wh (READ_ONLY)")
    report = []
    for schema, table in STORED:
        assert table in grains, f"{schema}.{table} has no unique_combination test in its YAML: its grain is unknown"
        files = _spark_files(spark_warehouse / f"{schema}.db" / table)
        d_cols, d_floats, d_rows = _rows(con, f"wh.{schema}.{table}")
        s_cols, s_floats, s_rows = _rows(con, f"read_parquet({files!r}, hive_partitioning = true)")
        # Spark stores the partition column (the report date) last; names, not positions, count
        assert sorted(d_cols) == sorted(s_cols), f"{table}: columns differ: duckdb only {set(d_cols) - set(s_cols)}, " \
                                                 f"spark only {set(s_cols) - set(d_cols)}"
        assert set(CONTRACT.get(table, [])) <= set(d_cols)
        assert d_rows, f"{schema}.{table} is empty: the comparison would prove nothing"
        floats = d_floats | s_floats
        key_of = {side: [cols.index(c) for c in grains[table]] for side, cols in (("d", d_cols), ("s", s_cols))}
        duck = {tuple(r[i] for i in key_of["d"]): dict(zip(d_cols, r)) for r in d_rows}
        spark = {tuple(r[i] for i in key_of["s"]): dict(zip(s_cols, r)) for r in s_rows}
        assert len(duck) == len(d_rows) and len(spark) == len(s_rows), f"{table}: the grain {grains[table]} is not unique"
        only_duck, only_spark = duck.keys() - spark.keys(), spark.keys() - duck.keys()
        assert not only_duck and not only_spark, (
            f"{table} ({grains[table]}): {len(only_duck)} rows only on DuckDB, e.g. {sorted(only_duck, key=str)[:3]}; "
            f"{len(only_spark)} only on Spark, e.g. {sorted(only_spark, key=str)[:3]}")
        mismatches = [(key, col, row[col], spark[key][col]) for key, row in duck.items() for col in d_cols
                      if not _equal(row[col], spark[key][col], col in floats)]
        assert not mismatches, (f"{table}: {len(mismatches)} values differ (key, column, duckdb, spark), e.g.\n"
                                + "\n".join(map(str, mismatches[:10])))
        worst = max((abs(row[c] - spark[k][c]) / max(abs(row[c]), abs(spark[k][c]))
                     for k, row in duck.items() for c in floats if row[c] and spark[k][c]), default=0.0)
        report.append(f"{table}: {len(d_rows)} rows equal, doubles within {worst:.1e} relative")
    # the comparison covers both sampling ratios, every attribution model (markov and shapley
    # with weights learned from journeys), and report dates of step 1 that step 2 rebuilt
    ratios = con.execute("SELECT DISTINCT sampling_ratio FROM wh.marts.mart_brand_daily WHERE gmv_observed > 0").fetchall()
    assert {r[0] for r in ratios} >= {0.5, 1.0}, ratios
    models = con.execute("SELECT DISTINCT attribution_model FROM wh.marts.fct_attribution").fetchall()
    assert {m[0] for m in models} == set(ATTRIBUTION_MODELS), models
    learned = con.execute("SELECT count(*) FROM wh.intermediate.int_attribution_removal_effects WHERE removal_effect > 0 "
                          "UNION ALL SELECT count(*) FROM wh.intermediate.int_attribution_shapley_values "
                          "WHERE shapley_value > 0").fetchall()
    assert all(n[0] > 0 for n in learned), f"no learned data-driven weights (markov, shapley): {learned}"
    rerun = START + dt.timedelta(days=FIRST_STEP_DAYS - 1)
    first_rebuilt = con.execute("SELECT min(report_date) FROM wh.intermediate.int_reprocessing_dates WHERE reattribute").fetchone()[0]
    assert first_rebuilt < rerun, f"step 2 rebuilt no date before {rerun} (from {first_rebuilt}): no late delivery reached back"
    print("; ".join(report))


def test_dagster_refuses_to_run_dbt_on_another_engine(tmp_path, monkeypatch):
    """The code location's checks read their evidence from the DuckDB warehouse: with dbt pointed
    at Spark they would describe stale data, so the dbt step fails and says what to do."""
    import orchestration.definitions  # noqa: F401  (parsed for DuckDB before the variable is set)
    from orchestration.runner import run

    landing = tmp_path / "landing"
    generate(small_options(start=START, days=1, scale=SCALE), landing)
    monkeypatch.setenv("REDCAT_DBT_TARGET", "spark")
    outcome = run(settings_for(landing, tmp_path / "wh"), START, START)
    assert outcome.exit_code == 1
    assert any("REDCAT_DBT_TARGET=spark" in failure for failure in outcome.step_failures), outcome.step_failures
