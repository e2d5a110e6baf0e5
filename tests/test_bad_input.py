"""Bad input and faults (issue 15), as a table of cases: input -> expected reason or error.

Every case writes real landing files (tests/tiny_landing.py), loads them into a real warehouse
with the loader the ingestion assets use, and checks the outcome and the ledger balance: for
every load, rows in = loaded + quarantined + duplicates, the raw Parquet holds the loaded rows
and ops.quarantine the quarantined ones. docs/ingestion.md lists the same cases.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from conftest import settings_for
from tiny_landing import event, jsonl, write_delivery

from redcat import acceptances, contract
from redcat.ingest import backfill
from redcat.ingest.loader import Loader

D0, D1, D2 = "2024-07-14", "2024-07-15", "2024-07-16"
V3 = {"program_version": "v3", "sampling_ratio": 1.0}  # taobao's programme from 2024-07-01
CALLBACKS = contract.CALLBACKS["taobao"]
NOTES_HEADER = "note_id,creator_id,brand_id,category,published_at,link_partner\n"
SPEND_HEADER = "spend_date,campaign_id,brand_id,note_id,funding_source,spend_cny\n"


def callback(i: int, t: str = "2024-07-15T10:00:00+08:00", kind: str = "store_visit", **extra) -> dict:
    rec = {"callback_id": f"cb{i}", "event_type": kind, "event_time": t, "user_key": f"{i:064x}", "brand_id": "b1"}
    if kind in ("purchase", "refund"):
        rec.update(order_id=extra.pop("order_id", f"o{i}"), gmv_cny=extra.pop("gmv_cny", 99.5))
    rec.update(extra)
    return rec


def note_row(i: int, published: str = "2024-07-15T09:00:00+08:00") -> str:
    return f"n{i},c1,b1,beauty,{published},taobao\n"


def spend_row(i: int, amount: str = "10.00") -> str:
    return f"{D1},c{i},b1,n{i},brand,{amount}\n"


def callbacks_file(day: str, records: list, gz: bool = True) -> dict:
    name = "callbacks.jsonl.gz" if gz else "callbacks.jsonl"
    data = jsonl(records)
    return {"taobao": {name: gzip.compress(data) if gz else data}}


def events_file(records: list) -> dict:
    return {"content": {"note_events.jsonl": jsonl(records)}}


@dataclass
class Case:
    id: str
    item: str  # the item
    deliveries: list[tuple[str, dict]]  # (day, {source: {file: bytes}})
    loads: list[tuple[contract.SourceTable, str]]  # in this order; the last one is judged
    status: str = "loaded"
    reasons: dict[int, str] = field(default_factory=dict)  # line -> quarantine reason of the judged load
    loaded: int | None = None
    duplicates: int = 0
    message: tuple[str, ...] = ()  # substrings of the judged load's message (rejections)
    detail: tuple[str, ...] = ()  # substrings of a quarantined line's detail
    warnings: tuple[str, ...] = ()
    prepare: Callable[[Path], None] | None = None  # edits the landing zone after writing it
    env: dict[str, str] = field(default_factory=dict)


def _long_line(n_bytes: int) -> bytes:
    return json.dumps(event(2) | {"note_id": "n" + "x" * n_bytes}).encode()


def _manifest_as_directory(root: Path) -> None:
    directory = root / f"dt={D1}" / "content"
    (directory / "_manifest.json").unlink()
    (directory / "_manifest.json").mkdir()


def _symlink_out(root: Path) -> None:
    outside = root.parent / "elsewhere"
    outside.mkdir(exist_ok=True)
    directory = root / f"dt={D1}" / "content"
    target = outside / "note_events.jsonl"
    (directory / "note_events.jsonl").rename(target)
    (directory / "note_events.jsonl").symlink_to(target)


def _symlink_inside(root: Path) -> None:
    directory = root / f"dt={D1}" / "content"
    kept = root / "_store" / "note_events.jsonl"
    kept.parent.mkdir()
    (directory / "note_events.jsonl").rename(kept)
    (directory / "note_events.jsonl").symlink_to(kept)


def _extra_file(root: Path) -> None:
    (root / f"dt={D1}" / "content" / "note_events_part2.jsonl").write_text(json.dumps(event(9)) + "\n")


CASES = [
    # 1. re-delivery with a changed event_time: first delivery wins whatever the time
    Case(
        "redelivered_callback_new_time",
        "1",
        [
            (D0, callbacks_file(D0, [callback(1, "2024-07-14T10:00:00+08:00")])),
            (D1, callbacks_file(D1, [callback(1, "2024-07-15T11:00:00+08:00"), callback(2)])),
        ],
        [(CALLBACKS, D0), (CALLBACKS, D1)],
        loaded=1,
        duplicates=1,
    ),
    Case(
        "redelivered_event_new_time",
        "1",
        [
            (D0, events_file([event(1, t="2024-07-14T10:00:00+08:00")])),
            (D1, events_file([event(1, t="2024-07-15T12:00:00+08:00"), event(2)])),
        ],
        [(contract.NOTE_EVENTS, D0), (contract.NOTE_EVENTS, D1)],
        loaded=1,
        duplicates=1,
    ),
    Case(
        "redelivered_event_days_later",
        "1",
        [
            ("2024-07-01", events_file([event(1, t="2024-07-01T10:00:00+08:00")])),
            (D1, events_file([event(1, t="2024-07-15T12:00:00+08:00")])),
        ],
        [(contract.NOTE_EVENTS, "2024-07-01"), (contract.NOTE_EVENTS, D1)],
        loaded=0,
        duplicates=1,
    ),
    # 3. one unbalanced quote in the middle of a CSV file
    Case(
        "csv_unbalanced_quote_notes",
        "3",
        [
            (
                D1,
                {
                    "content": {
                        "notes.csv": (
                            NOTES_HEADER
                            + note_row(1)
                            + 'n2,c1,"b1,beauty,2024-07-15T09:00:00+08:00,\n'
                            + note_row(3)
                            + note_row(4)
                        ).encode()
                    }
                },
            )
        ],
        [(contract.NOTES, D1)],
        reasons={3: "malformed_line"},
        loaded=3,
        detail=("unbalanced quote",),
    ),
    Case(
        "csv_unbalanced_quote_ad_spend",
        "3",
        [
            (
                D1,
                {
                    "content": {
                        "ad_spend.csv": (
                            SPEND_HEADER + spend_row(1) + f'{D1},c2,b1,"n2,brand,5.00\n' + spend_row(3)
                        ).encode()
                    }
                },
            )
        ],
        [(contract.AD_SPEND, D1)],
        reasons={3: "malformed_line"},
        loaded=2,
    ),
    Case(
        "csv_quoted_comma_is_fine",
        "3",
        [
            (
                D1,
                {
                    "content": {
                        "notes.csv": (
                            NOTES_HEADER + note_row(1) + '"n2",c1,b1,beauty,"2024-07-15T09:00:00+08:00",\n'
                        ).encode()
                    }
                },
            )
        ],
        [(contract.NOTES, D1)],
        loaded=2,
    ),
    # 4. a bare carriage return inside a JSONL line (JSON whitespace)
    Case(
        "jsonl_bare_cr",
        "4",
        [
            (
                D1,
                {
                    "content": {
                        "note_events.jsonl": jsonl(
                            [event(1), json.dumps(event(2)).replace(", ", ",\r ").encode(), event(3)]
                        )
                    }
                },
            )
        ],
        [(contract.NOTE_EVENTS, D1)],
        loaded=3,
    ),
    Case(
        "jsonl_bare_cr_gzip_with_bad_line",
        "4",
        [
            (
                D1,
                {
                    "content": {
                        "note_events.jsonl.gz": gzip.compress(jsonl([event(1), b'{"event_id":\r"e2"', event(3)]))
                    }
                },
            )
        ],
        [(contract.NOTE_EVENTS, D1)],
        reasons={2: "malformed_line"},
        loaded=2,
    ),
    Case(
        "jsonl_crlf_endings",
        "4",
        [(D1, {"content": {"note_events.jsonl": jsonl([event(1), event(2)]).replace(b"\n", b"\r\n")}})],
        [(contract.NOTE_EVENTS, D1)],
        loaded=2,
    ),
    # 5. a callback dated outside every programme
    Case(
        "callback_outside_programme",
        "5",
        [(D1, callbacks_file(D1, [callback(1), callback(2, "2019-03-01T10:00:00+08:00"), callback(3)]))],
        [(CALLBACKS, D1)],
        reasons={2: "outside_programme"},
        loaded=2,
        detail=("no taobao programme",),
    ),
    Case(
        "callback_in_programme_gap",
        "5",
        [
            (
                "2024-02-02",
                {
                    "taobao": {
                        "callbacks.jsonl": jsonl(
                            [callback(1, "2024-01-15T10:00:00+08:00"), callback(2, "2024-02-02T10:00:00+08:00")]
                        )
                    }
                },
            )
        ],
        [(CALLBACKS, "2024-02-02")],
        reasons={1: "outside_programme"},
        loaded=1,
    ),
    # 6. an implausible amount
    Case(
        "purchase_1e15_cny",
        "6",
        [(D1, callbacks_file(D1, [callback(1, kind="purchase"), callback(2, kind="purchase", gmv_cny=1e15)]))],
        [(CALLBACKS, D1)],
        reasons={2: "implausible_amount"},
        loaded=1,
        detail=("plausible maximum",),
    ),
    Case(
        "purchase_just_below_the_maximum",
        "6",
        [(D1, callbacks_file(D1, [callback(1, kind="purchase", gmv_cny=999999.99)]))],
        [(CALLBACKS, D1)],
        loaded=1,
    ),
    # 7. dated far from the delivery
    Case(
        "purchase_dated_2099",
        "7",
        [(D1, callbacks_file(D1, [callback(1, "2099-01-01T10:00:00+08:00", kind="purchase"), callback(2)]))],
        [(CALLBACKS, D1)],
        reasons={1: "after_delivery"},
        loaded=1,
        detail=("after delivery date",),
    ),
    Case(
        "read_dated_2001",
        "7",
        [(D1, events_file([event(1, t="2001-05-01T10:00:00+08:00"), event(2)]))],
        [(contract.NOTE_EVENTS, D1)],
        reasons={1: "older_than_horizon"},
        loaded=1,
    ),
    Case(
        "event_within_clock_skew",
        "7",
        [(D1, events_file([event(1, t="2024-07-16T00:05:00+08:00"), event(2, t="2024-07-16T00:15:00+08:00")]))],
        [(contract.NOTE_EVENTS, D1)],
        reasons={2: "after_delivery"},
        loaded=1,
    ),
    Case(
        "late_event_within_horizon",
        "7",
        [(D1, events_file([event(1, t="2024-06-20T10:00:00+08:00")]))],
        [(contract.NOTE_EVENTS, D1)],
        loaded=1,
    ),
    Case(
        "horizon_is_configurable",
        "7",
        [(D1, events_file([event(1, t="2024-07-10T10:00:00+08:00")]))],
        [(contract.NOTE_EVENTS, D1)],
        reasons={1: "older_than_horizon"},
        loaded=0,
        env={"REDCAT_DEDUP_HORIZON_DAYS": "3"},
    ),
    Case(
        "note_published_after_delivery",
        "7",
        [
            (
                D1,
                {
                    "content": {
                        "notes.csv": (NOTES_HEADER + note_row(1) + note_row(2, "2030-01-01T00:00:00+08:00")).encode()
                    }
                },
            )
        ],
        [(contract.NOTES, D1)],
        reasons={3: "after_delivery"},
        loaded=1,
    ),
    Case(
        "spend_dated_after_delivery",
        "7",
        [
            (
                D1,
                {
                    "content": {
                        "ad_spend.csv": (SPEND_HEADER + spend_row(1) + "2024-08-01,c2,b1,n2,brand,5.00\n").encode()
                    }
                },
            )
        ],
        [(contract.AD_SPEND, D1)],
        reasons={3: "after_delivery"},
        loaded=1,
    ),
    # 9. lines over the 8 MiB limit
    Case(
        "jsonl_line_over_8mb",
        "9",
        [(D1, {"content": {"note_events.jsonl.gz": gzip.compress(jsonl([event(1), _long_line(9 << 20), event(3)]))}})],
        [(contract.NOTE_EVENTS, D1)],
        reasons={2: "line_too_long"},
        loaded=2,
        detail=("from byte", "MiB line limit"),
    ),
    Case(
        "csv_line_over_8mb",
        "9",
        [
            (
                D1,
                {
                    "content": {
                        "notes.csv": (
                            NOTES_HEADER
                            + note_row(1)
                            + "n2,c1,b1,beauty,2024-07-15T09:00:00+08:00,"
                            + "x" * (9 << 20)
                            + "\n"
                            + note_row(3)
                        ).encode()
                    }
                },
            )
        ],
        [(contract.NOTES, D1)],
        reasons={3: "line_too_long"},
        loaded=2,
        detail=("from byte",),
    ),
    # 10. unreadable input: what, where, what to do
    Case(
        "manifest_is_a_directory",
        "10",
        [(D1, events_file([event(1)]))],
        [(contract.NOTE_EVENTS, D1)],
        status="rejected",
        message=("is a directory", "_manifest.json", "re-run"),
        prepare=_manifest_as_directory,
    ),
    Case(
        "manifest_not_an_object",
        "10",
        [(D1, events_file([event(1)]))],
        [(contract.NOTE_EVENTS, D1)],
        status="rejected",
        message=("not a valid manifest",),
        prepare=lambda root: (root / f"dt={D1}" / "content" / "_manifest.json").write_text("[1, 2]"),
    ),
    # 11. a JSON object or number in a string field
    Case(
        "json_object_in_note_id",
        "11",
        [(D1, events_file([event(1), event(2) | {"note_id": {"x": 1}}, event(3) | {"note_id": 123}]))],
        [(contract.NOTE_EVENTS, D1)],
        reasons={2: "invalid_value", 3: "invalid_value"},
        loaded=1,
        detail=("expected a string",),
    ),
    Case(
        "json_array_in_callback_brand",
        "11",
        [(D1, callbacks_file(D1, [callback(1, brand_id=["b1"]), callback(2)]))],
        [(CALLBACKS, D1)],
        reasons={1: "invalid_value"},
        loaded=1,
    ),
    Case(
        "json_number_amount_is_fine",
        "11",
        [
            (
                D1,
                callbacks_file(
                    D1,
                    [
                        callback(1, kind="purchase", gmv_cny=12),
                        callback(2, kind="refund", gmv_cny="3.50", order_id="o1"),
                    ],
                ),
            )
        ],
        [(CALLBACKS, D1)],
        loaded=2,
    ),
    # Also: symlinks out of the landing zone, unlisted files, over-refunds
    Case(
        "symlink_out_of_landing_zone",
        "also",
        [(D1, events_file([event(1)]))],
        [(contract.NOTE_EVENTS, D1)],
        status="rejected",
        message=("symbolic link", "outside the landing zone"),
        prepare=_symlink_out,
    ),
    Case(
        "symlink_inside_landing_zone",
        "also",
        [(D1, events_file([event(1)]))],
        [(contract.NOTE_EVENTS, D1)],
        loaded=1,
        prepare=_symlink_inside,
    ),
    Case(
        "unlisted_extra_file",
        "also",
        [(D1, events_file([event(1)]))],
        [(contract.NOTE_EVENTS, D1)],
        loaded=1,
        warnings=("note_events_part2.jsonl", "not listed"),
        prepare=_extra_file,
    ),
    Case(
        "over_refund_same_delivery",
        "also",
        [
            (
                D1,
                callbacks_file(
                    D1,
                    [
                        callback(1, kind="purchase", order_id="o1", gmv_cny=100),
                        callback(2, kind="refund", order_id="o1", gmv_cny=150),
                    ],
                ),
            )
        ],
        [(CALLBACKS, D1)],
        loaded=2,
        warnings=("refunded more than their purchase", "o1"),
    ),
    Case(
        "over_refund_across_deliveries",
        "also",
        [
            (
                D0,
                callbacks_file(
                    D0, [callback(1, "2024-07-14T10:00:00+08:00", kind="purchase", order_id="o1", gmv_cny=100)]
                ),
            ),
            (
                D1,
                callbacks_file(
                    D1,
                    [
                        callback(2, kind="refund", order_id="o1", gmv_cny=60),
                        callback(3, kind="refund", order_id="o1", gmv_cny=60),
                    ],
                ),
            ),
        ],
        [(CALLBACKS, D0), (CALLBACKS, D1)],
        loaded=2,
        warnings=("o1 (paid 100.00, refunded 120.00)",),
    ),
    Case(
        "partial_refund_is_fine",
        "also",
        [
            (
                D1,
                callbacks_file(
                    D1,
                    [
                        callback(1, kind="purchase", order_id="o1", gmv_cny=100),
                        callback(2, kind="refund", order_id="o1", gmv_cny=40),
                    ],
                ),
            )
        ],
        [(CALLBACKS, D1)],
        loaded=2,
    ),
]


def _write(case: Case, landing: Path) -> None:
    for day, by_source in case.deliveries:
        for source, files in by_source.items():
            write_delivery(
                landing,
                day,
                source,
                files,
                program=V3
                if source != "content" and day >= "2024-07-01"
                else ({"program_version": "v2", "sampling_ratio": 0.5} if source != "content" else None),
            )
    if case.prepare:
        case.prepare(landing)


def assert_ledger_balances(settings, results) -> None:
    """rows in = loaded + quarantined + duplicates, for every load, from what was committed."""
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        for res in results:
            assert res.balanced, res
            if res.status != "loaded":
                continue
            declared, loaded, quarantined, dup, path = con.execute(
                """SELECT l.rows_declared, l.rows_loaded, l.rows_quarantined, l.rows_duplicate, p.path
                   FROM ops.load_ledger l LEFT JOIN ops.raw_partitions p
                     ON p.load_id = l.load_id AND p.table_name = l.table_name
                   WHERE l.load_id = ?""",
                [res.load_id],
            ).fetchone()
            assert loaded + quarantined + dup == declared
            if path is None:  # superseded by a later load of the same partition
                continue
            assert con.execute("SELECT count(*) FROM read_parquet(?)", [path]).fetchone()[0] == loaded
            in_quarantine = con.execute(
                "SELECT count(*) FROM ops.quarantine WHERE load_id = ?", [res.load_id]
            ).fetchone()[0]
            assert in_quarantine == quarantined


@pytest.mark.parametrize("case", CASES, ids=[f"{c.item}-{c.id}" for c in CASES])
def test_bad_input_case(case: Case, tmp_path, monkeypatch):
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    landing = tmp_path / "landing"
    _write(case, landing)
    settings = settings_for(landing, tmp_path / "wh")
    with Loader(settings) as loader:
        results = [loader.load(table, dt.date.fromisoformat(day)) for table, day in case.loads]
    res = results[-1]
    assert res.status == case.status, res.message
    for part in case.message:
        assert part in res.message, res.message
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        quarantined = con.execute(
            "SELECT line_number, reason, detail, raw_text FROM ops.quarantine WHERE load_id = ? ORDER BY 1",
            [res.load_id],
        ).fetchall()
    assert {n: r for n, r, _, _ in quarantined} == case.reasons
    for _, _, detail, raw_text in quarantined:
        assert detail and raw_text, "every quarantined line keeps its text (or its start) and a readable detail"
    for part in case.detail:
        assert any(part in d for _, _, d, _ in quarantined), quarantined
    if case.loaded is not None:
        assert res.rows_loaded == case.loaded
    assert res.rows_duplicate == case.duplicates
    for part in case.warnings:
        assert any(part in w for w in res.warnings), res.warnings
    if not case.warnings:
        assert not res.warnings
    assert_ledger_balances(settings, results)


def test_long_line_pointer_leads_to_the_whole_line(tmp_path):
    """item 9: the detail's byte offset is where the whole line starts in the uncompressed file."""
    long = _long_line(9 << 20)
    data = jsonl([event(1), long, event(3)])
    landing = tmp_path / "landing"
    write_delivery(landing, D1, "content", {"note_events.jsonl.gz": gzip.compress(data)})
    settings = settings_for(landing, tmp_path / "wh")
    with Loader(settings) as loader:
        res = loader.load(contract.NOTE_EVENTS, dt.date.fromisoformat(D1))
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        detail, raw_text = con.execute("SELECT detail, raw_text FROM ops.quarantine").fetchone()
    offset = int(detail.split("from byte ")[1].split(" ")[0].replace(",", ""))
    assert data[offset : offset + len(long)] == long and long.decode().startswith(raw_text)
    assert f"{len(long):,}" in detail or str(len(long)) in detail
    assert_ledger_balances(settings, [res])


