"""Partners are data: a third partner (Vipshop, programme 小红链 xiaohonglian) added by appending
rows to two seeds in a copy of the repository, nothing else, runs end to end with its completeness
checked. The programme's terms (v1, 50 % of users from 2024-06-01) are this test's assumption."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from redcat.config import REPO_ROOT

VIP_PARTNER = {
    "partner": "vip",
    "partner_name": "Vipshop",
    "programme": "xiaohonglian",
    "programme_zh": "小红链",
    "delivery_deadline_hours": "26",
    "max_plausible_gmv_cny": "1000000",
}
VIP_POLICY = {
    "partner": "vip",
    "program_version": "v1",
    "sampling_ratio": "0.5",
    "landing_rate": "0.95",
    "valid_from": "2024-06-01",
    "valid_to": "",
    "note": "test assumption: 50 % of users",
}
COPIED = ("pyproject.toml", "redcat", "orchestration", "dbt_project", "seeds")


def _append(path: Path, row: dict) -> None:
    with open(path, newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    missing = set(header) - set(row)
    assert not missing, f"{path.name} has columns this test does not fill: {missing}"
    with open(path, "a", newline="", encoding="utf-8") as fh:
        csv.DictWriter(fh, fieldnames=header, lineterminator="\n").writerow({k: row[k] for k in header})


@pytest.fixture(scope="module")
def vip_world(tmp_path_factory):
    home = tmp_path_factory.mktemp("vip")
    repo = home / "repo"
    repo.mkdir()
    for name in COPIED:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("target", "logs", "__pycache__"))
        else:
            shutil.copy(source, repo / name)
    # the whole change: two rows of configuration
    _append(repo / "seeds" / "partners.csv", VIP_PARTNER)
    _append(repo / "seeds" / "callback_sampling_policy.csv", VIP_POLICY)
    env = {
        **os.environ,
        "PYTHONPATH": str(repo),
        "REDCAT_WAREHOUSE": str(home / "wh" / "warehouse.duckdb"),
        "REDCAT_LANDING_DIR": str(home / "landing"),
    }
    env.pop("DAGSTER_HOME", None)

    def redcat(*args):
        return subprocess.run(
            [sys.executable, "-m", "orchestration.cli", *args],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )

    generated = redcat(
        "generate",
        "--out",
        str(home / "landing"),
        "--start",
        "2024-06-28",
        "--days",
        "5",
        "--scale",
        "0.01",
        "--seed",
        "5",
        "--quiet",
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    ran = redcat("run", "--from", "2024-06-28", "--to", "2024-07-02")
    return home, ran


def test_the_generator_writes_the_configured_partners_dumps(vip_world):
    home, _ = vip_world
    manifests = sorted((home / "landing").glob("dt=*/partner=vip/_manifest.json"))
    assert len(manifests) == 5
    first = json.loads(manifests[0].read_text())
    assert (first["source"], first["program_version"], first["sampling_ratio"]) == ("vip", "v1", 0.5)
    assert first["files"][0]["rows"] > 0


def test_the_third_partner_runs_end_to_end_with_its_completeness_checked(vip_world):
    home, ran = vip_world
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-4000:]
    assert "vip/callbacks" in ran.stdout  # its ingestion asset, in the summary
    con = duckdb.connect(str(home / "wh" / "warehouse.duckdb"), read_only=True)
    try:
        loaded = con.execute(
            "SELECT count(*), sum(rows_loaded) FROM ops.load_ledger_current "
            "WHERE source = 'vip' AND table_name = 'callbacks' AND status = 'loaded'"
        ).fetchone()
        completeness = con.execute(
            "SELECT report_date, program_version, sampling_ratio, clicked_users, status "
            "FROM marts.mart_callback_completeness WHERE partner = 'vip' ORDER BY 1"
        ).fetchall()
        brand_rows = con.execute(
            "SELECT count(*), sum(gmv_observed), sum(gmv_estimated) FROM marts.mart_brand_daily "
            "WHERE partner = 'vip' AND attribution_model = 'linear'"
        ).fetchone()
    finally:
        con.close()
    assert loaded[0] == 5 and loaded[1] > 0
    assert [r[0].isoformat() for r in completeness] == [f"2024-06-{d}" for d in (28, 29, 30)] + [
        "2024-07-01",
        "2024-07-02",
    ]
    assert {(r[1], r[2]) for r in completeness} == {("v1", 0.5)}
    assert all(r[3] > 0 for r in completeness), "users clicked vip links on the content side"
    assert {r[4] for r in completeness} <= {"ok", "insufficient_data"}
    assert brand_rows[0] > 0 and 0 < brand_rows[1] < brand_rows[2], "estimated vip GMV corrects for 50 % sampling"
