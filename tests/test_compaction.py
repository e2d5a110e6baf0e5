"""Compaction: a warehouse with dead space is rewritten with its live rows only, every mart and
view the same, and a crash midway leaves the original untouched."""

from __future__ import annotations

import shutil
import subprocess
import sys

import duckdb
import pytest
from warehouse import mart_snapshot

from redcat.compaction import blocks, compact, free_share_threshold
from redcat.config import SettingProblem


def _with_dead_space(built, tmp_path):
    """A copy of the built warehouse whose biggest tables were rewritten in place (deleted and
    inserted again, as a replaced date is): the same rows, the old blocks free inside the file."""
    settings = built.with_(warehouse=tmp_path / "warehouse.duckdb")
    shutil.copyfile(built.warehouse, settings.warehouse)
    with duckdb.connect(str(settings.warehouse)) as con:
        for table in (
            "intermediate.int_attribution_credits",
            "intermediate.int_attribution_paths",
            "intermediate.int_touchpoints",
        ):
            con.execute(f"CREATE TEMP TABLE keep AS SELECT * FROM {table}")
            con.execute(f"DELETE FROM {table}")
            con.execute(f"INSERT INTO {table} SELECT * FROM keep")
            con.execute("DROP TABLE keep")
            con.execute("CHECKPOINT")
        dead = blocks(con)
    assert dead.free_share > 0.15, dead
    return settings


def test_compaction_keeps_every_row_and_returns_the_free_blocks(clean_built, tmp_path):
    built, _ = clean_built
    settings = _with_dead_space(built, tmp_path)
    before = mart_snapshot(settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        views = {
            v: con.execute(f"SELECT count(*) FROM {v}").fetchone()[0]
            for v in ("marts.fct_attribution", "bi.mart_brand_daily")
        }
    result = compact(settings.warehouse, threshold=0.1)
    assert result.compacted and result.bytes_after < 0.85 * result.bytes_before, result.reason
    assert mart_snapshot(settings) == before
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert blocks(con).free_share < 0.05
        assert {v: con.execute(f"SELECT count(*) FROM {v}").fetchone()[0] for v in views} == views
    again = compact(settings.warehouse, threshold=0.1)  # nothing left to gain
    assert not again.compacted and "compacting above 10%" in again.reason
    assert not list(tmp_path.glob("warehouse.duckdb.compact-*"))


CRASH = r"""
import os, signal, sys
from redcat import compaction
real_replace = os.replace
def crash(src, dst):
    os.kill(os.getpid(), signal.SIGKILL)  # killed after the copy, before the swap
compaction.os.replace = crash
compaction.compact(sys.argv[1], threshold=0.0)
"""


def test_a_compaction_killed_before_its_swap_leaves_the_original(clean_built, tmp_path):
    built, _ = clean_built
    settings = _with_dead_space(built, tmp_path)
    before = mart_snapshot(settings)
    killed = subprocess.run([sys.executable, "-c", CRASH, str(settings.warehouse)])
    assert killed.returncode < 0
    assert list(tmp_path.glob("warehouse.duckdb.compact-*")), "the half-done copy is left behind"
    assert mart_snapshot(settings) == before
    assert compact(settings.warehouse, threshold=0.1).compacted
    assert not list(tmp_path.glob("warehouse.duckdb.compact-*")), "the next compaction removes it"
    assert mart_snapshot(settings) == before


def test_redcat_compact_compacts_and_says_so(clean_built, tmp_path):
    from click.testing import CliRunner

    from redcat.cli import main

    built, _ = clean_built
    settings = _with_dead_space(built, tmp_path)
    result = CliRunner().invoke(main, ["compact", "--warehouse", str(settings.warehouse)])
    assert result.exit_code == 0 and "Compacted:" in result.output and "MiB ->" in result.output, result.output
    missing = CliRunner().invoke(main, ["compact", "--warehouse", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2 and "no warehouse at" in missing.output


def test_the_threshold_setting_is_checked(monkeypatch):
    monkeypatch.setenv("REDCAT_COMPACT_FREE_SHARE", "off")
    assert free_share_threshold() is None
    monkeypatch.setenv("REDCAT_COMPACT_FREE_SHARE", "0.4")
    assert free_share_threshold() == 0.4
    monkeypatch.setenv("REDCAT_COMPACT_FREE_SHARE", "40%")
    with pytest.raises(SettingProblem, match="REDCAT_COMPACT_FREE_SHARE='40%' is not a share"):
        free_share_threshold()
