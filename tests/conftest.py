"""Shared fixtures. Expensive artefacts (landing zones, warehouses) are built once per session."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from redcat.generate import Faults, GeneratorOptions, PartnerDay, Scale, generate

# A small world whose 16 days cross the 50 % -> 100 % switch of 2024-07-01.
SMALL = Scale.factor(0.004)
START = dt.date(2024, 6, 24)
DAYS = 16


# `make test` runs two pytest-xdist workers, each taking one module at a time in collection order:
# the modules that take longest (measured with --durations) start first, so the Spark comparison
# runs beside the others instead of after them. Within a module the order is unchanged.
LONGEST_FIRST = (
    "test_spark.py",
    "test_marts.py",
    "test_serving.py",
    "test_completeness.py",
    "test_bad_input_pipeline.py",
    "test_analysts.py",
    "test_partners.py",
    "test_completeness_stages.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def small_options(**changes) -> GeneratorOptions:
    base = dict(start=START, days=DAYS, seed=11, scale=SMALL)
    base.update(changes)
    return GeneratorOptions(**base)


@pytest.fixture(scope="session")
def clean_landing(tmp_path_factory) -> Path:
    """A fault-free sampled landing zone."""
    out = tmp_path_factory.mktemp("clean") / "landing"
    generate(small_options(), out)
    return out


@pytest.fixture(scope="session")
def unsampled_landing(tmp_path_factory) -> Path:
    """The same world with every user called back."""
    out = tmp_path_factory.mktemp("unsampled") / "landing"
    generate(small_options(sampling=False), out)
    return out


FAULTY = Faults(
    drop_delivery=(PartnerDay("taobao", dt.date(2024, 7, 3)),),
    lose_callbacks=((PartnerDay("taobao", dt.date(2024, 7, 5)), 0.5),),
    truncate=(("taobao", dt.date(2024, 6, 27)), ("content", dt.date(2024, 6, 28))),
    bad_manifest_ratio=((PartnerDay("taobao", dt.date(2024, 6, 26)), 1.0),),
    duplicate_share=0.02,
    late_share=0.03,
    malformed_per_kind=4,
)


@pytest.fixture(scope="session")
def faulty_landing(tmp_path_factory) -> Path:
    """Every fault option at once, on the same world as `clean_landing`."""
    out = tmp_path_factory.mktemp("faulty") / "landing"
    generate(small_options(faults=FAULTY), out)
    return out


def settings_for(landing: Path, home: Path):
    from redcat.config import Settings

    return Settings.from_env(
        landing_dir=landing,
        warehouse=home / "warehouse.duckdb",
        raw_dir=home / "raw",
        serving=home / "serving.duckdb",
        export_dir=home / "export",
        dagster_home=home / "dagster",
    )


@pytest.fixture(scope="session")
def faulty_ingested(faulty_landing, tmp_path_factory):
    """The faulty landing zone ingested through the Dagster job, in-process (ingestion only)."""
    from orchestration.runner import run

    settings = settings_for(faulty_landing, tmp_path_factory.mktemp("faulty_wh"))
    outcome = run(settings, START, START + dt.timedelta(days=DAYS - 1), selection="ingestion")
    return settings, outcome


@pytest.fixture(scope="session")
def clean_built(clean_landing, tmp_path_factory):
    """The clean landing zone materialised end to end (ingestion + dbt), as one range run."""
    from orchestration.runner import run

    settings = settings_for(clean_landing, tmp_path_factory.mktemp("clean_wh"))
    outcome = run(settings, START, START + dt.timedelta(days=DAYS - 1))
    assert outcome.exit_code == 0, [c.description for c in outcome.failed_checks] + outcome.step_failures
    return settings, outcome


@pytest.fixture(scope="session")
def compiled_project(tmp_path_factory):
    """Every model's and test's SQL as dbt compiles it, once, for the simulation tests that run a
    model's real SQL on simulated inputs (tests/compiled_sql.py)."""
    from compiled_sql import compile_project

    return compile_project(tmp_path_factory.mktemp("compiled"))
