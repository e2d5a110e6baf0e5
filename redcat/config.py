"""Where redcat reads and writes, from environment variables with documented defaults.

REDCAT_LANDING_DIR   landing zone (daily dumps)            default data/landing
REDCAT_WAREHOUSE     working DuckDB file (dbt target)       default data/warehouse.duckdb
REDCAT_RAW_DIR       validated Parquet raw layer            default <warehouse dir>/raw
                     (a local path, or a URI on object storage: s3://bucket/prefix; redcat/ingest/rawfs.py)
REDCAT_SERVING       published DuckDB file for BI           default <warehouse dir>/serving.duckdb
REDCAT_EXPORT_DIR    Parquet exports of the marts           default <warehouse dir>/export
REDCAT_DAGSTER_HOME  the Dagster instance (runs, checks)    default <warehouse dir>/dagster
REDCAT_SPARK_DIR     Spark's metastore and tables (target spark) default <warehouse dir>/spark
REDCAT_EXPORT_RETENTION_DAYS  how long a superseded publication stays readable, default 7

Relative paths are resolved against the current directory once, so dbt (which runs
in dbt_project/) and Dagster see the same absolute files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from redcat.ingest.rawfs import normalise

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse: Path
    raw_dir: Path | str  # a URI (str) when the raw layer is on object storage, see rawfs.py
    serving: Path
    export_dir: Path
    dagster_home: Path
    spark_dir: Path

    @classmethod
    def from_env(cls, **overrides: Path | str | None) -> Settings:
        env = os.environ
        landing = Path(overrides.get("landing_dir") or env.get("REDCAT_LANDING_DIR", "data/landing"))
        warehouse = Path(overrides.get("warehouse") or env.get("REDCAT_WAREHOUSE", "data/warehouse.duckdb"))
        home = warehouse.parent
        raw = overrides.get("raw_dir") or env.get("REDCAT_RAW_DIR") or home / "raw"
        serving = Path(overrides.get("serving") or env.get("REDCAT_SERVING") or home / "serving.duckdb")
        export = Path(overrides.get("export_dir") or env.get("REDCAT_EXPORT_DIR") or home / "export")
        dagster = Path(overrides.get("dagster_home") or env.get("REDCAT_DAGSTER_HOME") or home / "dagster")
        spark = Path(overrides.get("spark_dir") or env.get("REDCAT_SPARK_DIR") or home / "spark")
        landing, warehouse, serving, export, dagster, spark = (
            p.expanduser().resolve() for p in (landing, warehouse, serving, export, dagster, spark)
        )
        return cls(landing, warehouse, normalise(raw), serving, export, dagster, spark)

    @property
    def logs_dir(self) -> Path:
        """One log file per run (`<run id>.log`, and `latest` pointing at the newest)."""
        return self.warehouse.parent / "logs"

    def dbt_target_dir(self, target: str) -> Path:
        """dbt's artifacts and log for this warehouse and dbt target (`<warehouse dir>/dbt/<target>`):
        one folder per warehouse, so two warehouses run from one checkout never share manifests or
        run results, and dbt's partial parsing (which a change of warehouse path invalidates) holds
        from one run of a warehouse to the next."""
        return self.warehouse.parent / "dbt" / target

    def with_(self, **changes: Path) -> Settings:
        return replace(self, **{k: normalise(v) if k == "raw_dir" else Path(v).resolve() for k, v in changes.items()})

    def export_env(self) -> dict[str, str]:
        """The environment that makes dbt, Dagster and subprocesses agree on these paths."""
        return {
            "REDCAT_LANDING_DIR": str(self.landing_dir),
            "REDCAT_WAREHOUSE": str(self.warehouse),
            "REDCAT_RAW_DIR": str(self.raw_dir),
            "REDCAT_SERVING": str(self.serving),
            "REDCAT_EXPORT_DIR": str(self.export_dir),
            "REDCAT_DAGSTER_HOME": str(self.dagster_home),
            "REDCAT_SPARK_DIR": str(self.spark_dir),
        }


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """os.environ with `values` for the duration, restored after: subprocesses started inside
    (dbt) see them, and a long-lived process does not carry them into the next run."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class SettingProblem(ValueError):
    """A REDCAT_* environment setting is not usable: the message names it, its value and the fix."""


def env_number(
    name: str, default: float, *, what: str, integer: bool = False, maximum: float | None = None, off: bool = False
) -> float | None:
    """The number in environment variable `name` (default when unset or blank), at least 0 and at
    most `maximum`; a whole number if `integer`; None for off/never/none if `off` is allowed. The
    one parser of redcat's numeric settings, so each refuses a bad value the same way: naming the
    variable, the value, what it must be (`what`) and the default."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if off and raw.lower() in ("off", "never", "none"):
        return None
    try:
        value: float = int(raw) if integer else float(raw)
    except ValueError:
        value = -1
    if value != value or value < 0 or (maximum is not None and value > maximum):  # value != value: NaN
        raise SettingProblem(f"{name}={raw!r} is not {what}; unset it for the default {default:g} or fix it")
    return value