def test_backfill_of_an_earlier_date_names_the_later_dates_it_invalidates(tmp_path):
    """item 2 at ingestion level: D1 built first, then D0 (which delivered cb1 first) arrives."""
    landing = tmp_path / "landing"
    write_delivery(
        landing, D0, "taobao", {"callbacks.jsonl": jsonl([callback(1, "2024-07-14T10:00:00+08:00")])}, program=V3
    )
    write_delivery(
        landing,
        D1,
        "taobao",
        {"callbacks.jsonl": jsonl([callback(1, "2024-07-15T11:00:00+08:00"), callback(2)])},
        program=V3,
    )
    write_delivery(
        landing, D2, "taobao", {"callbacks.jsonl": jsonl([callback(3, "2024-07-16T10:00:00+08:00")])}, program=V3
    )
    settings = settings_for(landing, tmp_path / "wh")
    day = dt.date.fromisoformat
    with Loader(settings) as loader:
        results = [loader.load(CALLBACKS, day(D1)), loader.load(CALLBACKS, day(D2)), loader.load(CALLBACKS, day(D0))]
        assert results[-1].later_conflicts == 1
        assert backfill.invalidated_dates(loader.con, day(D0), day(D0)) == {day(D1): ["taobao/callbacks"]}
        results.append(loader.load(CALLBACKS, day(D1), reloading_until=day(D1)))  # what the runner re-runs
        assert results[-1].rows_duplicate == 1 and results[-1].rows_loaded == 1
        assert backfill.invalidated_dates(loader.con, day(D0), day(D0)) == {}
    assert_ledger_balances(settings, results)


