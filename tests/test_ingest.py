"""Ingestion on real files and a real warehouse: quarantine, manifests, dedup, late data, crashes."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import START, settings_for, small_options
from landing_reader import faults, jsonl_lines
from tiny_landing import event, jsonl, write_delivery

from redcat import contract
from redcat.generate import generate
from redcat.ingest import rawstore
from redcat.ingest.loader import Loader

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def wh(settings) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(settings.warehouse), read_only=True)


def raw(con, settings, source: str, table: str) -> str:
    return f"read_parquet('{rawstore.table_glob(settings.raw_dir, source, table)}', union_by_name=true)"


def checks(outcome, name: str):
    return [c for c in outcome.checks if c.name == name]


def rejected_files(settings) -> set[str]:
    with wh(settings) as con:
        return {
            r[0] for r in con.execute("SELECT file FROM ops.load_ledger_current WHERE status = 'rejected'").fetchall()
        }


def test_each_malformed_kind_is_quarantined_with_its_reason(faulty_ingested, faulty_landing):
    settings, _ = faulty_ingested
    rejected = rejected_files(settings)
    expected = {
        (f["file"], f["line"], f["reason"])
        for f in faults(faulty_landing)
        if f["kind"] == "malformed_line" and f["file"] not in rejected
    }
    with wh(settings) as con:
        got = set(con.execute("SELECT file, line_number, reason FROM ops.quarantine").fetchall())
        details = con.execute("SELECT reason, detail, raw_text FROM ops.quarantine").fetchall()
    assert got == expected
    assert {r for _, _, r in got} == set(contract.REASONS)
    for _reason, detail, raw_text in details:
        assert detail and raw_text, "every quarantined line keeps its text and a readable detail"


def test_good_lines_of_a_file_with_bad_lines_all_load(faulty_ingested, faulty_landing):
    settings, _ = faulty_ingested
    rejected = rejected_files(settings)
    bad = {(f["file"], f["line"]) for f in faults(faulty_landing) if f["kind"] == "malformed_line"}
    seen, expected = set(), set()
    for path in sorted(faulty_landing.glob("dt=*/content/note_events.jsonl.gz")):
        rel = str(path.relative_to(faulty_landing))
        if rel in rejected:
            continue
        for i, line in enumerate(jsonl_lines(path), start=1):
            if (rel, i) in bad:
                continue
            eid = json.loads(line)["event_id"]
            if eid not in seen:  # first delivery wins
                seen.add(eid)
                expected.add((eid, rel, i))
    with wh(settings) as con:
        got = set(
            con.execute(
                f"SELECT event_id, source_file, source_line FROM {raw(con, settings, 'content', 'note_events')}"
            ).fetchall()
        )
    assert got == expected


def test_ledger_balances_for_every_loaded_file(faulty_ingested):
    settings, outcome = faulty_ingested
    with wh(settings) as con:
        rows = con.execute(
            "SELECT rows_declared, rows_loaded, rows_quarantined, rows_duplicate, file "
            "FROM ops.load_ledger_current WHERE status = 'loaded'"
        ).fetchall()
    assert len(rows) > 40
    for declared, loaded, quarantined, dup, file in rows:
        assert loaded + quarantined + dup == declared, file
    assert all(c.passed for c in checks(outcome, "ledger_balance"))


def test_truncated_files_fail_loudly_and_load_nothing(faulty_ingested, faulty_landing):
    settings, outcome = faulty_ingested
    truncated = [f for f in faults(faulty_landing) if f["kind"] == "truncated_file"]
    assert len(truncated) == 2
    failed = {c.asset: c for c in checks(outcome, "manifest_control_totals") if not c.passed}
    with wh(settings) as con:
        for f in truncated:
            table = "note_events" if f["source"] == "content" else "callbacks"
            status, message = con.execute(
                "SELECT status, message FROM ops.load_ledger_current WHERE file = ?", [f["file"]]
            ).fetchone()
            assert status == "rejected"
            assert "sha256" in message and "re-deliver" in message and f["file"] in message
            assert not Path(rawstore.data_path(settings.raw_dir, f["source"], table, f["delivery_date"])).exists()
            check = failed[f"{f['source']}/{table}"]
            assert check.severity == "ERROR" and f"dt={f['delivery_date']}" in check.description
    assert outcome.exit_code == 1


def test_wrong_sha256_is_named_with_expected_and_actual(tmp_path, clean_landing):
    landing = tmp_path / "landing"
    shutil.copytree(clean_landing / "dt=2024-06-24", landing / "dt=2024-06-24")
    mpath = landing / "dt=2024-06-24" / "partner=taobao" / "_manifest.json"
    m = json.loads(mpath.read_text())
    actual = m["files"][0]["sha256"]
    m["files"][0]["sha256"] = "0" * 64
    mpath.write_text(json.dumps(m))
    settings = settings_for(landing, tmp_path / "wh")
    with Loader(settings) as loader:
        res = loader.load(contract.CALLBACKS["taobao"], dt.date(2024, 6, 24))
    assert (res.status, res.rejected_by) == ("rejected", "manifest")
    assert actual in res.message and "0" * 64 in res.message and "callbacks.jsonl.gz" in res.message
    assert res.rows_loaded == 0
    assert not list((tmp_path / "wh" / "raw").rglob("data.parquet"))


def test_row_count_mismatch_loads_nothing(tmp_path):
    landing = tmp_path / "landing"
    write_delivery(
        landing,
        "2024-07-15",
        "content",
        {"note_events.jsonl": jsonl([event(1), event(2)])},
        rows={"note_events.jsonl": 3},
    )
    with Loader(settings_for(landing, tmp_path / "wh")) as loader:
        res = loader.load(contract.NOTE_EVENTS, dt.date(2024, 7, 15))
    assert res.status == "rejected" and "2 lines but _manifest.json declares 3" in res.message


def test_manifest_ratio_that_disagrees_with_policy_fails(faulty_ingested, faulty_landing):
    settings, outcome = faulty_ingested
    (fault,) = [f for f in faults(faulty_landing) if f["kind"] == "manifest_ratio_mismatch"]
    (check,) = [c for c in checks(outcome, "sampling_ratio_matches_policy") if c.asset == "taobao/callbacks"]
    assert not check.passed and check.severity == "ERROR"
    assert f"dt={fault['delivery_date']}" in check.description and "0.5" in check.description
    with wh(settings) as con:
        status = con.execute(
            "SELECT status FROM ops.load_ledger_current WHERE source = 'taobao' AND delivery_date = ?",
            [fault["delivery_date"]],
        ).fetchone()[0]
    assert status == "rejected"


def test_missing_partner_dump_is_no_delivery(faulty_ingested, faulty_landing):
    settings, outcome = faulty_ingested
    (drop,) = [f for f in faults(faulty_landing) if f["kind"] == "no_delivery"]
    with wh(settings) as con:
        status = con.execute(
            "SELECT status FROM ops.load_ledger_current WHERE source = 'taobao' "
            "AND table_name = 'callbacks' AND delivery_date = ?",
            [drop["delivery_date"]],
        ).fetchone()[0]
        delivery = con.execute(
            f"SELECT status FROM read_parquet('{rawstore.data_path(settings.raw_dir, 'taobao', 'deliveries', drop['delivery_date'])}')"
        ).fetchall()
    assert status == "no_delivery" and delivery == [("no_delivery",)]
    (arrived,) = [c for c in checks(outcome, "delivery_arrived") if c.asset == "taobao/callbacks"]
    assert not arrived.passed and arrived.severity == "WARN" and drop["delivery_date"] in arrived.description


def test_duplicates_are_kept_once(faulty_ingested):
    settings, _ = faulty_ingested
    with wh(settings) as con:
        for source, table, key in (("content", "note_events", "event_id"), ("taobao", "callbacks", "callback_id")):
            n, distinct = con.execute(
                f"SELECT count(*), count(DISTINCT {key}) FROM {raw(con, settings, source, table)}"
            ).fetchone()
            assert n == distinct > 0
        dups = con.execute(
            "SELECT sum(rows_duplicate) FROM ops.load_ledger_current WHERE table_name = 'note_events'"
        ).fetchone()[0]
    assert dups > 1000


def test_late_events_keep_their_own_time_and_date(faulty_ingested, faulty_landing):
    settings, _ = faulty_ingested
    with wh(settings) as con:
        late = con.execute(
            f"""SELECT event_id, event_time, delivery_date, source_file, source_line FROM {raw(con, settings, "content", "note_events")}
                WHERE CAST(timezone('Asia/Shanghai', event_time) AS DATE) < delivery_date ORDER BY event_id LIMIT 200"""
        ).fetchall()
    assert len(late) == 200
    cache = {}
    for event_id, event_time, delivery, file, line in late:
        lines = cache.setdefault(file, jsonl_lines(faulty_landing / file))
        rec = json.loads(lines[line - 1])
        assert rec["event_id"] == event_id
        assert dt.datetime.fromisoformat(rec["event_time"]) == event_time
        assert event_time.astimezone(SHANGHAI).date() < delivery


def test_rerun_of_a_partition_gives_identical_raw_data(tmp_path, faulty_landing):
    settings = settings_for(faulty_landing, tmp_path / "wh")
    day = dt.date(2024, 6, 30)  # has duplicates, late events and malformed lines

    def snapshot():
        with wh(settings) as con:
            out = {}
            for t in contract.CONTENT_TABLES:
                path = rawstore.data_path(settings.raw_dir, t.source, t.table, day)
                out[t.table] = con.execute(f"SELECT * FROM read_parquet('{path}') ORDER BY ALL").fetchall()
            out["quarantine"] = con.execute("SELECT * EXCLUDE (load_id) FROM ops.quarantine ORDER BY ALL").fetchall()
            return out

    with Loader(settings) as loader:
        for d in (day - dt.timedelta(days=1), day):
            for t in contract.CONTENT_TABLES:
                loader.load(t, d)
    first = snapshot()
    with Loader(settings) as loader:
        for t in contract.CONTENT_TABLES:
            loader.load(t, day)
    assert snapshot() == first
    assert first["note_events"] and first["quarantine"]


def test_undecodable_and_blank_lines_are_quarantined_with_their_numbers(tmp_path):
    landing = tmp_path / "landing"
    lines = [
        json.dumps(event(1)).encode(),
        b"",
        b'{"event_id":"e2","event_type":"read","note_id":"n\xff\xfe"}',
        json.dumps(event(3)).encode(),
        b"[1, 2]",
        json.dumps(event(4, t="2024-07-15T10:00:00")).encode(),
        json.dumps(event(5, user="AB" * 32)).encode(),
    ]
    write_delivery(landing, "2024-07-15", "content", {"note_events.jsonl": b"\n".join(lines) + b"\n"})
    settings = settings_for(landing, tmp_path / "wh")
    with Loader(settings) as loader:
        res = loader.load(contract.NOTE_EVENTS, dt.date(2024, 7, 15))
    assert res.status == "loaded" and res.balanced
    with wh(settings) as con:
        q = con.execute("SELECT line_number, reason, detail FROM ops.quarantine ORDER BY 1").fetchall()
        keys = con.execute(
            f"SELECT event_id, source_line, user_key FROM {raw(con, settings, 'content', 'note_events')} ORDER BY 1"
        ).fetchall()
    assert [(n, r) for n, r, _ in q] == [
        (2, "malformed_line"),
        (3, "malformed_line"),
        (5, "malformed_line"),
        (6, "unparsable_time"),
    ]
    assert q[0][2] == "blank line" and "UTF-8" in q[1][2] and "offset" in q[3][2]
    # upper-case hex keys are accepted and stored in one canonical spelling
    assert keys == [("e1", 1, f"{1:064x}"), ("e3", 4, f"{3:064x}"), ("e5", 7, "ab" * 32)]


def test_csv_structure_errors_and_blank_lines_keep_their_line_numbers(tmp_path):
    landing = tmp_path / "landing"
    header = "spend_date,campaign_id,brand_id,note_id,funding_source,spend_cny\n"
    body = (
        "2024-07-15,c1,b1,n1,brand,10.00\n\n2024-07-15,c2,b1,n2,brand\n2024-07-15,c3,b1,n3,partner,0\n"
        "2024-07-15,c4,b1,n4,brand,abc\n2024-07-15,c1,b1,n1,brand,12.00\n"
    )
    write_delivery(landing, "2024-07-15", "content", {"ad_spend.csv": (header + body).encode()})
    settings = settings_for(landing, tmp_path / "wh")
    with Loader(settings) as loader:
        res = loader.load(contract.AD_SPEND, dt.date(2024, 7, 15))
    assert res.status == "loaded" and res.balanced and res.rows_declared == 6
    with wh(settings) as con:
        q = con.execute("SELECT line_number, reason FROM ops.quarantine ORDER BY 1").fetchall()
        rows = con.execute(
            f"SELECT campaign_id, spend_cny, source_line FROM {raw(con, settings, 'content', 'ad_spend')} ORDER BY 1"
        ).fetchall()
    assert q == [(3, "malformed_line"), (4, "malformed_line"), (6, "invalid_value")]
    # a restated row in the same file: the last one wins, the first counts as a duplicate
    assert [(c, float(s), n) for c, s, n in rows] == [("c1", 12.0, 7), ("c3", 0.0, 5)]
    assert res.rows_duplicate == 1


def test_brand_level_spend_rows_load_and_a_restated_one_replaces_the_first(tmp_path):
    """An empty note_id is brand-level spend (docs/contract.md): loaded with a null note_id, not
    quarantined as missing_key; the key still dedups such rows, and campaign_id stays required."""
    landing = tmp_path / "landing"
    header = "spend_date,campaign_id,brand_id,note_id,funding_source,spend_cny\n"
    body = (
        "2024-07-15,c1,b1,n1,brand,10.00\n2024-07-15,cb,b1,,brand,50.00\n2024-07-15,cb,b1,,partner,7.00\n"
        "2024-07-15,,b1,,brand,3.00\n2024-07-15,cb,b1,,brand,55.00\n"
    )
    write_delivery(landing, "2024-07-15", "content", {"ad_spend.csv": (header + body).encode()})
    settings = settings_for(landing, tmp_path / "wh")
    with Loader(settings) as loader:
        res = loader.load(contract.AD_SPEND, dt.date(2024, 7, 15))
    assert res.status == "loaded" and res.balanced
    with wh(settings) as con:
        q = con.execute("SELECT line_number, reason, detail FROM ops.quarantine ORDER BY 1").fetchall()
        rows = con.execute(
            f"SELECT campaign_id, note_id, funding_source, spend_cny, source_line "
            f"FROM {raw(con, settings, 'content', 'ad_spend')} ORDER BY 1, 3"
        ).fetchall()
    assert q == [(5, "missing_key", "missing required field campaign_id")]
    assert [(c, n, f, float(v), line) for c, n, f, v, line in rows] == [
        ("c1", "n1", "brand", 10.0, 2),
        ("cb", None, "brand", 55.0, 6),
        ("cb", None, "partner", 7.0, 4),
    ]
    assert res.rows_duplicate == 1 and res.rows_loaded == 3


def test_generated_brand_level_spend_loads(faulty_ingested, faulty_landing):
    """The generator's brand-level rows (empty note_id) of every accepted ad_spend file are in the
    raw layer with a null note_id, none quarantined."""
    from landing_reader import csv_rows

    settings, _ = faulty_ingested
    rejected = rejected_files(settings)
    bad = {(f["file"], f["line"]) for f in faults(faulty_landing) if f["kind"] == "malformed_line"}
    expected = set()
    for path in sorted(faulty_landing.glob("dt=*/content/ad_spend.csv*")):
        rel = str(path.relative_to(faulty_landing))
        if rel in rejected:
            continue
        header, rows = csv_rows(path)
        for i, row in enumerate(rows, start=2):
            if (rel, i) not in bad and row[header.index("note_id")] == "":
                expected.add((rel, i, row[header.index("campaign_id")]))
    assert len(expected) >= 10, "the default world has brand-level spend"
    with wh(settings) as con:
        got = set(
            con.execute(
                f"SELECT source_file, source_line, campaign_id FROM {raw(con, settings, 'content', 'ad_spend')} "
                "WHERE note_id IS NULL"
            ).fetchall()
        )
        quarantined = con.execute(
            "SELECT count(*) FROM ops.quarantine WHERE table_name = 'ad_spend' AND detail LIKE '%note_id%'"
        ).fetchone()[0]
    assert got == expected and quarantined == 0


def test_loading_an_earlier_delivery_late_reports_later_duplicates(tmp_path):
    landing = tmp_path / "landing"
    shared = event(7, t="2024-07-14T22:00:00+08:00")
    write_delivery(
        landing,
        "2024-07-14",
        "content",
        {"note_events.jsonl": jsonl([shared, event(8, t="2024-07-14T09:00:00+08:00")])},
    )
    write_delivery(landing, "2024-07-15", "content", {"note_events.jsonl": jsonl([shared, event(9)])})
    settings = settings_for(landing, tmp_path / "wh")
    with Loader(settings) as loader:
        later = loader.load(contract.NOTE_EVENTS, dt.date(2024, 7, 15))
        earlier = loader.load(contract.NOTE_EVENTS, dt.date(2024, 7, 14))
        again = loader.load(contract.NOTE_EVENTS, dt.date(2024, 7, 15))
    assert later.rows_loaded == 2 and earlier.later_conflicts == 1
    assert again.rows_loaded == 1 and again.rows_duplicate == 1, "re-running the later day lets the first delivery win"


def _partition_digest(settings, day: str):
    path = settings.raw_dir / "content" / "note_events" / f"dt={day}" / "data.parquet"
    if not path.exists():
        return None
    with duckdb.connect() as con:
        return con.execute(f"SELECT count(*), sum(hash(event_id)) FROM read_parquet('{path}')").fetchone()


def _ledger_consistent(settings, day: str) -> tuple:
    with wh(settings) as con:
        pointer = con.execute(
            "SELECT load_id, rows FROM ops.raw_partitions WHERE table_name = 'note_events' AND delivery_date = ?", [day]
        ).fetchone()
        ledger = con.execute(
            "SELECT load_id, rows_loaded FROM ops.load_ledger_current WHERE table_name = 'note_events' "
            "AND delivery_date = ?",
            [day],
        ).fetchone()
    return pointer, ledger


@pytest.mark.slow
def test_killed_loader_leaves_a_consistent_state_and_a_rerun_completes(tmp_path):
    day = "2024-07-15"
    opts = dict(start=dt.date(2024, 7, 15), days=1, scale=small_options().scale, burn_in_days=0)
    from dataclasses import replace

    big = replace(small_options().scale, events_per_day=600_000, users=20_000)
    version_a, version_b = tmp_path / "a", tmp_path / "b"
    generate(small_options(**opts, seed=1) if False else replace(small_options(**opts), seed=1, scale=big), version_a)
    generate(replace(small_options(**opts), seed=2, scale=big), version_b)

    # the digests each version produces when loaded cleanly
    expect = {}
    for name, landing in (("a", version_a), ("b", version_b)):
        s = settings_for(landing, tmp_path / f"ref_{name}")
        with Loader(s) as loader:
            loader.load(contract.NOTE_EVENTS, dt.date(2024, 7, 15))
        expect[name] = _partition_digest(s, day)
    assert expect["a"] != expect["b"]

    landing = tmp_path / "landing"
    shutil.copytree(version_a, landing)
    settings = settings_for(landing, tmp_path / "wh")
    with Loader(settings) as loader:
        loader.load(contract.NOTE_EVENTS, dt.date(2024, 7, 15))
    assert _partition_digest(settings, day) == expect["a"]
    shutil.rmtree(landing / f"dt={day}")
    shutil.copytree(version_b / f"dt={day}", landing / f"dt={day}")  # the sender re-delivers the day

    env = {**os.environ, **settings.export_env()}
    cmd = [sys.executable, "-m", "redcat.cli", "ingest", "--from", day, "--to", day, "--table", "content/note_events"]
    interrupted = 0
    for delay in (0.3, 0.8, 1.4, 2.0):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        interrupted += proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with Loader(settings):  # opening the warehouse runs recovery, as every load does
            pass
        digest = _partition_digest(settings, day)
        assert digest in (expect["a"], expect["b"]), f"killed after {delay}s: the partition is neither old nor new"
        pointer, ledger = _ledger_consistent(settings, day)
        assert pointer[1] == digest[0], "the commit record names the file on disk"
        assert list((settings.raw_dir / "content" / "note_events" / f"dt={day}").glob("_pending-*")) == []
    assert interrupted >= 2, "the kills must interrupt running loads"
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _partition_digest(settings, day) == expect["b"]
    pointer, ledger = _ledger_consistent(settings, day)
    assert pointer[0] == ledger[0] and pointer[1] == ledger[1] == expect["b"][0]


def test_cli_rejects_bad_usage_with_exit_2(tmp_path):
    for args in (
        ["run", "--from", "2024-07-15", "--to", "2024-07-14", "--landing", str(tmp_path)],
        ["run", "--from", "2024-13-01", "--to", "2024-07-14"],
        ["run", "--from", "2024-07-01", "--to", "2024-07-02", "--landing", str(tmp_path / "missing")],
    ):
        done = subprocess.run([sys.executable, "-m", "redcat.cli", *args], capture_output=True, text=True)
        assert done.returncode == 2, done.stderr
        assert "Error" in done.stderr


def test_crash_between_commit_and_rename_is_rolled_forward(tmp_path, monkeypatch):
    from redcat.ingest import rawstore

    landing = tmp_path / "landing"
    write_delivery(landing, "2024-07-15", "content", {"note_events.jsonl": jsonl([event(1), event(2)])})
    settings = settings_for(landing, tmp_path / "wh")
    with Loader(settings) as loader:
        loader.load(contract.NOTE_EVENTS, dt.date(2024, 7, 15))
    write_delivery(landing, "2024-07-15", "content", {"note_events.jsonl": jsonl([event(1), event(2), event(3)])})

    def crash(pending):
        raise KeyboardInterrupt("killed right after the commit")

    monkeypatch.setattr(rawstore, "publish", crash)
    with Loader(settings) as loader, pytest.raises(KeyboardInterrupt):
        loader.load(contract.NOTE_EVENTS, dt.date(2024, 7, 15))
    monkeypatch.undo()
    assert _partition_digest(settings, "2024-07-15")[0] == 2, "readers still see the old file"
    with Loader(settings) as loader:
        assert [line.startswith("rolled forward") for line in loader.recovered] == [True]
    assert _partition_digest(settings, "2024-07-15")[0] == 3
    pointer, ledger = _ledger_consistent(settings, "2024-07-15")
    assert pointer == ledger


def test_partner_partitions_of_the_earlier_layout_are_moved_on_open(clean_landing, tmp_path):
    """Warehouses written before partners shared one tree (<raw>/<partner>/<table>/dt=...) are
    moved into <raw>/partners/<table>/partner=<partner>/dt=... with their commit pointers."""
    settings = settings_for(clean_landing, tmp_path / "wh")
    with Loader(settings) as loader:
        loader.load(contract.CALLBACKS["taobao"], START)
    new = Path(rawstore.partition_dir(settings.raw_dir, "taobao", "callbacks", START.isoformat()))
    rows_before = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{new / 'data.parquet'}')").fetchone()[0]
    # put it back where the earlier layout kept it, pointers included
    for table in ("callbacks", "deliveries"):
        fresh = Path(rawstore.partition_dir(settings.raw_dir, "taobao", table, START.isoformat()))
        old = settings.raw_dir / "taobao" / table / fresh.name
        old.parent.mkdir(parents=True)
        fresh.rename(old)
        with duckdb.connect(str(settings.warehouse)) as con:
            con.execute(
                "UPDATE ops.raw_partitions SET path = ? WHERE source = 'taobao' AND table_name = ?",
                [str(old / "data.parquet"), table],
            )
    with Loader(settings) as loader:
        assert any("moved taobao/callbacks" in line for line in loader.recovered)
        paths = dict(
            loader.con.execute("SELECT table_name, path FROM ops.raw_partitions WHERE source = 'taobao'").fetchall()
        )
    assert paths["callbacks"] == str(new / "data.parquet")
    assert (
        duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{paths['callbacks']}')").fetchone()[0]
        == rows_before
    )
    assert not (settings.raw_dir / "taobao").exists()
