"""The `redcat` command line. Exit codes: 0 ok, 1 a blocking check failed, 2 bad usage or input.

The commands that need no Dagster live here; `run` and `demo` execute the Dagster
job and are added by the Dagster code location's cli module, the installed `redcat` entry point (imports go one
way: the code location uses redcat, never the reverse)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from rich.console import Console

from redcat.timeutil import parse_date

console = Console(stderr=True)
# Logs and CI have no terminal width; keep tables readable there.
out_console = Console() if Console().is_terminal else Console(width=140)
EXIT_OK, EXIT_CHECKS_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class UsageProblem(click.UsageError):
    """Bad usage or unreadable input: exit 2 with a message that says what to do."""


class InputProblem(click.ClickException):
    """Unusable input or a busy warehouse (not a usage mistake): exit 2 with what, where and what to do."""

    exit_code = EXIT_BAD_INPUT

    def show(self, file=None) -> None:
        console.print(f"[red]Error[/red]: {self.format_message()}", markup=True, highlight=False, soft_wrap=True)


def _environment_problems():
    """The exceptions that mean the warehouse or a setting cannot be used as configured."""
    from redcat.config import SettingProblem
    from redcat.duck import WarehouseBusy
    from redcat.ingest.rawfs import RawStoreProblem

    return (WarehouseBusy, SettingProblem, RawStoreProblem)


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return parse_date(value, f"--{param.name.replace('_', '-')}")
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="redcat")
def main() -> None:
    """redcat: seeding-to-sale attribution warehouse (Dagster + dbt + DuckDB)."""


def _partner_day_text(text: str):
    """PARTNER:DATE:VALUE with a text value (a stage, a brand id, an hour)."""
    from redcat.generate.options import parse_partner_day

    head, sep, value = text.rpartition(":")
    if not sep or not value:
        raise ValueError(f"{text!r} is not of the form PARTNER:DATE:VALUE, e.g. taobao:2024-07-10:purchase")
    return parse_partner_day(head)[0], value


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Landing directory to write (replaced whole).",
)
@click.option("--start", callback=_date, required=True, help="First delivery date, YYYY-MM-DD (Asia/Shanghai).")
@click.option("--days", type=click.IntRange(min=1), required=True, help="Number of delivery days.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--scale",
    type=click.FloatRange(min=0, min_open=True),
    default=0.02,
    show_default=True,
    help="World size: 1.0 = 5 M content events and ~0.5 M callbacks a day.",
)
@click.option("--events-per-day", type=click.IntRange(min=100), help="Override the content events per day of --scale.")
@click.option("--users", type=click.IntRange(min=100), help="Override the number of users of --scale.")
@click.option("--drop-delivery", multiple=True, metavar="PARTNER:DATE", help="A partner dump that never arrives.")
@click.option(
    "--lose-callbacks",
    multiple=True,
    metavar="PARTNER:DATE:SHARE",
    help="A partner dump that silently lacks this share of users' callbacks (manifest consistent).",
)
@click.option(
    "--truncate",
    multiple=True,
    metavar="SOURCE:DATE",
    help="Truncate a file after its manifest was written (content, taobao, jd).",
)
@click.option(
    "--bad-manifest-ratio",
    multiple=True,
    metavar="PARTNER:DATE:RATIO",
    help="A manifest whose sampling ratio disagrees with the policy.",
)
@click.option(
    "--drop-stage",
    multiple=True,
    metavar="PARTNER:DATE:STAGE",
    help="A partner dump that silently lacks every callback of one stage (e.g. purchase).",
)
@click.option(
    "--drop-brand",
    multiple=True,
    metavar="PARTNER:DATE:BRAND",
    help="A partner dump that silently lacks every callback of one brand (e.g. b0003).",
)
@click.option(
    "--truncate-after-hour",
    multiple=True,
    metavar="PARTNER:DATE:HOUR",
    help="A partner dump whose callbacks of the day stop at HOUR:00 (Asia/Shanghai).",
)
@click.option(
    "--quiet-day",
    multiple=True,
    callback=lambda ctx, param, v: tuple(_date(ctx, param, x) for x in v),
    metavar="DATE",
    help="A genuinely quiet day (holiday): half the traffic on both sides, no fault.",
)
@click.option(
    "--duplicate-share",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.0,
    show_default=True,
    help="Share of events re-delivered 1-3 days later.",
)
@click.option(
    "--late-share",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.0,
    show_default=True,
    help="Share of events delivered 1..--max-late-days after they happened.",
)
@click.option("--max-late-days", type=click.IntRange(min=1), default=3, show_default=True)
@click.option(
    "--malformed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Malformed lines of each kind (bad JSON/CSV, unknown enum, bad time, missing key, negative amount).",
)
@click.option(
    "--landing-rate", type=click.FloatRange(0, 1), help="True click-to-store landing rate (default: the policy seed's)."
)
@click.option("--no-sampling", is_flag=True, help="Call back every user (the unsampled reference world).")
@click.option("--no-gzip", is_flag=True, help="Write .jsonl instead of .jsonl.gz.")
@click.option("--burn-in-days", type=click.IntRange(min=0), default=15, show_default=True)
@click.option("--quiet", is_flag=True)
def generate(
    out,
    start,
    days,
    seed,
    scale,
    events_per_day,
    users,
    drop_delivery,
    lose_callbacks,
    truncate,
    bad_manifest_ratio,
    drop_stage,
    drop_brand,
    truncate_after_hour,
    quiet_day,
    duplicate_share,
    late_share,
    max_late_days,
    malformed,
    landing_rate,
    no_sampling,
    no_gzip,
    burn_in_days,
    quiet,
):
    """Write a synthetic landing zone (the contract in docs/contract.md) with ground truth in OUT/_ground_truth."""
    from dataclasses import replace

    from redcat.generate import Faults, GeneratorOptions, Scale
    from redcat.generate import generate as run_generator
    from redcat.generate.options import parse_partner_day
    from redcat.generate.truth import TRUTH_DIR

    try:
        sc = Scale.factor(scale)
        if events_per_day:
            sc = replace(sc, events_per_day=events_per_day)
        if users:
            sc = replace(sc, users=users)
        faults = Faults(
            drop_delivery=tuple(parse_partner_day(x)[0] for x in drop_delivery),
            lose_callbacks=tuple(parse_partner_day(x, with_value=True) for x in lose_callbacks),
            truncate=tuple(_source_day(x) for x in truncate),
            bad_manifest_ratio=tuple(parse_partner_day(x, with_value=True) for x in bad_manifest_ratio),
            drop_stage=tuple(_partner_day_text(x) for x in drop_stage),
            drop_brand=tuple(_partner_day_text(x) for x in drop_brand),
            truncate_after_hour=tuple((pd_, int(v)) for pd_, v in (_partner_day_text(x) for x in truncate_after_hour)),
            quiet_days=tuple(quiet_day),
            duplicate_share=duplicate_share,
            late_share=late_share,
            max_late_days=max_late_days,
            malformed_per_kind=malformed,
        )
        opts = GeneratorOptions(
            start=start,
            days=days,
            seed=seed,
            scale=sc,
            faults=faults,
            gzip=not no_gzip,
            sampling=not no_sampling,
            burn_in_days=burn_in_days,
            true_landing_rate=landing_rate,
        )
        opts.validate()
    except ValueError as e:
        raise UsageProblem(str(e)) from None
    if any(out.glob("dt=*")) and not (out / TRUTH_DIR / "generation.json").exists():
        raise UsageProblem(
            f"{out} holds dt=* folders that redcat generate did not write; "
            "refusing to replace them. Choose an empty or generated directory."
        )

    started = dt.datetime.now()
    if quiet:
        summary = run_generator(opts, out)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("generate {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(str(start), total=days)
            summary = run_generator(opts, out, progress=lambda d: bar.update(task, advance=1, description=str(d)))
    elapsed = (dt.datetime.now() - started).total_seconds()
    if not quiet:
        from redcat.summary import print_generation

        print_generation(summary, out, elapsed, out_console)


@main.command()
@click.option("--from", "start", callback=_date, required=True, help="First delivery date, YYYY-MM-DD.")
@click.option("--to", "end", callback=_date, required=True, help="Last delivery date, inclusive.")
@click.option("--landing", type=click.Path(path_type=Path), help="Landing directory [REDCAT_LANDING_DIR].")
@click.option("--warehouse", type=click.Path(path_type=Path), help="Warehouse DuckDB file [REDCAT_WAREHOUSE].")
@click.option(
    "--table",
    "tables",
    multiple=True,
    metavar="SOURCE/TABLE",
    help="Only these landing tables, e.g. content/note_events (default: all).",
)
def ingest(start, end, landing, warehouse, tables):
    """Load delivery dates into the raw layer only (no dbt, no Dagster): the same loader the
    ingestion assets use. Exit 1 when a file was rejected."""
    from redcat import contract
    from redcat.config import Settings
    from redcat.ingest.loader import REJECTED, Loader
    from redcat.timeutil import date_range

    if end < start:
        raise UsageProblem(f"--to {end} is before --from {start}")
    settings = Settings.from_env(landing_dir=landing, warehouse=warehouse)
    if not settings.landing_dir.is_dir():
        raise UsageProblem(f"landing directory {settings.landing_dir} does not exist")
    known = {f"{t.source}/{t.table}": t for t in contract.ALL_TABLES}
    unknown = [t for t in tables if t not in known]
    if unknown:
        raise UsageProblem(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [known[t] for t in tables] if tables else list(contract.ALL_TABLES)
    rejected = 0
    try:
        loader = Loader(settings)
    except _environment_problems() as e:
        raise InputProblem(str(e)) from None
    with loader:
        for line in loader.recovered:
            console.print(f"[yellow]recovery[/yellow] {line}")
        for day in date_range(start, end):
            for table in chosen:
                res = loader.load(table, day)
                rejected += res.status == REJECTED
                counts = (
                    f"loaded {res.rows_loaded:,}, quarantined {res.rows_quarantined:,}, duplicates {res.rows_duplicate:,}"
                    if res.status == "loaded"
                    else res.message
                )
                out_console.print(f"{day} {table.source}/{table.table}: {res.status}  {counts}")
                for warning in res.warnings:
                    console.print(f"[yellow]warning[/yellow] {warning}")
    sys.exit(EXIT_CHECKS_FAILED if rejected else EXIT_OK)


@main.command()
@click.option("--partner", required=True, help="Partner whose day is accepted, e.g. taobao.")
@click.option("--date", "day", callback=_date, required=True, help="The report date, YYYY-MM-DD.")
@click.option("--by", "by", required=True, help="Who accepts it (recorded).")
@click.option("--reason", required=True, help="Why (recorded, shown with the check).")
@click.option(
    "--stage",
    default=None,
    help="Accept only this callback stage (search, store_visit, add_to_cart, purchase, refund); default: the whole day.",
)
@click.option("--warehouse", type=click.Path(path_type=Path), help="Warehouse DuckDB file [REDCAT_WAREHOUSE].")
def accept(partner, day, by, reason, stage, warehouse):
    """Accept a partner-day (or one callback stage of it) as known-incomplete: its completeness failure
    stops blocking the marts, which then publish it flagged (completeness_accepted). Re-run the
    partition to publish."""
    from redcat import acceptances, reference
    from redcat.config import Settings

    if partner not in reference.partners():
        raise UsageProblem(f"unknown partner {partner!r}; known: {', '.join(reference.partners())}")
    if reference.policy_for(partner, day) is None:
        raise UsageProblem(f"{partner} runs no callback programme on {day}: there is nothing to accept")
    if not reason.strip() or not by.strip():
        raise UsageProblem("--by and --reason must not be empty: they are the audit trail")
    stages = reference.callback_event_types()
    if stage is not None and stage not in stages:
        raise UsageProblem(
            f"unknown stage {stage!r}; known: {', '.join(stages)} (or leave --stage out for the whole day)"
        )
    settings = Settings.from_env(warehouse=warehouse)
    acceptances.accept(settings, partner, day, by.strip(), reason.strip(), stage)
    what = f"{partner} {day}" + (f" stage {stage}" if stage else " (every stage)")
    out_console.print(
        f"Accepted {what} as known-incomplete ({by}: {reason}). Publish it with: redcat run --from {day} --to {day}"
    )


@main.command()
@click.option("--brand", help="Brand id, e.g. b0003: one page for this brand only.")
@click.option("--all-brands", is_flag=True, help="One page per brand with data, into the folder --out.")
@click.option("--from", "start", callback=_date, help="First report date [the brand's first published date].")
@click.option("--to", "end", callback=_date, help="Last report date, inclusive [the brand's last published date].")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="HTML file [<warehouse dir>/report-BRAND-LANG.html]; with --all-brands a folder [<warehouse dir>/reports].",
)
@click.option("--model", default="linear", show_default=True, help="Attribution model for note and creator figures.")
@click.option(
    "--warehouse",
    type=click.Path(path_type=Path),
    help="Warehouse DuckDB file [REDCAT_WAREHOUSE]; the report reads its serving file.",
)
@click.option(
    "--serving",
    type=click.Path(path_type=Path),
    help="Serving DuckDB file [REDCAT_SERVING, <warehouse dir>/serving.duckdb].",
)
def report(brand, all_brands, start, end, lang, out, model, warehouse, serving):
    """Write a brand's offline HTML report from the published serving file (bi schema only;
    no other brand's figures)."""
    from redcat.config import Settings
    from redcat.report import ReportProblem, write_all_brands, write_report

    if bool(brand) == bool(all_brands):
        raise UsageProblem("pass exactly one of --brand BRAND or --all-brands")
    settings = Settings.from_env(warehouse=warehouse, serving=serving)
    try:
        if all_brands:
            paths = write_all_brands(
                settings.serving, out or settings.warehouse.parent / "reports", lang, start, end, model
            )
            for path in paths:
                out_console.print(f"Report: {path}")
            out_console.print(f"{len(paths)} brand reports")
        else:
            path = write_report(
                settings.serving,
                out or settings.warehouse.parent / f"report-{brand}-{lang}.html",
                brand,
                lang,
                start,
                end,
                model,
            )
            out_console.print(f"Report: {path}")
    except ReportProblem as e:
        raise UsageProblem(str(e)) from None


