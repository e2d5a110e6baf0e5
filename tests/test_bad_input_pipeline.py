"""Bad input end to end (issue 15, items 1, 2, 5, 6, 10, 12): `redcat run` over tiny generated worlds
with hand-made faults, through Dagster and dbt on real files and a real warehouse."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import settings_for

from orchestration.runner import run
from redcat.generate import Faults, GeneratorOptions, Scale, generate

START = dt.date(2024, 7, 8)
DAYS = 3
DAY = [START + dt.timedelta(days=i) for i in range(DAYS)]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """Three delivery days with re-delivered events (5 %), so deliveries share keys."""
    out = tmp_path_factory.mktemp("bad_pipeline") / "landing"
    generate(
        GeneratorOptions(start=START, days=DAYS, seed=5, scale=Scale.factor(0.01), faults=Faults(duplicate_share=0.05)),
        out,
    )
    return out


def _rewrite(directory: Path, name: str, lines: list[bytes]) -> None:
    """Replace a delivered file and update its manifest entry (a consistent delivery)."""
    data = b"".join(line + b"\n" for line in lines)
    path = directory / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    manifest = json.loads((directory / "_manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["name"] == name:
            entry["rows"], entry["sha256"] = len(lines), hashlib.sha256(path.read_bytes()).hexdigest()
    (directory / "_manifest.json").write_text(json.dumps(manifest))


def _callback_lines(directory: Path) -> list[bytes]:
    return gzip.decompress((directory / "callbacks.jsonl.gz").read_bytes()).splitlines()


def _explain(outcome) -> str:
    return "; ".join([c.description for c in outcome.failed_checks] + outcome.step_failures)


def _marts(settings) -> dict[str, list]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1"
            ).fetchall()
        ]
        out = {}
        for t in tables:
            cols = [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' AND table_name = ? "
                    "ORDER BY ordinal_position",
                    [t],
                ).fetchall()
                if not any(w in r[0] for w in ("run_id", "_at", "built"))
            ]
            select = ", ".join(f'"{c}"' for c in cols)
            rows = con.execute(f'SELECT {select} FROM marts."{t}" ORDER BY ALL').fetchall()
            out[t] = [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows]
    return out


def _ledger_balances(settings) -> None:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        bad = con.execute("""SELECT source, table_name, delivery_date FROM ops.load_ledger_current
                             WHERE status = 'loaded' AND rows_loaded + rows_quarantined + rows_duplicate <> rows_declared""").fetchall()
    assert not bad, f"ledger does not balance for {bad}"


def test_bad_rows_are_quarantined_and_the_run_passes(world, tmp_path):
    """Items 1, 5, 6, 12: a callback re-delivered with a new time, one dated 2019, a purchase of 1e15 CNY,
    all in one partner dump, under paths containing a quote: every blocking check passes, marts are built."""
    home = tmp_path / "it's a home"
    landing = home / "landing"
    shutil.copytree(world, landing)
    day1 = landing / f"dt={DAY[0]}" / "partner=taobao"
    day2 = landing / f"dt={DAY[1]}" / "partner=taobao"
    first = json.loads(_callback_lines(day1)[0])
    moved = first | {"event_time": f"{DAY[1]}T09:30:00.000+08:00"}
    purchase = json.loads(next(line for line in _callback_lines(day2) if b'"purchase"' in line))
    old = purchase | {"callback_id": "cb-2019", "order_id": "o-2019", "event_time": "2019-03-01T10:00:00.000+08:00"}
    huge = purchase | {"callback_id": "cb-huge", "order_id": "o-huge", "gmv_cny": 1e15}
    lines = _callback_lines(day2) + [json.dumps(x).encode() for x in (moved, old, huge)]
    _rewrite(day2, "callbacks.jsonl.gz", lines)
    settings = settings_for(landing, home / "w'h")
    outcome = run(settings, DAY[0], DAY[-1])
    assert outcome.exit_code == 0, _explain(outcome)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        reasons = dict(
            con.execute(
                "SELECT reason, count(*) FROM ops.quarantine WHERE delivery_date = ? AND source = 'taobao' GROUP BY 1",
                [DAY[1]],
            ).fetchall()
        )
        copies = con.execute(
            "SELECT count(*) FROM staging.stg_partners__callbacks WHERE callback_id = ?", [first["callback_id"]]
        ).fetchone()[0]
        marts = con.execute("SELECT count(*) FROM marts.mart_brand_daily").fetchone()[0]
    assert reasons == {"outside_programme": 1, "implausible_amount": 1}
    assert copies == 1, "first delivery wins whatever the new copy's event_time"
    assert marts > 0
    _ledger_balances(settings)


def test_backfill_in_any_order_equals_the_range_run(world, tmp_path):
    """Item 2: days 2..3 built first, then day 1 (whose deliveries share keys with day 2): the run
    re-runs the later dates it invalidates, and the marts equal those of one range run."""
    reference = settings_for(world, tmp_path / "range")
    outcome = run(reference, DAY[0], DAY[-1])
    assert outcome.exit_code == 0, _explain(outcome)

    backfilled = settings_for(world, tmp_path / "backfill")
    outcome = run(backfilled, DAY[1], DAY[-1])
    assert outcome.exit_code == 0, _explain(outcome)
    outcome = run(backfilled, DAY[0], DAY[0])
    assert outcome.exit_code == 0, _explain(outcome)
    assert DAY[1] in outcome.rerun_dates, "day 1's deliveries win keys that day 2 held"
    assert (outcome.start, outcome.end) == (DAY[0], max(outcome.rerun_dates))
    assert _marts(backfilled) == _marts(reference)
    _ledger_balances(backfilled)


def test_unreadable_manifest_is_named_without_a_traceback(world, tmp_path):
    """Item 10: a manifest that is a directory: exit 1 (a blocking check), naming the file and what to do."""
    landing = tmp_path / "landing"
    shutil.copytree(world / f"dt={DAY[0]}", landing / f"dt={DAY[0]}")
    manifest = landing / f"dt={DAY[0]}" / "content" / "_manifest.json"
    manifest.unlink()
    manifest.mkdir()
    env = {**os.environ, "REDCAT_WAREHOUSE": str(tmp_path / "wh" / "warehouse.duckdb")}
    env.pop("DAGSTER_HOME", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration.cli",
            "run",
            "--from",
            str(DAY[0]),
            "--to",
            str(DAY[0]),
            "--landing",
            str(landing),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    text = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1, text
    assert "Traceback" not in text and "is a directory" in text and "_manifest.json" in text
