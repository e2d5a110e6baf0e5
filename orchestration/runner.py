"""`redcat run`: materialise delivery dates in-process through Dagster, with progress.

Runs are recorded in the project's one persistent Dagster instance (REDCAT_DAGSTER_HOME,
default `<warehouse dir>/dagster`, orchestration/instance.py), the same one `make ui`, the
schedule and the sensor use: every run, materialisation, partition and check appears in the UI,
and the one-writer pool `redcat_warehouse` holds across all of them. Each run writes its own
log file `<warehouse dir>/logs/<run id>.log` (dbt's output, then Dagster's events), and
`logs/latest` points at the newest.

This is the Dagster side of the command: `redcat/` never imports it (orchestration/cli.py
registers the command).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import dagster as dg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orchestration.instance import ENTRY_TAG, HOST_TAG, PID_TAG, instance_for, release_abandoned_runs
from redcat.config import Settings, environment
from redcat.outcome import CheckOutcome, RunOutcome

DBT_MODELS = 40  # approximate number of dbt nodes that report progress; the bar only guides the eye


class RichProgress:
    """Live terminal display: one bar over the run's steps, the current partition and stage. It
    never takes over stdout: what dbt prints goes to the run's log file, not into the display."""

    def __init__(self, console: Console, total_steps: int):
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.task = self.bar.add_task("starting", total=total_steps)

    def update(self, context, step: str, partition: str, stage: str) -> None:
        self.bar.update(self.task, description=f"{partition}  {step}: {stage}")
        if step == "dbt":
            self.bar.advance(self.task)

    def done(self, step: str, partition: str, summary: str) -> None:
        self.bar.advance(self.task)


def run(
    settings: Settings,
    start: dt.date,
    end: dt.date,
    console: Console | None = None,
    log_level: str = "CRITICAL",
    selection: str = "all",
    defs: dg.Definitions | None = None,
    target: str | None = None,
) -> RunOutcome:
    """Execute the daily job of `defs` (default: the redcat code location) for delivery dates
    start..end in this process. Dagster's console log is quiet by default (`log_level`); the
    outcome carries every check result for the summary, the log file everything else.
    `selection="ingestion"` runs the ingestion assets only. `target` is the dbt target (duckdb or
    spark, default REDCAT_DBT_TARGET): on Spark the same job runs, publication included, without the compaction.

    A warehouse held by another process is waited for (REDCAT_LOCK_TIMEOUT_SECONDS), then
    WarehouseBusy is raised before any step runs. When later delivery dates are already built,
    the dates are loaded first, and the later dates whose raw partitions they invalidate (keys the
    earlier delivery wins, redcat/ingest/backfill.py) are re-run with them: any order of runs
    equals day by day."""
    from redcat.warehouse_reader import dbt_target

    target = dbt_target(target)
    with environment({"REDCAT_DBT_TARGET": target}):  # the dbt step and its readers follow it
        return _run(settings, start, end, console, log_level, selection, defs)


def _run(
    settings: Settings,
    start: dt.date,
    end: dt.date,
    console: Console | None,
    log_level: str,
    selection: str,
    defs: dg.Definitions | None,
) -> RunOutcome:
    from redcat.duck import connect, wait_until_free
    from redcat.ingest import backfill, rawfs
    from redcat.ingest.rules import Rules

    Rules.for_day(start)  # an unusable REDCAT_* setting stops the run before any step (SettingProblem)
    rawfs.check(settings.raw_dir)  # so does a raw layer on object storage that cannot be reached (RawStoreProblem)
    wait_until_free(settings.warehouse)
    if not settings.warehouse.exists():
        return _execute(settings, start, end, console, log_level, selection, defs)
    with connect(settings.warehouse, read_only=True) as con:
        later_exist = backfill.built_after(con, end)
    if not later_exist:
        return _execute(settings, start, end, console, log_level, selection, defs)
    first = _execute(settings, start, end, None, log_level, "ingestion", defs)
    with connect(settings.warehouse, read_only=True) as con:
        rerun = backfill.invalidated_dates(con, start, end)
    if not rerun and selection == "ingestion":
        return first
    last = max([end, *rerun])
    outcome = _execute(settings, start, last, console, log_level, selection, defs)
    if rerun:
        outcome.requested, outcome.rerun_dates = (start, end), rerun
    return outcome