@main.command()
@click.option(
    "--select",
    "selector",
    metavar="SELECTOR",
    help="dbt selection to rebuild first, on every date (e.g. mart_brand_daily+ after a model change).",
)
@click.option("--warehouse", type=click.Path(path_type=Path), help="Warehouse DuckDB file [REDCAT_WAREHOUSE].")
@click.option(
    "--project-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="dbt project to build --select from [the repository's dbt_project].",
)
def republish(selector, warehouse, project_dir):
    """Rebuild what a model change touches and publish every date of the marts again.

    With --select, first `dbt build --select SELECTOR` without a delivery window: every date of the
    selected models is rebuilt (docs/adding-a-model.md), so a column added to a mart is filled on old
    dates too (a normal run appends it and fills only the dates it rebuilds; the others hold null).
    Then every date is exported as a new publication (Parquet folder and serving file), so the change
    reaches BI on every date, not only on the dates the next run rebuilds."""
    import duckdb

    from redcat.config import Settings
    from redcat.serving import publish

    settings = Settings.from_env(warehouse=warehouse)
    if not settings.warehouse.exists():
        raise UsageProblem(f"no warehouse at {settings.warehouse}; run `redcat run` first or pass --warehouse")
    if selector:
        _rebuild(settings, selector, project_dir)
    try:
        pub = publish(settings, all_dates=True)
    except duckdb.IOException as e:
        raise UsageProblem(
            f"{settings.warehouse} is being written (a run holds it): {e}. Try again when the run has finished."
        ) from None
    out_console.print(
        f"Published {len(pub.dates_exported)} report dates: {settings.serving}, "
        f"{settings.export_dir / pub.folder} (publication {pub.id})."
    )


@main.command()
@click.option("--warehouse", type=click.Path(path_type=Path), help="Warehouse DuckDB file [REDCAT_WAREHOUSE].")
@click.option(
    "--min-free-share",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Compact only when more than this share of the file's blocks is free.",
)
def compact(warehouse, min_free_share):
    """Rewrite the working warehouse with its live rows only (every run does this by itself when
    free blocks exceed REDCAT_COMPACT_FREE_SHARE). Waits for a run that holds the file."""
    from redcat.compaction import CompactionProblem
    from redcat.compaction import compact as compact_file
    from redcat.config import SettingProblem, Settings
    from redcat.duck import WarehouseBusy

    settings = Settings.from_env(warehouse=warehouse)
    if not settings.warehouse.exists():
        raise UsageProblem(f"no warehouse at {settings.warehouse}; run `redcat run` first or pass --warehouse")
    try:
        result = compact_file(settings.warehouse, threshold=min_free_share)
    except (WarehouseBusy, CompactionProblem, SettingProblem) as e:
        raise UsageProblem(str(e)) from None
    out_console.print(("Compacted: " if result.compacted else "Left as it is: ") + result.reason)


def _rebuild(settings, selector: str, project_dir: Path | None) -> None:
    """`dbt build --select SELECTOR` on every date (no delivery window), against this warehouse."""
    import os
    import subprocess

    from redcat.config import DBT_PROJECT_DIR

    project = (project_dir or DBT_PROJECT_DIR).resolve()
    if not (project / "dbt_project.yml").exists():
        raise UsageProblem(f"{project} is not a dbt project (no dbt_project.yml); pass --project-dir")
    env = {k: v for k, v in os.environ.items() if k not in ("REDCAT_WINDOW_START", "REDCAT_WINDOW_END")}
    env.update(settings.export_env())
    dbt = str(Path(sys.executable).parent / "dbt")
    console.print(f"Rebuilding {selector} on every date (dbt build in {project})")
    done = subprocess.run(
        [dbt, "build", "--select", selector, "--exclude-resource-type", "unit_test"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise InputProblem(
            f"dbt build --select {selector} failed in {project}; nothing was published. "
            f"Fix the model (or wait until the run holding {settings.warehouse} has finished) "
            f"and run this again. dbt's output ends:\n{tail}"
        )


def _source_day(text: str):
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not of the form SOURCE:DATE, e.g. taobao:2024-07-10")
    return parts[0], parse_date(parts[1])


if __name__ == "__main__":
    sys.exit(main())
