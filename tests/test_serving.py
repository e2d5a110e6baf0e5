"""BI serving: a reader never blocks a run or sees half a publication; exports equal the marts."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest
from warehouse import mart_snapshot

from conftest import START, settings_for
from redcat.runner import run
from redcat.serving import TABLES, current_manifest

READER = r"""
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
def show():
    pub = con.execute("SELECT id FROM _redcat.publication").fetchone()[0]
    n = con.execute("SELECT count(*) FROM bi.mart_brand_daily").fetchone()[0]
    print(pub, n, flush=True)
show()
sys.stdin.readline()   # hold the connection while the test runs the pipeline
show()
"""


def test_a_reader_holding_the_serving_file_never_blocks_a_run(clean_landing, tmp_path):
    settings = settings_for(clean_landing, tmp_path / "wh")
    assert run(settings, START, START + dt.timedelta(days=2)).exit_code == 0
    reader = subprocess.Popen([sys.executable, "-c", READER, str(settings.serving)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    before_id, before_rows = reader.stdout.readline().split()
    outcome = run(settings, START + dt.timedelta(days=3), START + dt.timedelta(days=4))
    assert outcome.exit_code == 0, "the run is not blocked by a BI connection"
    reader.stdin.write("\n")
    reader.stdin.flush()
    still_id, still_rows = reader.stdout.readline().split()
    reader.wait(timeout=30)
    assert (still_id, still_rows) == (before_id, before_rows), "an open connection keeps its publication"
    with duckdb.connect(str(settings.serving), read_only=True) as con:  # reconnect
        new_id = con.execute("SELECT id FROM _redcat.publication").fetchone()[0]
        new_rows = con.execute("SELECT count(*) FROM bi.mart_brand_daily").fetchone()[0]
    assert new_id != before_id and new_rows > int(before_rows)


def test_exports_equal_the_marts(clean_built):
    settings, _ = clean_built
    served = mart_snapshot(settings.with_(warehouse=settings.serving))
    assert served == mart_snapshot(settings)
    with duckdb.connect(str(settings.serving), read_only=True) as sv, duckdb.connect(str(settings.warehouse), read_only=True) as wh:
        for schema, table in TABLES:
            assert sv.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone() == \
                wh.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone(), f"{schema}.{table}"
    manifest = current_manifest(settings)
    for key, files in manifest["files"].items():
        for rel in files.values():
            assert (settings.export_dir / rel).exists(), rel
    partitions = sorted(p.name for p in (settings.export_dir / "marts" / "mart_brand_daily").iterdir() if p.is_dir())
    assert partitions[0].startswith("report_date=") and len(partitions) == 16
    # row-level data stays in the working warehouse
    assert not (settings.export_dir / "marts" / "fct_attribution").exists()
    with duckdb.connect(str(settings.serving), read_only=True) as sv:
        served = {r[0] for r in sv.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "fct_attribution" not in served and "mart_brand_daily" in served


def _consistent(settings) -> str:
    """The serving file opens, names one publication, and every view has the rows it recorded."""
    with duckdb.connect(str(settings.serving), read_only=True) as con:
        pub_id, tables = con.execute("SELECT id, tables FROM _redcat.publication").fetchone()
        for key, rows in json.loads(tables).items():
            assert con.execute(f"SELECT count(*) FROM {key}").fetchone()[0] == rows, key
    return pub_id


PUBLISH = r"""
import sys
from redcat.config import Settings
from redcat.serving import publish
s = Settings.from_env(landing_dir=sys.argv[1], warehouse=sys.argv[2], raw_dir=sys.argv[3], serving=sys.argv[4], export_dir=sys.argv[5])
publish(s, all_dates=True)
"""


@pytest.mark.slow
def test_a_publication_killed_midway_leaves_the_previous_one_intact(clean_built, tmp_path):
    built, _ = clean_built
    settings = built.with_(serving=tmp_path / "serving.duckdb", export_dir=tmp_path / "export")
    args = [sys.executable, "-c", PUBLISH, str(settings.landing_dir), str(settings.warehouse), str(settings.raw_dir),
            str(settings.serving), str(settings.export_dir)]
    subprocess.run(args, check=True)
    published = [_consistent(settings)]
    interrupted = 0
    for delay in (0.5, 1.5, 3.0, 5.0):
        proc = subprocess.Popen(args)
        time.sleep(delay)
        interrupted += proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        pub_id = _consistent(settings)  # the old publication or a complete new one, never a mix
        assert pub_id == published[-1] or pub_id not in published
        published.append(pub_id)
    assert interrupted >= 2
    subprocess.run(args, check=True)
    assert _consistent(settings) not in published
    assert not list(settings.serving.parent.glob("serving.duckdb.tmp-*"))
