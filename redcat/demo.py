"""`make demo`: a synthetic month across the 50 % -> 100 % switch, with one incident."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.console import Console

from redcat.config import Settings
from redcat.generate import Faults, GeneratorOptions, PartnerDay, Scale, generate
from redcat.runner import run
from redcat.summary import print_run_summary

START = dt.date(2024, 6, 16)
DAYS = 30
END = START + dt.timedelta(days=DAYS - 1)
INCIDENT = PartnerDay("taobao", dt.date(2024, 7, 10))  # half of the users' callbacks go missing
DEMO_SCALE = 0.02

console = Console()


def demo_options() -> GeneratorOptions:
    return GeneratorOptions(
        start=START,
        days=DAYS,
        seed=2024,
        scale=Scale.factor(DEMO_SCALE),
        faults=Faults(lose_callbacks=((INCIDENT, 0.5),), duplicate_share=0.01, late_share=0.02, malformed_per_kind=2),
    )


def run_demo(settings: Settings | None = None) -> int:
    settings = settings or Settings.from_env()
    landing: Path = settings.landing_dir
    console.rule("[bold]redcat demo[/bold]")
    console.print(
        f"1. Generating {DAYS} delivery days from {START} into {landing}\n"
        f"   (Taobao v2 samples 50 % of users until 2024-06-30, v3 calls back 100 % from 2024-07-01;\n"
        f"    injected incident: {INCIDENT.partner} loses half of its users' callbacks on {INCIDENT.day})"
    )
    from redcat.cli import _print_generation

    started = dt.datetime.now()
    summary = generate(demo_options(), landing)
    _print_generation(summary, landing, (dt.datetime.now() - started).total_seconds())

    console.print(f"\n2. Materialising {START}..{END} into {settings.warehouse} (Dagster, in-process)")
    outcome = run(settings, START, END, console=console)
    print_run_summary(settings, outcome, console)
    return 0