def _execute(
    settings: Settings,
    start: dt.date,
    end: dt.date,
    console: Console | None,
    log_level: str,
    selection: str,
    defs: dg.Definitions | None,
) -> RunOutcome:
    with environment(settings.export_env()):  # dbt subprocesses and Dagster resources read REDCAT_*
        if defs is None:
            from orchestration.definitions import defs
        from orchestration.ingestion import INGESTION_KEYS, ingestion_assets
        from orchestration.resources import ProgressReporter

        job = defs.resolve_job_def("redcat_daily")
        days = (end - start).days + 1
        # ingestion: one step per table and day; dbt: one per model it builds
        progress = RichProgress(console, days * len(INGESTION_KEYS) + DBT_MODELS) if console else None
        instance = instance_for(settings.dagster_home)
        released = release_abandoned_runs(instance)
        run_id = str(uuid.uuid4())
        tags = {
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
            ENTRY_TAG: "redcat run",
            PID_TAG: str(os.getpid()),
            HOST_TAG: socket.gethostname(),
        }
        run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
        keys = [k for a in ingestion_assets for k in a.keys] if selection == "ingestion" else None
        if keys is None and os.environ.get("REDCAT_DBT_TARGET") == "spark":
            # no DuckDB warehouse file of models to compact on Spark
            from orchestration.compaction import COMPACTION

            keys = [k for k in job.asset_layer.asset_graph.materializable_asset_keys if k != COMPACTION]
        log_path = _open_log(settings, run_id)
        with open(log_path, "a", buffering=1) as log:
            log.write(f"redcat run {start}..{end}, run {run_id}, Dagster instance {settings.dagster_home}\n")
            for line in released:
                log.write(line + "\n")
            log.write("\n== dbt and step output ==\n")
            # Dagster's console log (with --verbose) stays on the terminal; what dbt prints always
            # goes to the file. The display is entered last so it draws on the real terminal.
            with (
                redirect_stdout(log),
                redirect_stderr(log) if log_level == "CRITICAL" else _null(),
                progress.bar if console else _null(),
                ProgressReporter.sink(progress),
            ):
                result = job.execute_in_process(
                    instance=instance,
                    tags=tags,
                    run_config=run_config,
                    asset_selection=keys,
                    raise_on_error=False,
                    run_id=run_id,
                )
            _append_event_log(log, instance, run_id)
    outcome = RunOutcome(
        start, end, result.run_id, result.success, log_path=str(log_path), dagster_home=str(settings.dagster_home)
    )
    for ev in result.get_asset_check_evaluations():
        if ev.partition is not None:  # one delivery date's evaluation: the step's result follows
            outcome.partition_checks.append(
                CheckOutcome(
                    ev.asset_key.to_user_string(),
                    ev.check_name,
                    ev.passed,
                    ev.severity.value,
                    ev.description or "",
                    partition=ev.partition,
                )
            )
            continue
        outcome.checks.append(
            CheckOutcome(
                ev.asset_key.to_user_string(),
                ev.check_name,
                ev.passed,
                ev.severity.value,
                ev.description or _describe_dbt_test(ev, log_path, settings.warehouse.parent / "dbt"),
                {k: getattr(v, "value", v) for k, v in ev.metadata.items()},
                partition=ev.partition,
            )
        )
    for ev in result.get_step_failure_events():
        err = ev.event_specific_data.error
        if err and err.cls_name == "DagsterAssetCheckFailedError":
            continue  # the failed blocking check is reported itself, with its message
        outcome.step_failures.append(f"{ev.step_key}: {err.message.strip() if err else 'failed'}")
    outcome.skipped_steps = [ev.step_key for ev in result.get_step_skipped_events()]
    for ev in result.get_asset_materialization_events():
        mat = ev.step_materialization_data.materialization
        key = mat.asset_key.to_user_string()
        if "dagster/row_count" in mat.metadata:
            outcome.row_counts[key] = mat.metadata["dagster/row_count"].value
        if "dagster/column_schema" in mat.metadata:
            outcome.column_schemas[key] = [c.name for c in mat.metadata["dagster/column_schema"].value.columns]
    started = {}
    for entry in instance.all_logs(result.run_id):  # event log entries carry the timestamps
        ev = entry.dagster_event
        if ev is None:
            continue
        if ev.event_type_value == "STEP_START":
            started[ev.step_key] = entry.timestamp
        elif ev.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and ev.step_key in started:
            outcome.step_seconds[ev.step_key] = round(entry.timestamp - started[ev.step_key], 2)
    return outcome


def _open_log(settings: Settings, run_id: str) -> Path:
    """`<warehouse dir>/logs/<run id>.log`, and `latest` pointing at it (a symlink, swapped atomically)."""
    logs = settings.logs_dir
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / f"{run_id}.log"
    path.touch()
    tmp = logs / f".latest-{run_id}"
    try:
        tmp.symlink_to(path.name)
        os.replace(tmp, logs / "latest")
    except OSError:  # a file system without symlinks: `latest` is a copy of the name
        (logs / "latest.txt").write_text(path.name + "\n")
    return path


def _append_event_log(log, instance: dg.DagsterInstance, run_id: str) -> None:
    """Dagster's own record of the run (steps, materialisations, checks), after dbt's output."""
    log.write("\n== Dagster events ==\n")
    for entry in instance.all_logs(run_id):
        when = dt.datetime.fromtimestamp(entry.timestamp, dt.UTC).strftime("%H:%M:%S")
        ev = entry.dagster_event
        what = ev.event_type_value if ev else entry.level
        step = f" {entry.step_key}" if entry.step_key else ""
        log.write(f"{when} {what}{step}: {entry.user_message}\n")


def _describe_dbt_test(ev, log_path, artifacts) -> str:
    """dbt tests come without a description: say how many rows failed and where to look."""
    if ev.passed:
        return ""
    failed = ev.metadata.get("dagster_dbt/failed_row_count")
    count = f"{failed.value:,} failing rows" if failed is not None else "failed"
    return (
        f"dbt test {ev.check_name} on {ev.asset_key.to_user_string()}: {count}. The test's SQL and the rows are in "
        f"the run log ({log_path}) and dbt's artifacts ({artifacts}/<target>/); fix the data or the model, then re-run."
    )


@contextmanager
def _null():
    yield
