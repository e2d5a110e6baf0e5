"""The same pipeline on Spark and on DuckDB, from the same deliveries, through Dagster: the
completeness check must block the same partner-day, and the marts must be equal.

Spark runs through dbt-spark's session method (a local[2] PySpark inside the dbt process, Java
17), with its metastore and tables under the warehouse's `spark/` directory; the Dagster dbt step
then reads the completeness evidence, column types and row counts from Spark's tables through a
PySpark session of its own (redcat/warehouse_reader.py). One world, two runs per engine (a Spark
run costs minutes, so each run proves several things), every Spark test reading what they left:
  1. the first delivery days, built from scratch (Spark: create table as select), through the
     Dagster job in-process;
  2. four more days incrementally through `redcat run --target ENGINE`, as a user runs it,
     starting one day back (a re-run of a built day must replace its rows, not add to them), with
     late and re-delivered (duplicated) events that make it rebuild report dates of run 1
     (DuckDB replaces dates with the replace_dates strategy; Spark drops the dates' partitions
     and appends); on its last day taobao lost half of its users' callbacks: the completeness
     check blocks that day (exit code 1) and dbt skips the business marts and the attribution
     credits they read, while the models upstream of the check (the attribution paths) and the
     completeness marts are rebuilt.
Every stored table in `marts` and the credit tables are then compared: the same columns, the same
rows by the table's grain (its unique_combination test), exact values for counts, keys, strings,
dates and time stamps, and doubles (money, credits, rates, p-values) within 1e-9 relative. The unit
tests, which the scheduled runs leave to CI, run once on Spark after the runs.
"""

from __future__ import annotations

import datetime as dt
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
from conftest import settings_for, small_options
from warehouse import CONTRACT

from redcat.config import DBT_PROJECT_DIR
from redcat.generate import Faults, PartnerDay, generate

pytestmark = pytest.mark.slow

START = dt.date(2024, 6, 27)  # delivery days across Taobao's 50 % -> 100 % switch of 2024-07-01
FIRST_RUN_DAYS = 5
RERUN = START + dt.timedelta(days=FIRST_RUN_DAYS - 1)  # run 2 starts here: a built delivery day again
LOSSY = START + dt.timedelta(
    days=FIRST_RUN_DAYS + 2
)  # run 2's last day: taobao lost half its callbacks (100 % sampling)
DAYS = FIRST_RUN_DAYS + 3
# conftest's small world: enough clicked users for the completeness test to judge a day.
FAULTS = Faults(late_share=0.03, duplicate_share=0.02, lose_callbacks=((PartnerDay("taobao", LOSSY), 0.5),))
ENGINES = ("duckdb", "spark")
REL_TOL = 1e-9
ATTRIBUTION_MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley")
ABS_TOL = 1e-12  # near zero a relative tolerance means nothing (e.g. a Wilson bound of 0)
DBT = str(Path(sys.executable).parent / "dbt")
DBT_TIMEOUT = 20 * 60  # the unit tests take a minute or two on Spark; a hung JVM must not hang CI


