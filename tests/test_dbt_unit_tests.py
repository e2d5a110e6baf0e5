"""dbt's unit tests of the attribution maths. The scheduled runs skip them (they check SQL logic,
not data, and the logic does not change between runs), so CI runs them here with real dbt on
the shared warehouse (unit tests read the input tables' column types from it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from redcat.config import DBT_PROJECT_DIR

DBT = str(Path(sys.executable).parent / "dbt")


def _declared_unit_tests() -> set[str]:
    names = set()
    for path in (DBT_PROJECT_DIR / "models").rglob("*.yml"):
        for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", []):
            names.add(test["name"])
    return names


def _unit_tests(settings, tmp_path: Path, select: str = "test_type:unit", extra: tuple = ()) -> dict[str, str]:
    env = {**os.environ, **settings.export_env()}
    done = subprocess.run(
        [
            DBT,
            "test",
            "--select",
            select,
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
            *extra,
        ],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    results_file = tmp_path / "target" / "run_results.json"
    assert results_file.exists(), f"dbt did not run the unit tests:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    results = json.loads(results_file.read_text())["results"]
    # only the unit tests: the results also hold the project's on-run-start hooks (Spark's sources)
    return {r["unique_id"].split(".")[-1]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}


def test_every_unit_test_passes(clean_built, tmp_path):
    settings, _ = clean_built
    declared = _declared_unit_tests()
    assert len(declared) >= 8, f"expected the attribution and data-driven unit tests, found {sorted(declared)}"
    statuses = _unit_tests(settings, tmp_path)
    assert set(statuses) == declared
    failed = {name: status for name, status in statuses.items() if status != "pass"}
    assert not failed, f"unit tests failed: {failed}; run `cd dbt_project && dbt test --select test_type:unit`"


def test_unit_tests_catch_a_change_in_the_maths(clean_built, tmp_path):
    """A half-life of 3.5 days instead of 7 changes time-decay credits: the test written for 7 fails."""
    settings, _ = clean_built
    statuses = _unit_tests(
        settings, tmp_path, "test_type:unit,int_attribution_credits", ("--vars", "{half_life_days: 3.5}")
    )
    assert statuses.get("rule_based_credits") == "fail", statuses
