"""Reading the models dbt built, through the engine that holds them.

On DuckDB the models are in the warehouse file; on Spark (REDCAT_DBT_TARGET=spark) they are
tables in a Spark metastore, which only Spark reads correctly (partitions, the table's current
files). The orchestration reads completeness evidence, column types and row counts after dbt
exited through a `WarehouseReader`:

    with open_reader(settings, target) as reader:
        reader.rows("SELECT ... FROM marts.mart_callback_completeness")

The Spark reader starts a PySpark session with the settings of the `spark` output of
dbt_project/profiles.yml (same metastore, same warehouse directory), and stops its JVM on exit:
the embedded Derby metastore admits one process at a time, and the next dbt run needs it.
The operational tables (the load ledger, `ops.completeness_log`) stay in the DuckDB file on
both engines.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import duckdb
import jinja2
import yaml

from redcat.config import DBT_PROJECT_DIR, Settings

TARGETS = ("duckdb", "spark")


class MissingRelation(Exception):
    """A table or view the query reads does not exist (yet): dbt has not built it."""


class WarehouseReader(Protocol):
    engine: str

    def rows(self, sql: str) -> list[tuple]:
        """The result of a query in the engine's SQL (the models' portable subset)."""

    def columns(self, relations: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list[tuple[str, str]]]:
        """(column, type) of each existing relation among `relations` (schema, name)."""

    def base_tables(self, relations: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """The relations among `relations` that are tables (not views)."""

    def counts(self, relations: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Row counts of the given tables."""


def dbt_target(target: str | None = None) -> str:
    """The dbt target the pipeline builds: `target`, else REDCAT_DBT_TARGET, else duckdb."""
    value = (target or os.environ.get("REDCAT_DBT_TARGET") or "duckdb").strip().lower()
    if value not in TARGETS:
        raise ValueError(
            f"REDCAT_DBT_TARGET={value!r} is not a target redcat orchestrates: use one of "
            f"{', '.join(TARGETS)} (dbt_project/profiles.yml), or unset it for duckdb"
        )
    return value


class DuckDBReader:
    engine = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def rows(self, sql: str) -> list[tuple]:
        try:
            return self.con.execute(sql).fetchall()
        except duckdb.CatalogException as e:
            raise MissingRelation(str(e)) from None

    def columns(self, relations):
        wanted = set(relations)
        out: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for schema, table, column, dtype in self.con.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
            "ORDER BY table_schema, table_name, ordinal_position"
        ).fetchall():
            if (schema, table) in wanted:
                out.setdefault((schema, table), []).append((column, dtype))
        return out

    def base_tables(self, relations):
        tables = set(
            self.con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
            ).fetchall()
        )
        return tables & set(relations)

    def counts(self, relations):
        return {(s, t): self.con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0] for s, t in relations}


class SparkReader:
    engine = "spark"

    def __init__(self, session):
        self.spark = session

    def rows(self, sql: str) -> list[tuple]:
        from pyspark.errors import AnalysisException

        try:
            return [tuple(r) for r in self.spark.sql(sql).collect()]
        except AnalysisException as e:
            if "TABLE_OR_VIEW_NOT_FOUND" in str(e) or "SCHEMA_NOT_FOUND" in str(e):
                raise MissingRelation(str(e)) from None
            raise

    def _listing(self, schemas) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
        """(tables and views, views) of the given schemas. SHOW is a metastore listing; the
        catalog API (listTables) fetches every table's metadata and is ten times slower."""
        existing = {r[0] for r in self.spark.sql("SHOW DATABASES").collect()}
        relations, views = set(), set()
        for schema in sorted(set(schemas) & existing):
            relations |= {
                (schema, r.tableName)
                for r in self.spark.sql(f"SHOW TABLES IN `{schema}`").collect()
                if not r.isTemporary
            }
            views |= {
                (schema, r.viewName) for r in self.spark.sql(f"SHOW VIEWS IN `{schema}`").collect() if not r.isTemporary
            }
        return relations, views

    def columns(self, relations):
        existing, _ = self._listing(s for s, _ in relations)
        return {
            (schema, name): [
                (f.name, f.dataType.simpleString()) for f in self.spark.table(f"`{schema}`.`{name}`").schema.fields
            ]
            for schema, name in relations
            if (schema, name) in existing
        }

    def base_tables(self, relations):
        existing, views = self._listing(s for s, _ in relations)
        return {r for r in relations if r in existing and r not in views}

    def counts(self, relations):
        relations = list(relations)
        if not relations:
            return {}
        # one Spark job for all of them: each query costs Spark a fixed planning and scheduling time
        union = " UNION ALL ".join(
            f"SELECT {i} AS i, count(*) AS n FROM `{s}`.`{t}`" for i, (s, t) in enumerate(relations)
        )
        return {relations[i]: n for i, n in self.rows(union)}


