"""`redcat run`: materialise delivery dates in-process through Dagster, with progress."""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from redcat.config import Settings, environment

EXIT_OK, EXIT_CHECKS_FAILED, EXIT_BAD_INPUT = 0, 1, 2
DBT_MODELS = 40  # approximate number of dbt nodes that report progress; the bar only guides the eye


@dataclass
class CheckOutcome:
    asset: str
    name: str
    passed: bool
    severity: str  # ERROR | WARN
    description: str
    metadata: dict = field(default_factory=dict)


@dataclass
class RunOutcome:
    start: dt.date
    end: dt.date
    run_id: str
    success: bool
    checks: list[CheckOutcome] = field(default_factory=list)
    step_failures: list[str] = field(default_factory=list)
    skipped_steps: list[str] = field(default_factory=list)
    log_path: str | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)  # Dagster step -> wall-clock seconds
    row_counts: dict[str, int] = field(default_factory=dict)  # asset -> rows, as recorded in the materialisation
    column_schemas: dict[str, list[str]] = field(default_factory=dict)  # asset -> column names recorded
    requested: tuple[dt.date, dt.date] | None = None  # the dates asked for, when a backfill widened the run
    rerun_dates: dict[dt.date, list[str]] = field(default_factory=dict)  # later dates re-run, and why (backfill.py)

    @property
    def failed_checks(self) -> list[CheckOutcome]:
        return [c for c in self.checks if not c.passed and c.severity == "ERROR"]

    @property
    def warnings(self) -> list[CheckOutcome]:
        return [c for c in self.checks if not c.passed and c.severity == "WARN"]

    @property
    def exit_code(self) -> int:
        return EXIT_CHECKS_FAILED if (self.failed_checks or self.step_failures or not self.success) else EXIT_OK


class RichProgress:
    """Live terminal display: one bar over the run's steps, the current partition and stage."""

    def __init__(self, console: Console, total_steps: int):
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=console, transient=True)
        self.task = self.bar.add_task("starting", total=total_steps)

    def update(self, context, step: str, partition: str, stage: str) -> None:
        self.bar.update(self.task, description=f"{partition}  {step}: {stage}")
        if step == "dbt":
            self.bar.advance(self.task)

    def done(self, step: str, partition: str, summary: str) -> None:
        self.bar.advance(self.task)


def run(settings: Settings, start: dt.date, end: dt.date, console: Console | None = None,
        log_level: str = "CRITICAL", selection: str = "all") -> RunOutcome:
    """Execute the daily job for delivery dates start..end in this process. Dagster's own log
    is quiet by default: the outcome carries every check result for the summary.
    `selection="ingestion"` runs the ingestion assets only.

    A warehouse held by another process is waited for (REDCAT_LOCK_TIMEOUT_SECONDS), then
    WarehouseBusy is raised before any step runs. When later delivery dates are already built,
    the dates are loaded first, and the later dates whose raw partitions they invalidate (keys the
    earlier delivery wins, backfill.py) are re-run with them: any order of runs equals day by day."""
    from redcat.duck import connect, wait_until_free
    from redcat.ingest import backfill

    from redcat.ingest.rules import Rules

    Rules.for_day(start)  # an unusable REDCAT_* setting stops the run before any step (SettingProblem)
    wait_until_free(settings.warehouse)
    if not settings.warehouse.exists():
        return _execute(settings, start, end, console, log_level, selection)
    with connect(settings.warehouse, read_only=True) as con:
        later_exist = backfill.built_after(con, end)
    if not later_exist:
        return _execute(settings, start, end, console, log_level, selection)
    first = _execute(settings, start, end, None, log_level, "ingestion")
    with connect(settings.warehouse, read_only=True) as con:
        rerun = backfill.invalidated_dates(con, start, end)
    if not rerun and selection == "ingestion":
        return first
    last = max([end, *rerun])
    outcome = _execute(settings, start, last, console, log_level, selection)
    if rerun:
        outcome.requested, outcome.rerun_dates = (start, end), rerun
    return outcome


def _execute(settings: Settings, start: dt.date, end: dt.date, console: Console | None, log_level: str,
             selection: str) -> RunOutcome:
    import dagster as dg

    with environment(settings.export_env()):  # dbt subprocesses and Dagster resources read REDCAT_*
        from orchestration.definitions import defs
        from orchestration.ingestion import INGESTION_KEYS, ingestion_assets
        from orchestration.resources import ProgressReporter

        job = defs.resolve_job_def("redcat_daily")
        days = (end - start).days + 1
        # ingestion: one step per table and day; dbt: one per model it builds
        progress = RichProgress(console, days * len(INGESTION_KEYS) + DBT_MODELS) if console else None
        instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
        tags = {"dagster/asset_partition_range_start": start.isoformat(),
                "dagster/asset_partition_range_end": end.isoformat(), "redcat/entry": "redcat run"}
        run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
        keys = [k for a in ingestion_assets for k in a.keys] if selection == "ingestion" else None
        # dbt's own log lines go to stdout; keep them in a file so the terminal shows progress.
        log_path = settings.warehouse.parent / "logs" / f"run-{start}-{end}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "w") as log, (redirect_stdout(log) if log_level == "CRITICAL" else _null()), \
                (progress.bar if console else _null()), ProgressReporter.sink(progress):
            result = job.execute_in_process(instance=instance, tags=tags, run_config=run_config, asset_selection=keys,
                                            raise_on_error=False)
    outcome = RunOutcome(start, end, result.run_id, result.success, log_path=str(log_path))
    for ev in result.get_asset_check_evaluations():
        outcome.checks.append(CheckOutcome(ev.asset_key.to_user_string(), ev.check_name, ev.passed,
                                           ev.severity.value, ev.description or _describe_dbt_test(ev, log_path),
                                           {k: getattr(v, "value", v) for k, v in ev.metadata.items()}))
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


def _describe_dbt_test(ev, log_path) -> str:
    """dbt tests come without a description: say how many rows failed and where to look."""
    if ev.passed:
        return ""
    failed = ev.metadata.get("dagster_dbt/failed_row_count")
    count = f"{failed.value:,} failing rows" if failed is not None else "failed"
    return (f"dbt test {ev.check_name} on {ev.asset_key.to_user_string()}: {count}. The test's SQL and the rows are in "
            f"the run log ({log_path}) and dbt_project/target/dagster/; fix the data or the model, then re-run.")


@contextmanager
def _null():
    yield
