"""BI serving: a reader never blocks a run or sees half a publication; exports equal the marts."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import START, settings_for
from warehouse import CONTRACT, mart_snapshot

from orchestration.runner import run
from redcat.serving import TABLES, WHOLE_TABLES, current_manifest, publish

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
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.serving)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
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
    published = [t for t in CONTRACT if t != "fct_attribution"]  # row level: not served
    served = mart_snapshot(settings.with_(warehouse=settings.serving), tables=published)
    assert served == mart_snapshot(settings, tables=published)
    with (
        duckdb.connect(str(settings.serving), read_only=True) as sv,
        duckdb.connect(str(settings.warehouse), read_only=True) as wh,
    ):
        for schema, table in TABLES:
            assert (
                sv.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()
                == wh.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()
            ), f"{schema}.{table}"
    manifest = current_manifest(settings)
    for _key, files in manifest["files"].items():
        for rel in files.values():
            assert (settings.export_dir / rel).exists(), rel
    dated = sorted(p.name for p in (settings.export_dir / "marts" / "mart_brand_daily").glob("*.parquet"))
    assert "_schema.parquet" in dated and len(dated) == 1 + 16 and dated[0] == f"{START}.parquet"
    # row-level data stays in the working warehouse
    assert not (settings.export_dir / "marts" / "fct_attribution").exists()
    with duckdb.connect(str(settings.serving), read_only=True) as sv:
        served = {r[0] for r in sv.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "fct_attribution" not in served and "mart_brand_daily" in served


def test_every_reader_opens_the_export_folder_as_it_is(clean_built):
    """pandas, pyarrow, polars and DuckDB (with hive partitioning on) read exactly the current
    publication from `<export>/<schema>/<table>`: the serving file's row counts, dates as dates,
    counts as integers, even after further publications left older folders behind."""
    import pandas as pd
    import pyarrow.dataset as ds

    built, _ = clean_built
    settings = _copy_of(built)
    for _ in range(2):
        publish(settings)  # two more publications: older folders exist beside the current one
    with duckdb.connect(str(settings.serving), read_only=True) as sv:
        served = {key: sv.execute(f"SELECT count(*) FROM {key}").fetchone()[0] for key in _published_keys()}
    assert served["marts.mart_brand_daily"] > 0
    for key, rows in served.items():
        folder = settings.export_dir / key.replace(".", "/")
        frame = pd.read_parquet(folder)
        assert len(frame) == rows, key
        assert ds.dataset(folder).to_table().num_rows == rows, key
        (got,) = (
            duckdb.connect()
            .sql(f"SELECT count(*) FROM read_parquet('{folder}/*.parquet', hive_partitioning = true)")
            .fetchall()[0]
        )
        assert got == rows, key
        try:
            import polars as pl
        except ImportError:  # polars is not a dependency; the other three are
            pl = None
        if pl is not None:
            assert pl.scan_parquet(folder).select(pl.len()).collect().item() == rows, key
    brand = pd.read_parquet(settings.export_dir / "bi" / "mart_brand_daily")
    assert isinstance(brand["report_date"].iloc[0], dt.date)
    assert str(brand["reads"].dtype) == "int64" and str(brand["purchases_observed"].dtype) == "int64"
    types = {
        r[0]: r[1]
        for r in duckdb.connect()
        .sql(
            f"DESCRIBE SELECT * FROM read_parquet('{settings.export_dir}/bi/"
            "mart_brand_daily/*.parquet', hive_partitioning = true)"
        )
        .fetchall()
    }
    assert types["report_date"] == "DATE"


def test_a_copied_serving_file_and_export_folder_still_read(clean_built, tmp_path):
    """The serving file holds its rows (no paths), the export folder's links are relative: both
    copied elsewhere (a container mount, another machine) read the same."""
    built, _ = clean_built
    settings = _copy_of(built)
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.copy(settings.serving, moved / "serving.duckdb")
    shutil.copytree(settings.export_dir, moved / "export", symlinks=True)
    shutil.rmtree(settings.export_dir)
    settings.serving.unlink()
    with duckdb.connect(str(moved / "serving.duckdb"), read_only=True) as con:
        for key, rows in json.loads(con.execute("SELECT tables FROM _redcat.publication").fetchone()[0]).items():
            assert con.execute(f"SELECT count(*) FROM {key}").fetchone()[0] == rows, key
            if key != "bi.completeness_history":
                (got,) = (
                    duckdb.connect()
                    .sql(f"SELECT count(*) FROM read_parquet('{moved}/export/{key.replace('.', '/')}/*.parquet')")
                    .fetchall()[0]
                )
                assert got == rows, key


def test_a_superseded_publication_stays_readable_for_the_retention_period(clean_built, monkeypatch):
    """A reader of an older publication keeps its files for REDCAT_EXPORT_RETENTION_DAYS (default 7)
    after it was superseded, however many publications follow; then they are deleted."""
    built, _ = clean_built
    settings = _copy_of(built, published=False)
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    first = publish(settings, all_dates=True, now=t0)
    held = settings.export_dir / first.folder / "bi" / "mart_brand_daily"
    for hours in (1, 2, 3, 4):  # four newer publications within a day
        publish(settings, now=t0 + dt.timedelta(hours=hours))
    assert held.is_dir() and len(list(held.glob("*.parquet"))) > 1, "kept: superseded less than 7 days ago"
    publish(settings, now=t0 + dt.timedelta(days=7, hours=2))
    assert not held.exists(), "deleted once superseded for more than 7 days"
    monkeypatch.setenv("REDCAT_EXPORT_RETENTION_DAYS", "0")
    last = publish(settings, now=t0 + dt.timedelta(days=8))
    assert [p.name for p in (settings.export_dir / "publications").iterdir()] == [last.id], "the current one stays"
    assert _consistent(settings) == last.id


def _published_keys() -> list[str]:
    return [f"{s}.{t}" for s, t in TABLES] + [f"{s}.{t}" for (s, t), _order in WHOLE_TABLES.values()]


def _copy_of(built, published: bool = True):
    """A private warehouse copy to publish from (the session's warehouse stays as it is)."""
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="pub-", dir=built.warehouse.parent.parent))
    shutil.copy(built.warehouse, home / "warehouse.duckdb")
    settings = built.with_(
        warehouse=home / "warehouse.duckdb", serving=home / "serving.duckdb", export_dir=home / "export"
    )
    if published:
        publish(settings, all_dates=True)
    return settings


