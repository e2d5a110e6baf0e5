"""Resources: where the warehouse lives (from REDCAT_* environment variables), and where progress goes."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from redcat.config import Settings

WAREHOUSE_POOL = "redcat_warehouse"  # everything that writes the warehouse runs in this pool, one at a time


class WarehouseResource(dg.ConfigurableResource):
    """Paths of the landing zone, raw layer and DuckDB files. Empty fields fall back to the
    REDCAT_* environment variables and their defaults (redcat/config.py)."""

    landing_dir: str = ""
    warehouse: str = ""
    raw_dir: str = ""
    serving: str = ""
    export_dir: str = ""

    def settings(self) -> Settings:
        return Settings.from_env(
            landing_dir=self.landing_dir or None,
            warehouse=self.warehouse or None,
            raw_dir=self.raw_dir or None,
            serving=self.serving or None,
            export_dir=self.export_dir or None,
        )


class ProgressReporter:
    """Receives (step, partition, stage) updates and forwards them to the current sink. By
    default they go to the Dagster log; `redcat run` installs its live terminal display with
    `sink()` for the duration of an in-process run (steps run in the caller's thread)."""

    _sink = None

    def update(self, context: dg.AssetExecutionContext | None, step: str, partition: str, stage: str) -> None:
        if self._sink is not None:
            self._sink.update(context, step, partition, stage)
        elif context is not None:
            context.log.debug(f"{step} {partition}: {stage}")

    def done(self, step: str, partition: str, summary: str) -> None:
        if self._sink is not None:
            self._sink.done(step, partition, summary)

    @classmethod
    @contextmanager
    def sink(cls, target) -> Iterator[None]:
        previous, cls._sink = cls._sink, target
        try:
            yield
        finally:
            cls._sink = previous


progress_resource = dg.ResourceDefinition.hardcoded_resource(ProgressReporter(), "Progress of long steps")
