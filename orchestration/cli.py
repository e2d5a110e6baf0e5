"""The installed `redcat` command: redcat/cli.py's commands plus those that execute the Dagster
job in-process (`run`, `demo`), which need the code location and so live on this side."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from redcat.cli import InputProblem, UsageProblem, _date, _environment_problems, console, main, out_console


@main.command("run")
@click.option("--from", "start", callback=_date, required=True, help="First delivery date, YYYY-MM-DD (Asia/Shanghai).")
@click.option("--to", "end", callback=_date, required=True, help="Last delivery date, inclusive.")
@click.option(
    "--landing", type=click.Path(path_type=Path), help="Landing directory [REDCAT_LANDING_DIR, data/landing]."
)
@click.option(
    "--warehouse",
    type=click.Path(path_type=Path),
    help="Warehouse DuckDB file [REDCAT_WAREHOUSE, data/warehouse.duckdb].",
)
@click.option(
    "--target",
    type=click.Choice(["duckdb", "spark"]),
    envvar="REDCAT_DBT_TARGET",
    default="duckdb",
    show_default=True,
    help="dbt target the models build on [REDCAT_DBT_TARGET]; spark: a local PySpark "
    "(profiles.yml), tables and metastore in REDCAT_SPARK_DIR (default <warehouse dir>/spark).",
)
@click.option("--verbose", "-v", is_flag=True, help="Show Dagster's log (INFO) on the terminal.")
def run_command(start, end, landing, warehouse, target, verbose):
    """Materialise ingestion, dbt models and checks for delivery dates FROM..TO (in-process Dagster).

    The run is recorded in the Dagster instance REDCAT_DAGSTER_HOME (default <warehouse
    dir>/dagster), the one `make ui` shows; its log is <warehouse dir>/logs/<run id>.log.
    Exit 0 when every blocking check passed, 1 when one failed (each is named with its
    partition), 2 on bad usage or unreadable input. With --target spark the same job builds the
    models on Spark (docs/spark.md) and reads its checks' evidence there; the load ledger stays in
    the warehouse file, and there is no DuckDB publication (BI reads Spark's marts and bi tables)."""
    from orchestration.runner import run
    from redcat.config import Settings
    from redcat.summary import print_run_summary

    if end < start:
        raise UsageProblem(f"--to {end} is before --from {start}")
    settings = Settings.from_env(landing_dir=landing, warehouse=warehouse)
    if not settings.landing_dir.is_dir():
        raise UsageProblem(
            f"landing directory {settings.landing_dir} does not exist; pass --landing DIR, set "
            "REDCAT_LANDING_DIR, or create one with `redcat generate`"
        )
    try:
        outcome = run(settings, start, end, console=console, log_level="INFO" if verbose else "CRITICAL", target=target)
    except _environment_problems() as e:
        raise InputProblem(str(e)) from None
    print_run_summary(settings, outcome, out_console, target=target)
    sys.exit(outcome.exit_code)


@main.command()
def demo():
    """Generate a synthetic month with one incident and show what redcat makes of it."""
    from orchestration.runner import run
    from redcat.demo import run_demo

    sys.exit(run_demo(run))


if __name__ == "__main__":
    sys.exit(main())