def _consistent(settings) -> str:
    """The serving file opens, names one publication, and every view has the rows it recorded."""
    with duckdb.connect(str(settings.serving), read_only=True) as con:
        pub_id, tables = con.execute("SELECT id, tables FROM _redcat.publication").fetchone()
        for key, rows in json.loads(tables).items():
            assert con.execute(f"SELECT count(*) FROM {key}").fetchone()[0] == rows, key
    return pub_id


PUBLISH = r"""
import os, signal, sys
from redcat.config import Settings
from redcat.serving import publish
# A crash at a chosen step, not after a chosen time: the process kills itself just before its
# kill_at-th file swap (os.replace), so every run crashes at the same point however loaded the machine.
kill_at, swaps, real_replace = int(sys.argv[6]), 0, os.replace
def replace(src, dst):
    global swaps
    swaps += 1
    if swaps == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)
os.replace = replace
s = Settings.from_env(landing_dir=sys.argv[1], warehouse=sys.argv[2], raw_dir=sys.argv[3], serving=sys.argv[4], export_dir=sys.argv[5])
publish(s, all_dates=True)
print(swaps)
"""


def _current_export_is_whole(settings) -> None:
    """`<export>/current` (what the schema links read through) and `current.json` (what a script
    reads) each name a complete publication folder: every table has the rows its manifest says.
    A crash between the two swaps leaves current.json one publication behind, never on a torn one."""
    import pyarrow.dataset as ds

    export = settings.export_dir
    linked = (export / "current").resolve()
    pointed = (export / json.loads((export / "current.json").read_text())["folder"]).resolve()
    for folder in {linked, pointed}:
        assert folder.parent.name == "publications" and not folder.name.startswith(".building")
        recorded = json.loads((export / "_publications" / f"{folder.name}.json").read_text())["rows"]
        for key, rows in recorded.items():
            assert ds.dataset(folder / key.replace(".", "/")).count_rows() == rows, (folder, key)