def test_second_writer_on_a_busy_warehouse_waits_then_exits_2(tmp_path):
    """item 10: another process holds the warehouse (a notebook, a second run): the CLI waits
    REDCAT_LOCK_TIMEOUT_SECONDS, then exits 2 saying what, where and what to do; no traceback."""
    landing = tmp_path / "landing"
    write_delivery(landing, D1, "content", {"note_events.jsonl": jsonl([event(1)])})
    settings = settings_for(landing, tmp_path / "wh")
    with Loader(settings) as loader:
        loader.load(contract.NOTE_EVENTS, dt.date.fromisoformat(D1))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import duckdb, sys
            con = duckdb.connect({str(settings.warehouse)!r}, read_only=True)
            print("holding", flush=True)
            sys.stdin.read()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        env = {**os.environ, "REDCAT_LOCK_TIMEOUT_SECONDS": "1"}
        env.pop("DAGSTER_HOME", None)
        for command in (["run"], ["ingest"]):
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "orchestration.cli",
                    *command,
                    "--from",
                    D1,
                    "--to",
                    D1,
                    "--landing",
                    str(landing),
                    "--warehouse",
                    str(settings.warehouse),
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=600,
            )
            assert done.returncode == 2, done.stdout + done.stderr
            assert "Traceback" not in done.stderr
            err = " ".join(done.stderr.split())
            assert "in use by another process" in err and str(settings.warehouse) in err
            assert "REDCAT_LOCK_TIMEOUT_SECONDS" in err and "run again" in err
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


