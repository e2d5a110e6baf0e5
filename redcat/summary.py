"""Printed summaries of a run: what was loaded, what failed and what to do about it."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from redcat.config import Settings
from redcat.duck import connect
from redcat.outcome import RunOutcome


def not_evaluated(outcome: RunOutcome) -> list[str]:
    """Partner-days of the run's range whose callback completeness was not evaluated because the
    run stopped before the check (an ingestion or dbt step failed, or dbt was skipped)."""
    import datetime as dt

    from redcat import reference

    if any(c.name == "callback_completeness" for c in outcome.checks):
        return []
    days = [outcome.start + dt.timedelta(days=i) for i in range((outcome.end - outcome.start).days + 1)]
    return [f"{p} {d}" for d in days for p in reference.partners() if reference.policy_for(p, d) is not None]


def print_run_summary(settings: Settings, outcome: RunOutcome, console: Console, target: str = "duckdb") -> None:
    if outcome.rerun_dates:
        start, end = outcome.requested
        dates = ", ".join(f"{d} ({', '.join(t)})" for d, t in outcome.rerun_dates.items())
        console.print(
            f"Backfill: {start}..{end} was loaded after later dates; its deliveries win keys that later "
            f"partitions held, so these were re-run with it: {dates}. Ran {outcome.start}..{outcome.end}."
        )
    _print_loads(settings, outcome, console)
    _print_checks(outcome, console)
    missing = not_evaluated(outcome)
    if missing:
        console.print(
            f"[red]NOT EVALUATED[/red]: the run stopped before the callback completeness check, so these "
            f"{len(missing)} partner-day(s) were not checked for missing callbacks (any stage): "
            + ", ".join(missing)
            + ". Fix the failed step above and re-run the range; until then their "
            "completeness is unknown, not ok."
        )
    if outcome.log_path:
        console.print(f"Run log (dbt output, Dagster events): {outcome.log_path}")
    if outcome.dagster_home:
        console.print(f"Recorded in the Dagster instance {outcome.dagster_home} (`make ui` shows it).")
    if outcome.exit_code == 0:
        console.print(
            f"[green]OK[/green]: {outcome.start}..{outcome.end} materialised, every blocking check passed "
            f"(run {outcome.run_id[:8]})."
        )
        from redcat.serving import current_manifest

        pub = current_manifest(settings)
        if target == "spark":
            console.print(
                f"On Spark: the marts and bi tables are in {settings.spark_dir / 'warehouse'} "
                f"(metastore {settings.spark_dir / 'metastore_db'})."
            )
        if pub and pub.get("run_id") == outcome.run_id:
            console.print(
                f"Published for BI: {settings.serving} and Parquet under {settings.export_dir} "
                f"(publication {pub['id']}, {len(pub['dates_exported'])} report dates"
                + (", from Spark's tables)." if target == "spark" else ").")
            )
    else:
        if target == "spark":
            console.print(
                "On Spark the business marts keep their last good rows (dbt skips them when a blocking check fails)."
            )
        console.print(f"BI keeps the last good publication ({settings.serving}).")
        console.print(
            f"[red]FAILED[/red]: {len(outcome.failed_checks)} blocking check(s) failed"
            + (f", {len(outcome.step_failures)} step(s) failed" if outcome.step_failures else "")
            + (f"; {len(outcome.skipped_steps)} downstream step(s) were not run" if outcome.skipped_steps else "")
            + f" (run {outcome.run_id[:8]})."
        )


def _print_loads(settings: Settings, outcome: RunOutcome, console: Console) -> None:
    if not settings.warehouse.exists():
        return
    try:
        con = connect(settings.warehouse, read_only=True, wait_seconds=0)
    except Exception as e:  # noqa: BLE001 - the summary must not hide the run's outcome
        console.print(f"[yellow]The load ledger could not be read[/yellow] ({e}); the checks below still apply.")
        return
    try:
        rows = con.execute(
            """SELECT source || '/' || table_name, count(*) FILTER (WHERE status = 'loaded'),
                      sum(rows_loaded), sum(rows_quarantined), sum(rows_duplicate),
                      string_agg(DISTINCT status, ', ' ORDER BY status) FILTER (WHERE status <> 'loaded')
               FROM ops.load_ledger_current WHERE delivery_date BETWEEN ? AND ?
               GROUP BY ALL ORDER BY 1""",
            [outcome.start, outcome.end],
        ).fetchall()
    finally:
        con.close()
    table = Table(title=f"Ingestion {outcome.start} .. {outcome.end}")
    for col, justify in (
        ("table", "left"),
        ("days loaded", "right"),
        ("rows loaded", "right"),
        ("quarantined", "right"),
        ("duplicates", "right"),
        ("other statuses", "left"),
    ):
        table.add_column(col, justify=justify)
    for name, days, loaded, quarantined, dups, other in rows:
        table.add_row(name, str(days), f"{loaded or 0:,}", f"{quarantined or 0:,}", f"{dups or 0:,}", other or "")
    console.print(table)


def _print_checks(outcome: RunOutcome, console: Console) -> None:
    problems = outcome.failed_checks + outcome.warnings
    passed = sum(c.passed for c in outcome.checks)
    console.print(f"Checks: {passed} passed, {len(outcome.failed_checks)} failed, {len(outcome.warnings)} warned.")
    if not problems and not outcome.step_failures:
        return
    table = Table(title="Checks that did not pass", show_lines=True)
    table.add_column("severity")
    table.add_column("asset / check")
    table.add_column("what, where, what to do")
    for c in problems:
        table.add_row(
            "[red]ERROR[/red]" if c.severity == "ERROR" else "[yellow]WARN[/yellow]",
            f"{c.asset}\n{c.name}",
            c.description,
        )
    for f in outcome.step_failures:
        table.add_row("[red]STEP[/red]", f.split(":")[0], f.split(":", 1)[1].strip() if ":" in f else f)
    console.print(table)


def print_results(settings: Settings, console: Console, start=None, end=None) -> None:
    """A short look at the marts between start and end (default: the last 14 report dates):
    observed and estimated GMV, the completeness check, ROAS by model."""
    con = connect(settings.warehouse, read_only=True)
    try:
        daily = con.execute(
            """SELECT b.report_date, any_value(b.sampling_ratio), sum(b.gmv_observed), sum(b.gmv_estimated),
                      sum(b.gmv_estimated_ci_low), sum(b.gmv_estimated_ci_high),
                      count(*) FILTER (WHERE b.gmv_estimated_ci_low IS NULL OR b.gmv_estimated_ci_high IS NULL),
                      sum(b.gmv_attributed_observed) / nullif(sum(b.gmv_observed), 0),
                      any_value(c.status), any_value(c.observed_coverage), any_value(c.expected_coverage)
               FROM marts.mart_brand_daily b
               LEFT JOIN marts.mart_callback_completeness c USING (report_date, partner)
               WHERE b.partner = 'taobao' AND b.attribution_model = 'last_touch'
                 AND b.report_date BETWEEN coalesce(?::DATE, DATE '1900-01-01') AND coalesce(?::DATE, DATE '9999-12-31')
               GROUP BY 1 ORDER BY 1 DESC LIMIT 14""",
            [start, end],
        ).fetchall()
        roas = con.execute(
            """SELECT attribution_model, sum(spend_total_cny), sum(gmv_attributed_boosted_estimated),
                      sum(gmv_attributed_boosted_estimated) / nullif(sum(spend_total_cny), 0),
                      sum(gmv_attributed_estimated) / nullif(sum(spend_total_cny), 0)
               FROM marts.mart_brand_roi_daily GROUP BY 1 ORDER BY 1"""
        ).fetchall()
    finally:
        con.close()
    # The brands' 95 % bounds summed: a conservative (too wide) interval of the total, never the
    # plug-in SE (gmv_estimated_se is not a 95 % interval, docs/estimation.md).
    table = Table(
        title="Taobao, all brands (last_touch): observed GMV follows the sampling ratio, the estimate does not",
        caption="95 % interval: the brands' bounds summed (conservative, wider than the total's own); "
        "'+n brands without': brands with no interval (no sampled buyer in the pool window)",
    )
    for col in (
        "date",
        "ratio",
        "GMV observed",
        "GMV estimated",
        "95 % interval",
        "attributed",
        "coverage (expected)",
        "completeness",
    ):
        table.add_column(col, justify="left" if col in ("date", "completeness") else "right")
    for day, ratio, obs, est, low, high, unbounded, share, status, cov, exp in reversed(daily):
        interval = f"{low:,.0f} – {high:,.0f}" if low is not None and high is not None else "-"
        if unbounded:
            # A brand without any sampled buyer (nor its category) in the pool window has no interval
            # (docs/estimation.md); say so rather than hide the brands that have one.
            interval += f" (+{unbounded} brand{'s' if unbounded > 1 else ''} without)"
        table.add_row(
            str(day),
            f"{ratio:g}",
            f"{obs:,.0f}",
            f"{est:,.0f}",
            interval,
            f"{share:.0%}" if share else "-",
            f"{cov:.1%} ({exp:.1%})" if cov is not None else "-",
            status or "-",
        )
    console.print(table)
    table = Table(title="Return on ad spend by attribution model (all brands, all dates)")
    for col in ("model", "spend CNY", "GMV via boosted notes (est.)", "ROAS boosted", "ROAS brand"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for model, spend, gmv, r, brand in roas:
        table.add_row(
            model,
            f"{spend:,.0f}",
            f"{gmv:,.0f}",
            f"{r:.2f}" if r is not None else "-",
            f"{brand:.2f}" if brand is not None else "-",
        )
    console.print(table)


def print_generation(summary: dict, out: Path, elapsed: float, out_console: Console) -> None:
    """What `redcat generate` wrote: deliveries per day, faults, where the ground truth is."""
    from redcat.generate.truth import TRUTH_DIR

    partners = sorted({k for d in summary["deliveries"] for k in d if k not in ("date", "content")})
    table = Table(title=f"Landing zone {out}  ({summary['start']} .. {summary['end']}, seed {summary['seed']})")
    table.add_column("delivery date")
    table.add_column("note events", justify="right")
    table.add_column("late", justify="right")
    table.add_column("dupes", justify="right")
    for p in partners:
        table.add_column(f"{p} callbacks", justify="right")
        table.add_column(f"{p} ratio", justify="right")
    for d in summary["deliveries"]:
        row = [
            d["date"],
            f"{d['content']['note_events']:,}",
            f"{d['content']['late']:,}",
            f"{d['content']['duplicates']:,}",
        ]
        for p in partners:
            info = d.get(p)
            if info is None:
                row += ["-", "not in programme"]
            elif not info["delivered"]:
                row += ["[red]missing[/red]", ""]
            else:
                row += [f"{info['callbacks']:,}", f"{info['sampling_ratio']:g} ({info['program_version']})"]
        table.add_row(*row)
    out_console.print(table)
    faults = json.loads((out / TRUTH_DIR / "faults.json").read_text())
    if faults:
        kinds: dict[str, int] = {}
        for f in faults:
            key = f["kind"] if f["kind"] != "malformed_line" else f"malformed_line/{f['reason']}"
            kinds[key] = kinds.get(key, 0) + 1
        out_console.print("Injected faults: " + ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())))
    out_console.print(f"Ground truth: {out / TRUTH_DIR}  ({elapsed:.1f} s)")