@pytest.mark.slow
def test_a_publication_killed_midway_leaves_the_previous_one_intact(clean_built, tmp_path):
    built, _ = clean_built
    settings = built.with_(serving=tmp_path / "serving.duckdb", export_dir=tmp_path / "export")
    args = [
        sys.executable,
        "-c",
        PUBLISH,
        str(settings.landing_dir),
        str(settings.warehouse),
        str(settings.raw_dir),
        str(settings.serving),
        str(settings.export_dir),
    ]
    done = subprocess.run([*args, "0"], check=True, capture_output=True, text=True)
    swaps = int(done.stdout.split()[-1])
    assert swaps > 5, "a publication swaps its day files, its folder, the serving file and its pointers"
    published = [_consistent(settings)]
    # crashes at the first swap, mid-way through the day files, and at each of the last steps
    for kill_at in sorted({1, swaps // 2, swaps - 3, swaps - 2, swaps - 1, swaps}):
        crashed = subprocess.run([*args, str(kill_at)])
        assert crashed.returncode == -signal.SIGKILL, f"the publication was to crash at swap {kill_at}"
        pub_id = _consistent(settings)  # the old publication or a complete new one, never a mix
        assert pub_id == published[-1] or pub_id not in published
        _current_export_is_whole(settings)
        published.append(pub_id)
    subprocess.run([*args, "0"], check=True, capture_output=True)
    assert _consistent(settings) not in published
    _current_export_is_whole(settings)
    assert not list(settings.serving.parent.glob("serving.duckdb.tmp-*"))
    assert not list((settings.export_dir / "publications").glob(".building-*"))


def test_an_added_mart_column_reaches_every_date_after_republish(clean_built, monkeypatch):
    """An analyst adds a column to a mart (dbt build --full-refresh --select the mart): the next
    publication rebuilds the serving table (its columns changed), and `redcat republish` fills the
    column on every date, in the serving file and in the Parquet folder."""
    import pandas as pd
    from click.testing import CliRunner

    from redcat.cli import main

    built, _ = clean_built
    settings = _copy_of(built)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("ALTER TABLE marts.mart_brand_daily ADD COLUMN analyst_flag INTEGER DEFAULT 1")
    publish(settings)
    with duckdb.connect(str(settings.serving), read_only=True) as con:
        assert "analyst_flag" in [r[0] for r in con.execute("DESCRIBE marts.mart_brand_daily").fetchall()]
    monkeypatch.setenv("REDCAT_SERVING", str(settings.serving))
    monkeypatch.setenv("REDCAT_EXPORT_DIR", str(settings.export_dir))
    result = CliRunner().invoke(main, ["republish", "--warehouse", str(settings.warehouse)])
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(settings.serving), read_only=True) as con:
        rows, filled, dates = con.execute(
            "SELECT count(*), count(analyst_flag), count(DISTINCT report_date) FROM marts.mart_brand_daily"
        ).fetchone()
    assert rows == filled > 0 and dates == len(current_manifest(settings)["dates_exported"])
    frame = pd.read_parquet(settings.export_dir / "marts" / "mart_brand_daily")
    assert len(frame) == rows and frame["analyst_flag"].notna().all()


def test_weekly_and_monthly_brand_totals_are_published_whole(clean_built):
    """mart_brand_period has no report date and a week's interval depends on all its days, so it is
    published whole: every row of marts. and bi.mart_brand_period in the serving file and the
    export, and a change to a week outside the run's report dates still reaches the next publication."""
    import pandas as pd

    from orchestration.serving import publication

    built, _ = clean_built
    assert {
        dg_key.path[-1] for dg_key in publication.asset_deps[publication.key] if dg_key.path[0] in ("marts", "bi")
    } >= {"mart_brand_period"}, "the publication waits for the period mart"
    settings = _copy_of(built)
    cols = (
        "period_grain, period_start, brand_id, partner, attribution_model, gmv_estimated_ci_low, gmv_estimated_ci_high"
    )
    with (
        duckdb.connect(str(settings.serving), read_only=True) as sv,
        duckdb.connect(str(settings.warehouse), read_only=True) as wh,
    ):
        for schema in ("marts", "bi"):
            served = sorted(sv.execute(f"SELECT {cols} FROM {schema}.mart_brand_period").fetchall(), key=repr)
            assert served == sorted(wh.execute(f"SELECT {cols} FROM {schema}.mart_brand_period").fetchall(), key=repr)
            assert {r[0] for r in served} == {"week", "month"}, schema
    frame = pd.read_parquet(settings.export_dir / "marts" / "mart_brand_period" / "data.parquet")
    with duckdb.connect(str(settings.warehouse)) as con:
        assert len(frame) == con.execute("SELECT count(*) FROM marts.mart_brand_period").fetchone()[0]
        first_week = con.execute(
            "SELECT min(period_start) FROM marts.mart_brand_period WHERE period_grain = 'week'"
        ).fetchone()[0]
        # the week restated (as a late purchase would restate it); the run's report dates do not name it
        con.execute(
            "UPDATE marts.mart_brand_period SET gmv_estimated_ci_high = gmv_estimated_ci_high + 1 "
            "WHERE period_grain = 'week' AND period_start = ?",
            [first_week],
        )
        expected = con.execute(
            "SELECT sum(gmv_estimated_ci_high) FROM marts.mart_brand_period "
            "WHERE period_grain = 'week' AND period_start = ?",
            [first_week],
        ).fetchone()[0]
    publish(settings)
    with duckdb.connect(str(settings.serving), read_only=True) as sv:
        got = sv.execute(
            "SELECT sum(gmv_estimated_ci_high) FROM marts.mart_brand_period "
            "WHERE period_grain = 'week' AND period_start = ?",
            [first_week],
        ).fetchone()[0]
    assert got == pytest.approx(expected)


def test_republishing_replaced_dates_does_not_grow_the_serving_file(clean_built):
    """Every publication writes the serving file anew: the rows of replaced dates leave no free
    blocks behind, so re-publishing the same dates again and again keeps it the same size."""
    built, _ = clean_built
    settings = _copy_of(built)  # published once, every date

    def blocks() -> tuple[int, int]:
        with duckdb.connect(str(settings.serving), read_only=True) as con:
            return con.execute("SELECT total_blocks, free_blocks FROM pragma_database_size()").fetchone()

    first = blocks()
    for _ in range(3):  # every date replaced each time
        publish(settings, all_dates=True)
        _consistent(settings)
    total, free = blocks()
    assert free == 0, f"{free} free blocks: replaced rows left dead space in the serving file"
    assert total <= first[0], f"the serving file grew from {first[0]} to {total} blocks"
    assert mart_snapshot(
        settings.with_(warehouse=settings.serving), tables=["mart_brand_daily", "mart_note_daily"]
    ) == (mart_snapshot(settings, tables=["mart_brand_daily", "mart_note_daily"]))