def test_paths_with_a_quote_work_for_loader_and_acceptances(tmp_path):
    """item 12 at ingestion level (the dbt sources: tests/test_bad_input_pipeline.py)."""
    home = tmp_path / "it's here"
    landing = home / "land'ing"
    write_delivery(landing, D1, "content", {"note_events.jsonl": jsonl([event(1), b"not json"])})
    settings = settings_for(landing, home / "w'h")
    with Loader(settings) as loader:
        res = loader.load(contract.NOTE_EVENTS, dt.date.fromisoformat(D1))
    assert res.status == "loaded" and res.rows_loaded == 1 and res.rows_quarantined == 1
    acceptances.accept(settings, "taobao", dt.date.fromisoformat(D1), "ops", "known outage")
    assert [r[0] for r in acceptances.read(settings)] == ["taobao"]
    assert_ledger_balances(settings, [res])


@pytest.mark.parametrize(
    "name", ["REDCAT_DEDUP_HORIZON_DAYS", "REDCAT_CLOCK_SKEW_MINUTES", "REDCAT_LOCK_TIMEOUT_SECONDS"]
)
def test_unusable_setting_exits_2_naming_it(name, tmp_path):
    landing = tmp_path / "landing"
    write_delivery(landing, D1, "content", {"note_events.jsonl": jsonl([event(1)])})
    env = {**os.environ, name: "soon"}
    env.pop("DAGSTER_HOME", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "redcat.cli",
            "ingest",
            "--from",
            D1,
            "--to",
            D1,
            "--landing",
            str(landing),
            "--warehouse",
            str(tmp_path / "wh" / "warehouse.duckdb"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert name in done.stderr and "soon" in done.stderr


@pytest.mark.parametrize(
    "reader, name, good, bad",
    [
        ("redcat.duck:lock_timeout_seconds", "REDCAT_LOCK_TIMEOUT_SECONDS", ("0", "2.5"), ("-1", "soon", "nan")),
        ("redcat.serving:retention_days", "REDCAT_EXPORT_RETENTION_DAYS", ("0", "14"), ("-3", "a week")),
        ("redcat.compaction:free_share_threshold", "REDCAT_COMPACT_FREE_SHARE", ("0", "1", "off"), ("1.5", "40%")),
        ("redcat.ingest.rules:horizon_days", "REDCAT_DEDUP_HORIZON_DAYS", ("0", "45"), ("2.5", "-1", "month")),
    ],
)
def test_every_numeric_setting_is_read_and_refused_the_same_way(reader, name, good, bad, monkeypatch):
    """One parser (redcat.config.env_number): blank means the default, a bad value a SettingProblem
    naming the variable, its value and the default."""
    import importlib

    from redcat.config import SettingProblem

    module, function = reader.split(":")
    read = getattr(importlib.import_module(module), function)
    monkeypatch.setenv(name, " ")
    default = read()
    assert default is not None and default >= 0
    for value in good:
        monkeypatch.setenv(name, value)
        assert read() == (None if value == "off" else float(value))
    for value in bad:
        monkeypatch.setenv(name, value)
        with pytest.raises(SettingProblem, match=f"{name}={value!r} is not .*unset it for the default {default:g}"):
            read()