def _require_spark() -> None:
    """Fail, not skip: CI must run this test. Say what is missing and how to get it."""
    try:
        import dbt.adapters.spark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as e:
        pytest.fail(
            f"the Spark test needs the spark extra ({e}): pip install -e '.[dev]' (it includes "
            "'.[spark]'); `make test` installs it. Deselect with -k 'not spark' to run without Spark."
        )
    java = shutil.which("java") or (os.environ.get("JAVA_HOME") and str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    if not java or not Path(java).exists():
        pytest.fail(
            "the Spark test needs Java 17 or later (PySpark 4 runs on the JVM): install it (e.g. apt-get install "
            "openjdk-17-jre-headless) or set JAVA_HOME. Deselect with -k 'not spark' to run without Spark."
        )
    version = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    major = re.search(r'version "(\d+)', version)
    if not major or int(major.group(1)) < 17:
        pytest.fail(
            f"PySpark 4 needs Java 17 or later; {java} is: {version.strip().splitlines()[0] if version else '?'}"
        )


def _dbt(engine: str, args: list[str], env: dict, root: Path) -> subprocess.Popen:
    """dbt in dbt_project/ against `engine`, with its target and logs under root (not in the repo)."""
    with open(root / f"dbt-{engine}.out", "a") as out:
        out.write(f"\n$ dbt {' '.join(args)} --target {engine}\n")
        out.flush()
        return subprocess.Popen(
            [
                DBT,
                *args,
                "--target",
                engine,
                "--target-path",
                str(root / f"target-{engine}"),
                "--log-path",
                str(root / f"logs-{engine}"),
            ],
            cwd=DBT_PROJECT_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


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
        pytest.fail(
            f"dbt on {engine} exited with {code}:\n"
            + "\n".join(errors or lines[-30:])
            + f"\nFull output: {root / f'dbt-{engine}.out'}; dbt log: {root / f'logs-{engine}' / 'dbt.log'}"
        )


def _export_spark_tables(settings, out: Path) -> None:
    """The compared tables as Parquet files written by Spark from its metastore (read through the
    metastore, not from its table folders), after the runs released it."""
    from redcat.warehouse_reader import spark_session

    with spark_session({**os.environ, **settings.export_env()}) as spark:
        for schema, table in STORED:
            spark.table(f"{schema}.{table}").write.mode("overwrite").parquet(str(out / table))


def _cli_run(settings, engine: str, start: dt.date, end: dt.date):
    """`redcat run --target ENGINE --from START --to END`, as a user (and `make spark`) runs it."""
    from click.testing import CliRunner

    from orchestration.cli import main

    env = {k: v for k, v in settings.export_env().items() if k not in ("REDCAT_LANDING_DIR", "REDCAT_WAREHOUSE")}
    return CliRunner(env=env).invoke(
        main,
        [
            "run",
            "--target",
            engine,
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
            "--landing",
            str(settings.landing_dir),
            "--warehouse",
            str(settings.warehouse),
        ],
    )


def _first_reattributed(settings) -> dt.date:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(
            "SELECT min(report_date) FROM intermediate.int_reprocessing_dates WHERE reattribute"
        ).fetchone()[0]
    finally:
        con.close()


def _last_evaluation(settings) -> set[tuple]:
    """The completeness evaluations the last run logged (ops.completeness_log, in the DuckDB file on both engines)."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return set(
            con.execute(
                "SELECT report_date, partner, status, blocks_marts FROM ops.completeness_log WHERE evaluated_at = "
                "(SELECT max(evaluated_at) FROM ops.completeness_log)"
            ).fetchall()
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory):
    """The two runs on both engines (one warehouse directory each, the same landing zone)."""
    from orchestration.runner import run

    _require_spark()
    root = tmp_path_factory.mktemp("engines")
    landing = root / "landing"
    generate(small_options(start=START, days=DAYS, faults=FAULTS), landing)
    out = {"root": root}
    for engine in ENGINES:
        settings = settings_for(landing, root / engine)
        first = run(settings, START, RERUN, target=engine)
        # run 1's publication for BI, before run 2 (which blocks and so publishes nothing)
        run1_serving = root / f"serving-{engine}-run1.duckdb"
        if settings.serving.exists():
            shutil.copyfile(settings.serving, run1_serving)
        second = _cli_run(settings, engine, RERUN, LOSSY)
        if engine == "duckdb":  # what run 2 rebuilt (the Spark tables equal these)
            out["rebuilt_from"] = _first_reattributed(settings)
        out[engine] = {
            "settings": settings,
            "run": first,
            "cli": second,
            "evaluation": _last_evaluation(settings),
            "run1_serving": run1_serving,
        }
    # an incremental publication of what run 2 rebuilt, as an operator publishes after accepting
    # the lossy day: only run 2's report dates are exported, the rest linked from run 1's
    from redcat.serving import publish
    from redcat.spark_publication import publish_from_spark

    out["publications"] = {
        "duckdb": publish(out["duckdb"]["settings"], run_id="by-hand"),
        "spark": publish_from_spark(out["spark"]["settings"], run_id="by-hand"),
    }
    spark_settings = out["spark"]["settings"]
    env = {**os.environ, **spark_settings.export_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("REDCAT_DBT_TARGET", None)
    _wait("spark", _dbt("spark", ["test", "--resource-type", "unit_test"], env, root), root)
    _export_spark_tables(spark_settings, root / "spark-tables")
    out["spark_tables"] = root / "spark-tables"
    return out


# fct_attribution is a view (an unpivot) on both engines: what is stored, and compared, is the
# credits of every model at conversion x touch.
STORED = [("marts", t) for t in CONTRACT if t != "fct_attribution"] + [
    ("intermediate", "int_attribution_credits"),
    ("intermediate", "int_attribution_refund_credits"),
]


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
    """The data files Spark wrote (Hadoop's rule: names starting with _ or . are not data)."""
    files = sorted(
        str(p)
        for p in table_dir.rglob("*.parquet")
        if not any(part.startswith(("_", ".")) for part in p.relative_to(table_dir).parts)
    )
    assert files, f"no data files under {table_dir}: did Spark build the table?"
    return files


def _rows(con, relation: str) -> tuple[list[str], set[str], list[tuple]]:
    """Columns, the names of the floating-point ones, and the rows, time stamps as naive UTC."""
    described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    select = ", ".join(
        f'timezone(\'UTC\', "{name}") AS "{name}"' if kind == "TIMESTAMP WITH TIME ZONE" else f'"{name}"'
        for name, kind, *_ in described
    )
    floats = {name for name, kind, *_ in described if kind in ("DOUBLE", "FLOAT")}
    return [d[0] for d in described], floats, con.execute(f"SELECT {select} FROM {relation}").fetchall()


def _equal(a, b, is_float: bool) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if is_float:
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return a == b


def test_both_engines_ran_through_dagster_with_the_same_outcomes(pipelines):
    for engine in ENGINES:
        outcome = pipelines[engine]["run"]
        assert outcome.exit_code == 0, (engine, [c.description for c in outcome.failed_checks], outcome.step_failures)
        assert "redcat_dbt" in outcome.step_seconds, (engine, outcome.step_seconds)
        # the check's evidence, row counts and column types were read from the engine dbt built on
        (check,) = [c for c in outcome.checks if c.name == "callback_completeness"]
        assert check.metadata.get("partner_days"), (engine, check.metadata)
        assert outcome.row_counts["marts/mart_brand_daily"] > 0
        assert "gmv_estimated" in outcome.column_schemas["marts/mart_brand_daily"]
    d, s = (pipelines[e]["run"] for e in ENGINES)

    def checks(outcome):
        return {(c.asset, c.name): c.passed for c in outcome.checks}

    assert checks(d) == checks(s)
    assert len(checks(s)) > 50
    # both published for BI, and the serving file held the engine's rows
    for outcome in (d, s):
        assert checks(outcome)[("serving/publication", "serving_matches_marts")] is True, outcome.checks
    assert {(c.partition, c.passed) for c in d.partition_checks} == {
        (c.partition, c.passed) for c in s.partition_checks
    }
    tables = {k for k in d.row_counts if k.startswith(("marts/", "intermediate/"))}
    assert {k: d.row_counts[k] for k in tables} == {k: s.row_counts.get(k) for k in tables}
    # both published; Spark has no DuckDB warehouse of models to compact
    assert all(any("publication" in k for k in o.step_seconds) for o in (d, s)), (d.step_seconds, s.step_seconds)
    assert not any("compaction" in k for k in s.step_seconds), s.step_seconds
    assert any("compaction" in k for k in d.step_seconds), d.step_seconds


def test_the_completeness_check_blocks_the_lossy_day_on_spark_as_on_duckdb(pipelines):
    for engine in ENGINES:
        cli = pipelines[engine]["cli"]
        assert cli.exit_code == 1, (engine, cli.output[-3000:])
        assert "FAILED" in cli.output and "Checks that did not pass" in cli.output, (engine, cli.output[-3000:])
        blocking = {(d, p, s) for d, p, s, blocks in pipelines[engine]["evaluation"] if blocks}
        assert blocking == {(LOSSY, "taobao", "fail")}, (engine, pipelines[engine]["evaluation"])
    assert pipelines["duckdb"]["evaluation"] == pipelines["spark"]["evaluation"]
    assert "On Spark the business marts" in pipelines["spark"]["cli"].output


def test_spark_builds_the_same_marts_as_duckdb(pipelines):
    settings = pipelines["duckdb"]["settings"]
    grains = _grains()
    con = duckdb.connect(str(settings.warehouse), read_only=True)  # the main database: its views resolve
    con.execute("SET TimeZone = 'UTC'")
    report = []
    for schema, table in STORED:
        assert table in grains, f"{schema}.{table} has no unique_combination test in its YAML: its grain is unknown"
        files = _spark_files(pipelines["spark_tables"] / table)
        d_cols, d_floats, d_rows = _rows(con, f"{schema}.{table}")
        s_cols, s_floats, s_rows = _rows(con, f"read_parquet({files!r}, hive_partitioning = true)")
        # Spark stores the partition column (the report date) last; names, not positions, count
        assert sorted(d_cols) == sorted(s_cols), (
            f"{table}: columns differ: duckdb only {set(d_cols) - set(s_cols)}, spark only {set(s_cols) - set(d_cols)}"
        )
        assert set(CONTRACT.get(table, [])) <= set(d_cols)
        assert d_rows, f"{schema}.{table} is empty: the comparison would prove nothing"
        floats = d_floats | s_floats
        key_of = {side: [cols.index(c) for c in grains[table]] for side, cols in (("d", d_cols), ("s", s_cols))}
        duck = {tuple(r[i] for i in key_of["d"]): dict(zip(d_cols, r)) for r in d_rows}
        spark = {tuple(r[i] for i in key_of["s"]): dict(zip(s_cols, r)) for r in s_rows}
        assert len(duck) == len(d_rows) and len(spark) == len(s_rows), (
            f"{table}: the grain {grains[table]} is not unique"
        )
        only_duck, only_spark = duck.keys() - spark.keys(), spark.keys() - duck.keys()
        assert not only_duck and not only_spark, (
            f"{table} ({grains[table]}): {len(only_duck)} rows only on DuckDB, e.g. {sorted(only_duck, key=str)[:3]}; "
            f"{len(only_spark)} only on Spark, e.g. {sorted(only_spark, key=str)[:3]}"
        )
        mismatches = [
            (key, col, row[col], spark[key][col])
            for key, row in duck.items()
            for col in d_cols
            if not _equal(row[col], spark[key][col], col in floats)
        ]
        assert not mismatches, (
            f"{table}: {len(mismatches)} values differ (key, column, duckdb, spark), e.g.\n"
            + "\n".join(map(str, mismatches[:10]))
        )
        worst = max(
            (
                abs(row[c] - spark[k][c]) / max(abs(row[c]), abs(spark[k][c]))
                for k, row in duck.items()
                for c in floats
                if row[c] and spark[k][c]
            ),
            default=0.0,
        )
        report.append(f"{table}: {len(d_rows)} rows equal, doubles within {worst:.1e} relative")
    # the comparison covers both sampling ratios, every attribution model (markov and shapley
    # with weights learned from journeys), and report dates of step 1 that step 2 rebuilt
    ratios = con.execute("SELECT DISTINCT sampling_ratio FROM marts.mart_brand_daily WHERE gmv_observed > 0").fetchall()
    assert {r[0] for r in ratios} >= {0.5, 1.0}, ratios
    models = con.execute("SELECT DISTINCT attribution_model FROM marts.fct_attribution").fetchall()
    assert {m[0] for m in models} == set(ATTRIBUTION_MODELS), models
    learned = con.execute(
        "SELECT count(*) FROM intermediate.int_attribution_removal_effects WHERE removal_effect > 0 "
        "UNION ALL SELECT count(*) FROM intermediate.int_attribution_shapley_values "
        "WHERE shapley_value > 0"
    ).fetchall()
    assert all(n[0] > 0 for n in learned), f"no learned data-driven weights (markov, shapley): {learned}"

    # the business marts and the credits they (and fct_attribution) read stop at run 1: run 2's
    # lossy day blocked them on both engines; the completeness marts (compared above) and the
    # attribution paths upstream of the check hold run 2's days
    def last(relation: str, column: str = "report_date") -> dt.date:
        return con.execute(f"SELECT max({column}) FROM {relation}").fetchone()[0]

    assert last("marts.mart_brand_daily") == RERUN
    assert last("intermediate.int_attribution_credits", "conversion_date") == RERUN
    assert last("marts.mart_callback_completeness") == LOSSY
    assert last("marts.mart_callback_completeness_stages") == LOSSY
    assert last("intermediate.int_attribution_paths", "conversion_date") == LOSSY
    print("; ".join(report))


def test_run_2_rebuilt_report_dates_of_run_1_that_late_events_reached(pipelines):
    assert pipelines["rebuilt_from"] < RERUN, (
        f"run 2 rebuilt no date before {RERUN} (from {pipelines['rebuilt_from']}): no late delivery reached back"
    )
    con = duckdb.connect(str(pipelines["duckdb"]["settings"].warehouse), read_only=True)
    try:
        duplicates = con.execute(
            "SELECT sum(rows_duplicate) FROM ops.load_ledger_current WHERE delivery_date BETWEEN ? AND ?",
            [RERUN, LOSSY],
        ).fetchone()[0]
    finally:
        con.close()
    assert duplicates, "run 2 saw no re-delivered (duplicate) events"


def test_an_unknown_dbt_target_is_refused_with_what_to_do(monkeypatch):
    from redcat.warehouse_reader import dbt_target

    monkeypatch.setenv("REDCAT_DBT_TARGET", "snowflake")
    with pytest.raises(ValueError, match="REDCAT_DBT_TARGET='snowflake'.*duckdb, spark"):
        dbt_target()


def test_the_readers_session_uses_the_metastore_and_tables_of_dbts_profile(tmp_path):
    """The Dagster step reads what dbt wrote only if its Spark session has the profile's settings."""
    from redcat.warehouse_reader import spark_session_config

    config = spark_session_config({"REDCAT_SPARK_DIR": str(tmp_path), "REDCAT_SPARK_MASTER": "local[1]"})
    assert config["spark.sql.warehouse.dir"] == f"{tmp_path}/warehouse"
    assert f"-Dderby.system.home={tmp_path}" in config["spark.driver.extraJavaOptions"]
    assert config["spark.master"] == "local[1]" and config["spark.sql.session.timeZone"] == "UTC"
    default = spark_session_config({})["spark.sql.warehouse.dir"]  # dbt's default, relative to dbt_project/
    assert default == str(DBT_PROJECT_DIR.parent / "data" / "spark" / "warehouse")


# columns that say which publication or run wrote a row, not what the engine computed
PER_RUN_COLUMNS = {"bi.completeness_history": {"run_id", "evaluated_at"}}


def _serving_tables(con) -> dict[str, list[tuple[str, str]]]:
    """Every published table of a serving file with its columns and types, in order."""
    rows = con.execute(
        "SELECT table_schema || '.' || table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema IN ('marts', 'bi') ORDER BY 1, ordinal_position"
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        tables.setdefault(table, []).append((column, kind))
    return tables


def _assert_same_serving_files(duck_file: Path, spark_file: Path) -> None:
    """The same tables, columns in the same order with the same types, and the same rows (doubles
    within REL_TOL) in the serving files the two engines published."""
    d, s = (duckdb.connect(str(f), read_only=True) for f in (duck_file, spark_file))
    try:
        d_tables, s_tables = _serving_tables(d), _serving_tables(s)
        assert d_tables == s_tables, {
            t: (d_tables.get(t), s_tables.get(t))
            for t in d_tables.keys() | s_tables.keys()
            if d_tables.get(t) != s_tables.get(t)
        }
        for table, columns in d_tables.items():
            names = [c for c, _ in columns if c not in PER_RUN_COLUMNS.get(table, set())]
            floats = {c for c, kind in columns if kind in ("DOUBLE", "FLOAT")}
            select = f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in names)} FROM {table} ORDER BY ALL"
            d_rows, s_rows = d.execute(select).fetchall(), s.execute(select).fetchall()
            assert len(d_rows) == len(s_rows), f"{table}: DuckDB published {len(d_rows)} rows, Spark {len(s_rows)}"
            # bi withholds small cells: on the small world some bi relations are empty on both
            assert d_rows or table.startswith("bi."), f"{table} is empty: the comparison proves nothing"
            differ = [
                (i, c, a, b)
                for i, (dr, sr) in enumerate(zip(d_rows, s_rows))
                for c, a, b in zip(names, dr, sr)
                if not _equal(a, b, c in floats)
            ]
            assert not differ, f"{table}: {len(differ)} values differ (row, column, duckdb, spark): {differ[:5]}"
    finally:
        d.close()
        s.close()


def _numbers_and_text(page: str, con) -> tuple[list[str], list[float]]:
    """A report page without its publication's id and time, split into text and numbers."""
    pub_id, published_at = con.execute("SELECT id, published_at FROM _redcat.publication").fetchone()
    page = page.replace(pub_id, "<publication>").replace(published_at, "<published_at>")
    parts = re.split(r"(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)", page)
    return parts[0::2], [float(x) for x in parts[1::2]]


def test_spark_publishes_for_bi_what_duckdb_publishes(pipelines):
    """On Spark the publication step exports Spark's tables: BI and the report read the same serving
    file, Parquet folders and numbers whichever engine built the marts, after run 1 (every date)
    and after the incremental publication of run 2's rebuilt dates."""
    from redcat.report import brands_with_data, write_report
    from redcat.serving import TABLES

    d_settings, s_settings = (pipelines[e]["settings"] for e in ENGINES)
    for serving in (pipelines["duckdb"]["run1_serving"], d_settings.serving):
        con = duckdb.connect(str(serving), read_only=True)
        try:  # what BI reads most is not empty, so the comparisons below prove something
            assert con.execute("SELECT count(*) FROM bi.mart_brand_daily").fetchone()[0] > 0
        finally:
            con.close()
    _assert_same_serving_files(pipelines["duckdb"]["run1_serving"], pipelines["spark"]["run1_serving"])
    _assert_same_serving_files(d_settings.serving, s_settings.serving)
    d_pub, s_spark = pipelines["publications"]["duckdb"], pipelines["publications"]["spark"]
    s_pub = s_spark.publication
    assert d_pub.dates_exported == s_pub.dates_exported and len(d_pub.dates_exported) >= 2, (
        d_pub.dates_exported,
        s_pub.dates_exported,
    )
    assert d_pub.rows == s_pub.rows
    # Spark's own counts of the exported dates are what the serving file holds for those dates
    con = duckdb.connect(str(s_settings.serving), read_only=True)
    try:
        for key, count in s_spark.spark_rows.items():
            date_col = TABLES[tuple(key.split("."))]
            held = con.execute(
                f"SELECT count(*) FROM {key} WHERE {date_col} IN (SELECT unnest(?::DATE[]))", [s_pub.dates_exported]
            ).fetchone()[0]
            assert held == count, (key, held, count)
    finally:
        con.close()
    # the Parquet exports: the same files per table, each with the same rows
    for key in d_pub.files:
        assert sorted(d_pub.files[key]) == sorted(s_pub.files.get(key, {})), key
        if key in PER_RUN_COLUMNS:
            continue
        rel = {e: pipelines[e]["settings"].export_dir / "current" / key.replace(".", "/") for e in ENGINES}
        d_n, s_n = (
            duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{rel[e]}/*.parquet')").fetchone()[0]
            for e in ENGINES
        )
        assert d_n == s_n, (key, d_n, s_n)
    # the brand report reads the serving file: the same page from both engines
    brands = brands_with_data(d_settings.serving)
    assert brands == brands_with_data(s_settings.serving) and brands
    root = pipelines["root"]
    pages = {}
    for engine, settings in zip(ENGINES, (d_settings, s_settings)):
        page = write_report(settings.serving, root / f"report-{engine}.html", brands[0], lang="zh").read_text()
        con = duckdb.connect(str(settings.serving), read_only=True)
        try:
            pages[engine] = _numbers_and_text(page, con)
        finally:
            con.close()
    (d_text, d_numbers), (s_text, s_numbers) = pages["duckdb"], pages["spark"]
    assert d_text == s_text, "the report's text differs between the engines"
    assert len(d_numbers) == len(s_numbers) and d_numbers
    far = [(a, b) for a, b in zip(d_numbers, s_numbers) if not math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)]
    assert not far, f"{len(far)} of the report's {len(d_numbers)} numbers differ, e.g. {far[:5]}"