def spark_session_config(env: dict[str, str] | None = None) -> dict[str, str]:
    """The Spark settings of the profile's `spark` output (server_side_parameters), rendered with
    the environment as dbt renders them: the reader's session sees dbt's metastore and tables."""
    env = dict(os.environ if env is None else env)

    def env_var(name, default=None):
        if name in env:
            return env[name]
        if default is None:
            raise KeyError(f"profiles.yml needs the environment variable {name}")
        return default

    jinja = jinja2.Environment()
    jinja.filters["as_number"] = lambda v: v
    text = jinja.from_string((DBT_PROJECT_DIR / "profiles.yml").read_text()).render(env_var=env_var)
    params = yaml.safe_load(text)["redcat"]["outputs"]["spark"]["server_side_parameters"]
    # relative paths in the profile are relative to dbt_project/, where dbt runs
    for key, value in list(params.items()):
        value = str(value)
        if key == "spark.sql.warehouse.dir" and not value.startswith("/") and "://" not in value:
            value = str((DBT_PROJECT_DIR / value).resolve())
        if key == "spark.driver.extraJavaOptions" and "-Dderby.system.home=.." in value:
            value = value.replace("-Dderby.system.home=..", f"-Dderby.system.home={DBT_PROJECT_DIR.parent}")
        params[key] = value
    return params


@contextmanager
def spark_session(env: dict[str, str] | None = None) -> Iterator:
    """A local PySpark session on dbt's metastore; its JVM is stopped on exit (Derby's lock)."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    env = dict(os.environ if env is None else env)
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_session_config(env).items():
        builder = builder.config(key, value)
    # The JVM inherits this process's stdout and stderr: its start-up warnings go to a log file
    # beside the metastore instead of the terminal of `redcat run`.
    log = Path(env.get("REDCAT_SPARK_DIR") or DBT_PROJECT_DIR.parent / "data" / "spark") / "spark-reader.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    target = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for fd in (1, 2):
            os.dup2(target, fd)
        session = builder.getOrCreate()
    finally:
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(target)
    try:
        yield session
    finally:
        session.stop()
        gateway = SparkContext._gateway
        if gateway is not None:
            proc = getattr(gateway, "proc", None)
            gateway.shutdown()
            if proc is not None:  # the JVM exits when its stdin closes (PySpark's launcher contract)
                proc.stdin.close()
                try:
                    proc.wait(timeout=60)
                except Exception:  # noqa: BLE001 - a JVM that does not exit is killed
                    proc.kill()
                    proc.wait()
            SparkContext._gateway = None
            SparkContext._jvm = None


@contextmanager
def open_reader(settings: Settings, target: str | None = None) -> Iterator[WarehouseReader]:
    """A reader of the models on `target` (default REDCAT_DBT_TARGET), for reading after dbt exited."""
    if dbt_target(target) == "spark":
        with spark_session({**os.environ, **settings.export_env()}) as session:
            yield SparkReader(session)
        return
    from redcat.duck import connect

    con = connect(settings.warehouse, read_only=True)
    try:
        yield DuckDBReader(con)
    finally:
        con.close()
