"""What a run of the daily job came to: its checks, failed steps, timings and row counts.

Filled in by the Dagster code location's runner and printed by redcat/summary.py; plain
data, so nothing here depends on Dagster."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

EXIT_OK, EXIT_CHECKS_FAILED, EXIT_BAD_INPUT = 0, 1, 2


@dataclass
class CheckOutcome:
    asset: str
    name: str
    passed: bool
    severity: str  # ERROR | WARN
    description: str
    metadata: dict = field(default_factory=dict)
    partition: str | None = None


@dataclass
class RunOutcome:
    start: dt.date
    end: dt.date
    run_id: str
    success: bool
    checks: list[CheckOutcome] = field(default_factory=list)  # one per check and step (these block)
    partition_checks: list[CheckOutcome] = field(default_factory=list)  # the same checks per delivery date
    step_failures: list[str] = field(default_factory=list)
    skipped_steps: list[str] = field(default_factory=list)
    log_path: str | None = None
    dagster_home: str | None = None
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
