"""`make demo`: a synthetic month across the 50 % -> 100 % switch, with one incident caught and cleared.

1. generate 2024-06-16..07-15; Taobao silently loses half of its users' callbacks on 07-10;
2. materialise 06-16..07-09: every check passes, the marts are published;
3. materialise 07-10..07-15: the completeness check fails on taobao 07-10 and the marts keep
   their last good state (through 07-09);
4. the partner re-delivers 07-10; re-running clears the check and publishes through 07-15.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.panel import Panel

from redcat.config import Settings
from redcat.duck import connect
from redcat.generate import Faults, GeneratorOptions, PartnerDay, Scale, generate
from redcat.generate.truth import TRUTH_DIR
from redcat.outcome import RunOutcome
from redcat.report import write_report
from redcat.summary import print_generation, print_results, print_run_summary

START = dt.date(2024, 6, 16)
DAYS = 30
END = START + dt.timedelta(days=DAYS - 1)
INCIDENT = PartnerDay("taobao", dt.date(2024, 7, 10))  # half of the users' callbacks go missing
DEMO_SCALE = 0.02

console = Console() if Console().is_terminal else Console(width=130)


def demo_options() -> GeneratorOptions:
    return GeneratorOptions(
        start=START,
        days=DAYS,
        seed=2024,
        scale=Scale.factor(DEMO_SCALE),
        faults=Faults(lose_callbacks=((INCIDENT, 0.5),), duplicate_share=0.01, late_share=0.02, malformed_per_kind=2),
    )


def _marts_last_date(settings: Settings) -> dt.date | None:
    con = connect(settings.warehouse, read_only=True)
    try:
        return con.execute("SELECT max(report_date) FROM marts.mart_brand_daily").fetchone()[0]
    finally:
        con.close()


def run_demo(run: Callable[..., RunOutcome], settings: Settings | None = None) -> int:
    """`run` materialises delivery dates (the code location's runner, which `redcat demo` passes)."""
    settings = settings or Settings.from_env()
    landing = settings.landing_dir
    before = INCIDENT.day - dt.timedelta(days=1)
    console.rule("[bold]redcat demo[/bold]")

    console.print(
        f"\n[bold]1. A synthetic month[/bold]: {DAYS} delivery days from {START} into {landing}.\n"
        "   Taobao's programme v2 calls back 50 % of users until 2024-06-30, v3 100 % from 2024-07-01.\n"
        f"   Hidden incident: on {INCIDENT.day} Taobao silently loses half of its users' callbacks "
        "(its manifest looks fine)."
    )
    started = dt.datetime.now()
    summary = generate(demo_options(), landing)
    print_generation(summary, landing, (dt.datetime.now() - started).total_seconds(), console)
    for stale in (settings.warehouse, settings.raw_dir):
        if not isinstance(stale, Path):  # a raw layer on object storage is left alone
            continue
        if stale.is_file():
            stale.unlink()
        elif stale.is_dir():
            shutil.rmtree(stale)

    console.print(f"\n[bold]2. Materialise {START}..{before}[/bold] (ingestion, dbt, checks; Dagster in-process)")
    first = run(settings, START, before, console=console)
    print_run_summary(settings, first, console)
    if first.exit_code != 0:
        console.print("[red]The clean part of the month should pass; see the checks above.[/red]")
        return 1
    print_results(settings, console, dt.date(2024, 6, 24), dt.date(2024, 7, 7))

    console.print(f"\n[bold]3. Materialise {INCIDENT.day}..{END}[/bold]: the day with the incident arrives")
    second = run(settings, INCIDENT.day, END, console=console)
    print_run_summary(settings, second, console)
    caught = [c for c in second.failed_checks if c.name == "callback_completeness"]
    last = _marts_last_date(settings)
    if not caught:
        console.print("[red]The incident was not caught: the demo expected the completeness check to fail.[/red]")
        return 1
    console.print(
        Panel(
            f"Caught: the completeness check failed (exit code {second.exit_code}). dbt did not rebuild the business marts, "
            f"so BI keeps the last good state: marts.mart_brand_daily ends on {last}.\n"
            f"Two ways to clear it:\n"
            f"  - the partner re-delivers: copy the complete dump into the landing zone and re-run\n"
            f"      redcat run --from {INCIDENT.day} --to {END}\n"
            f"  - or accept the day as known-incomplete (published, flagged completeness_accepted):\n"
            f"      redcat accept --partner {INCIDENT.partner} --date {INCIDENT.day} --by you --reason '...'",
            title="incident",
            border_style="yellow",
        )
    )

    console.print(f"\n[bold]4. Taobao re-delivers dt={INCIDENT.day}[/bold]; re-run {INCIDENT.day}..{END}")
    redelivered = landing / TRUTH_DIR / "redelivery" / f"dt={INCIDENT.day}" / f"partner={INCIDENT.partner}"
    target = landing / f"dt={INCIDENT.day}" / f"partner={INCIDENT.partner}"
    shutil.rmtree(target)
    shutil.copytree(redelivered, target)
    third = run(settings, INCIDENT.day, END, console=console)
    print_run_summary(settings, third, console)
    if third.exit_code != 0:
        console.print("[red]The re-delivery should clear the incident; see the checks above.[/red]")
        return 1
    console.print(f"Cleared: the marts now run to {_marts_last_date(settings)}.")
    print_results(settings, console, dt.date(2024, 7, 2), END)

    console.print(
        f"Warehouse: {settings.warehouse}; BI serving file: {settings.serving}; Parquet: {settings.export_dir}"
    )
    console.print("Next: `make ui` for the Dagster UI, or `cd dbt_project && ../.venv/bin/dbt build` as an analyst.")
    brand = demo_brand(settings)
    report = write_report(settings.serving, settings.warehouse.parent / f"report-{brand}-zh.html", brand, "zh")
    console.print(
        f"\n[bold]5. Report[/bold] for brand {brand} (offline HTML, Chinese, from the serving file BI reads; "
        f"`redcat report --brand B --lang en` or `--all-brands` for others):"
    )
    console.print(str(report), soft_wrap=True)
    return 0


def demo_brand(settings: Settings) -> str:
    """The brand with the most buyers through its notes' links in the published data (its funnel
    shows every stage)."""
    con = connect(settings.serving, read_only=True)
    try:
        return con.execute(
            "SELECT brand_id FROM bi.mart_funnel_nested_daily GROUP BY 1 "
            "ORDER BY sum(purchasers_estimated) DESC, 1 LIMIT 1"
        ).fetchone()[0]
    finally:
        con.close()
