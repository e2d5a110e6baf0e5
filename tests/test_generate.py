"""`redcat generate`: determinism, contract conformance, per-user sampling, ground truth, faults."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from conftest import FAULTY, small_options
from landing_reader import all_files, csv_rows, data_file, faults, jsonl_lines, manifest, sha256

from redcat.generate import generate

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
CONTENT_TYPES = {"read", "like", "collect", "comment", "share", "link_click"}
CALLBACK_TYPES = {"search", "store_visit", "add_to_cart", "purchase", "refund"}
POLICY = {  # docs/contract.md reference ratios
    "taobao": [(dt.date(2024, 2, 1), dt.date(2024, 6, 30), "v2", 0.5), (dt.date(2024, 7, 1), None, "v3", 1.0)],
    "jd": [(dt.date(2025, 5, 12), None, "v1", 1.0)],
}


def policy(partner: str, day: dt.date):
    for start, end, version, ratio in POLICY[partner]:
        if start <= day and (end is None or day <= end):
            return version, ratio
    return None


def business_date(text: str) -> dt.date:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(SHANGHAI).date()


def _time_ok(text) -> bool:
    if not isinstance(text, str) or not ISO_WITH_OFFSET.match(text):
        return False
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def check_event(rec: dict) -> str | None:
    """The contract violation of one note event, or None."""
    base = {"event_id", "event_type", "event_time", "user_key", "note_id"}
    if not base <= rec.keys() or any(rec[k] in (None, "") for k in base):
        return "missing_key"
    if rec["event_type"] not in CONTENT_TYPES:
        return "unknown_enum"
    if not _time_ok(rec["event_time"]):
        return "unparsable_time"
    if not HEX64.match(rec["user_key"]):
        return "missing_key"
    if rec["event_type"] == "link_click":
        if rec.get("link_partner") not in {"taobao", "jd"} or rec.get("link_surface") not in {"note", "comment"}:
            return "unknown_enum"
    elif set(rec) != base:
        return "unexpected_fields"
    return None


def check_callback(rec: dict) -> str | None:
    base = {"callback_id", "event_type", "event_time", "user_key", "brand_id"}
    if not base <= rec.keys() or any(rec[k] in (None, "") for k in base):
        return "missing_key"
    if rec["event_type"] not in CALLBACK_TYPES:
        return "unknown_enum"
    if not _time_ok(rec["event_time"]):
        return "unparsable_time"
    if rec["event_type"] in ("purchase", "refund"):
        if not rec.get("order_id") or not isinstance(rec.get("gmv_cny"), (int, float)):
            return "missing_key"
        if rec["gmv_cny"] <= 0:
            return "negative_amount"
    elif set(rec) != base:
        return "unexpected_fields"
    return None


def check_note_row(header, row) -> str | None:
    if len(row) != len(header):
        return "malformed_line"
    r = dict(zip(header, row))
    if not r["note_id"] or not r["brand_id"] or not r["creator_id"]:
        return "missing_key"
    if r["link_partner"] not in ("", "taobao", "jd") or r["category"] not in {
        "beauty",
        "fashion",
        "food",
        "baby",
        "home",
        "outdoor",
        "digital",
        "pets",
    }:
        return "unknown_enum"
    if not _time_ok(r["published_at"]):
        return "unparsable_time"
    return None


def check_spend_row(header, row, delivery: str) -> str | None:
    if len(row) != len(header):
        return "malformed_line"
    r = dict(zip(header, row))
    if not all(r[k] for k in ("campaign_id", "brand_id")):  # an empty note_id is brand-level spend
        return "missing_key"
    if r["funding_source"] not in ("brand", "partner"):
        return "unknown_enum"
    try:
        dt.date.fromisoformat(r["spend_date"])
    except ValueError:
        return "unparsable_time"
    if float(r["spend_cny"]) < 0:
        return "negative_amount"
    assert r["spend_date"] == delivery, "spend rows are for the delivery date"
    return None


def _json(line: str):
    try:
        rec = json.loads(line)
        return rec if isinstance(rec, dict) else None
    except json.JSONDecodeError:
        return None


def audit(root: Path) -> tuple[set, dict]:
    """Every contract violation in a landing zone as (kind, file, line) plus counters.
    A file that fails its manifest is not audited line by line; its complete re-delivery
    (kept in the ground truth) stands in for it when counting duplicates and late events."""
    found: set = set()
    stats: dict = defaultdict(int)
    seen_events: set[str] = set()
    for day_dir in sorted(root.glob("dt=*")):
        day = day_dir.name[3:]
        delivery = dt.date.fromisoformat(day)
        for src_dir in sorted(p for p in day_dir.iterdir() if p.is_dir()):
            m = manifest(src_dir)
            assert m["delivery_date"] == day

            def rel(p):
                return str(p.relative_to(root))

            if src_dir.name == "content":
                assert m["source"] == "content" and "sampling_ratio" not in m and "program_version" not in m
            else:
                partner = src_dir.name.split("=")[1]
                assert m["source"] == partner
                if (m["program_version"], m["sampling_ratio"]) != policy(partner, delivery):
                    found.add(("manifest_ratio_mismatch", rel(src_dir), 0))
            for entry in m["files"]:
                path = src_dir / entry["name"]
                counting_only = False
                if sha256(path) != entry["sha256"]:
                    found.add(("sha256_mismatch", rel(path), 0))
                    path = root / "_ground_truth" / "redelivery" / rel(path)
                    counting_only = True
                if path.name.startswith(("note_events", "callbacks")):
                    lines = jsonl_lines(path)
                    assert len(lines) == entry["rows"] or counting_only, path
                    checker = check_event if path.name.startswith("note_events") else check_callback
                    for i, line in enumerate(lines, start=1):
                        rec = _json(line)
                        problem = "malformed_line" if rec is None else checker(rec)
                        if problem:
                            if not counting_only:
                                found.add((problem, rel(path), i))
                            continue
                        if path.name.startswith("note_events"):
                            when = business_date(rec["event_time"])
                            assert when <= delivery, "no event is delivered before it happens"
                            if rec["event_id"] in seen_events:
                                stats["duplicate_events"] += 1
                            else:
                                seen_events.add(rec["event_id"])
                                stats["late_events"] += when < delivery
                elif not counting_only:
                    header, rows = csv_rows(path)
                    assert len(rows) == entry["rows"], path
                    for i, row in enumerate(rows, start=2):
                        problem = (
                            check_note_row(header, row)
                            if path.name == "notes.csv"
                            else check_spend_row(header, row, day)
                        )
                        if problem:
                            found.add((problem, rel(path), i))
    return found, stats


def test_same_seed_same_bytes_other_seed_other_world(clean_landing, tmp_path):
    again = tmp_path / "again"
    generate(small_options(), again)
    assert all_files(again) == all_files(clean_landing)
    other = tmp_path / "other"
    generate(small_options(seed=12, days=2), other)
    first = "dt=2024-06-24/content/note_events.jsonl.gz"
    assert sha256(other / first) != sha256(clean_landing / first)


def test_clean_landing_zone_conforms_to_the_contract(clean_landing):
    found, stats = audit(clean_landing)
    assert found == set()
    assert stats["duplicate_events"] == 0 and stats["late_events"] == 0
    days = sorted(p.name for p in clean_landing.glob("dt=*"))
    assert len(days) == 16
    # every day has content and a Taobao dump; JD's programme starts only in 2025
    for d in days:
        assert (clean_landing / d / "content" / "_manifest.json").exists()
        assert (clean_landing / d / "partner=taobao" / "_manifest.json").exists()
        assert not (clean_landing / d / "partner=jd").exists()


def test_world_has_the_shapes_the_warehouse_needs(clean_landing):
    events = [
        json.loads(x) for x in jsonl_lines(data_file(clean_landing / "dt=2024-07-02" / "content", "note_events.jsonl"))
    ]
    types = Counter(e["event_type"] for e in events)
    assert types["read"] > 0.7 * len(events) and types["link_click"] > 0
    surfaces = Counter(e["link_surface"] for e in events if e["event_type"] == "link_click")
    assert surfaces["note"] > 0 and surfaces["comment"] > 0
    per_user = Counter(e["user_key"] for e in events)
    counts = sorted(per_user.values(), reverse=True)
    top = sum(counts[: max(1, len(counts) // 100)]) / sum(counts)
    assert top > 0.05, "the top 1 % of users carry a heavy share of activity"
    header, notes = csv_rows(clean_landing / "dt=2024-06-24" / "content" / "notes.csv")
    links = Counter(dict(zip(header, r))["link_partner"] for r in notes)
    assert links[""] > 0 and links["taobao"] > 0, "notes with and without links"
    _, spend = csv_rows(clean_landing / "dt=2024-06-24" / "content" / "ad_spend.csv")
    assert {r[4] for r in spend} == {"brand", "partner"}
    cbs = [
        json.loads(x)
        for x in jsonl_lines(data_file(clean_landing / "dt=2024-07-02" / "partner=taobao", "callbacks.jsonl"))
    ]
    assert set(Counter(c["event_type"] for c in cbs)) == CALLBACK_TYPES


def test_categories_open_for_links_only_from_their_date(clean_landing):
    # "home" opens to Taobao on 2024-07-08 (seeds/categories.csv): before it, no home note mounts a link
    header, snapshot = csv_rows(clean_landing / "dt=2024-06-24" / "content" / "notes.csv")
    home_linked = [
        r for r in snapshot if dict(zip(header, r))["category"] == "home" and dict(zip(header, r))["link_partner"]
    ]
    assert home_linked == []
    header, changed = csv_rows(clean_landing / "dt=2024-07-08" / "content" / "notes.csv")
    opened = [
        r
        for r in changed
        if dict(zip(header, r))["category"] == "home" and dict(zip(header, r))["link_partner"] == "taobao"
    ]
    assert opened, "on the opening day older home notes mount links (re-delivered as changed notes)"


def _callbacks_by_user_day(root: Path) -> dict[tuple[str, str], Counter]:
    out: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for d in sorted(root.glob("dt=*/partner=taobao")):
        for line in jsonl_lines(data_file(d, "callbacks.jsonl")):
            rec = json.loads(line)
            out[(rec["user_key"], str(business_date(rec["event_time"])))][rec["callback_id"]] += 1
    return out


def test_sampling_is_per_user_and_matches_the_policy_ratio(clean_landing, unsampled_landing):
    full = _callbacks_by_user_day(unsampled_landing)
    sampled = _callbacks_by_user_day(clean_landing)
    users_half, users_in = set(), set()
    for (user, day), ids in full.items():
        got = sampled.get((user, day), Counter())
        # all of a user's callbacks of a day, or none
        assert got == ids or not got, f"user {user[:8]} on {day}: partially called back"
        if day < "2024-07-01":
            users_half.add(user)
            if got:
                users_in.add(user)
        else:
            assert got == ids, "from 2024-07-01 (v3) every user is called back"
    n, k = len(users_half), len(users_in)
    assert n > 500
    sd = math.sqrt(n * 0.25)
    assert abs(k - n / 2) < 3.3 * sd, f"{k} of {n} users sampled at ratio 0.5"
    # a sampled user stays sampled on every day of the period
    days_of = defaultdict(set)
    for user, day in sampled:
        if day < "2024-07-01":
            days_of[user].add(day)
    for user in users_in:
        full_days = {d for (u, d) in full if u == user and d < "2024-07-01"}
        assert days_of[user] == full_days


def test_ground_truth_equals_totals_of_the_unsampled_world(clean_landing, unsampled_landing):
    recomputed: dict[tuple, Counter] = defaultdict(Counter)
    for d in sorted(unsampled_landing.glob("dt=*/partner=taobao")):
        for line in jsonl_lines(data_file(d, "callbacks.jsonl")):
            r = json.loads(line)
            key = (str(business_date(r["event_time"])), "taobao", r["brand_id"])
            col = {
                "search": "searches",
                "store_visit": "store_visits",
                "add_to_cart": "add_to_carts",
                "purchase": "purchases",
                "refund": "refunds",
            }[r["event_type"]]
            recomputed[key][col] += 1
            if r["event_type"] in ("purchase", "refund"):
                recomputed[key]["gmv_cny" if r["event_type"] == "purchase" else "refund_gmv_cny"] += round(
                    r["gmv_cny"] * 100
                )
    header, rows = csv_rows(clean_landing / "_ground_truth" / "callbacks_daily.csv")
    truth = {}
    for row in rows:
        r = dict(zip(header, row))
        truth[(r["date"], r["partner"], r["brand_id"])] = Counter(
            {
                k: (round(float(v) * 100) if "gmv" in k else int(v))
                for k, v in r.items()
                if k not in ("date", "partner", "brand_id") and float(v)
            }
        )
    assert truth.keys() == recomputed.keys()
    for key in truth:
        assert truth[key] == recomputed[key], key
    # content truth: events by type and event date
    header, rows = csv_rows(clean_landing / "_ground_truth" / "content_daily.csv")
    for row in rows:
        r = dict(zip(header, row))
        events = jsonl_lines(data_file(unsampled_landing / f"dt={r['date']}" / "content", "note_events.jsonl"))
        counts = Counter(json.loads(x)["event_type"] for x in events)
        assert {k: int(v) for k, v in r.items() if k != "date"} == {t: counts[t] for t in header[1:]}


def test_every_injected_fault_is_recorded_and_nothing_else_is_wrong(faulty_landing):
    recorded = faults(faulty_landing)
    found, stats = audit(faulty_landing)
    expected = set()
    for f in recorded:
        if f["kind"] == "malformed_line":
            expected.add((f["reason"], f["file"], f["line"]))
        elif f["kind"] == "truncated_file":
            expected.add(("sha256_mismatch", f["file"], 0))
        elif f["kind"] == "manifest_ratio_mismatch":
            expected.add(("manifest_ratio_mismatch", f"dt={f['delivery_date']}/partner={f['source']}", 0))
    # malformed lines in a truncated file are not audited (the whole file is rejected)
    truncated = {f["file"] for f in recorded if f["kind"] == "truncated_file"}
    expected = {e for e in expected if not (e[0] != "sha256_mismatch" and e[1] in truncated)}
    assert found == expected
    kinds = Counter(f["reason"] for f in recorded if f["kind"] == "malformed_line")
    assert kinds == {
        k: FAULTY.malformed_per_kind
        for k in ("malformed_line", "unknown_enum", "unparsable_time", "missing_key", "negative_amount")
    }
    assert stats["duplicate_events"] > 0 and stats["late_events"] > 0
    summary = json.loads((faulty_landing / "_ground_truth" / "generation.json").read_text())
    assert stats["duplicate_events"] == sum(d["content"]["duplicates"] for d in summary["deliveries"])
    assert stats["late_events"] == sum(d["content"]["late"] for d in summary["deliveries"])


def test_truncated_file_is_shorter_than_its_manifest_says(faulty_landing):
    for f in faults(faulty_landing):
        if f["kind"] == "truncated_file":
            path = faulty_landing / f["file"]
            assert path.stat().st_size == int(f["original_bytes"] * 0.6)
            entry = manifest(path.parent)["files"][0]
            assert sha256(path) != entry["sha256"]


def test_dropped_delivery_is_absent_and_its_redelivery_complete(faulty_landing):
    (drop,) = [f for f in faults(faulty_landing) if f["kind"] == "no_delivery"]
    assert (drop["source"], drop["delivery_date"]) == ("taobao", "2024-07-03")
    assert not (faulty_landing / "dt=2024-07-03" / "partner=taobao").exists()
    assert (faulty_landing / "dt=2024-07-03" / "content").exists()
    again = faulty_landing / drop["redelivery"]
    rows = manifest(again)["files"][0]["rows"]
    assert rows == drop["callbacks_not_delivered"] > 0


def test_lost_callbacks_remove_a_share_of_users_behind_a_consistent_manifest(faulty_landing):
    (lost,) = [f for f in faults(faulty_landing) if f["kind"] == "lost_callbacks"]
    delivered_dir = faulty_landing / f"dt={lost['delivery_date']}" / "partner=taobao"
    m = manifest(delivered_dir)
    path = data_file(delivered_dir, "callbacks.jsonl")
    assert sha256(path) == m["files"][0]["sha256"] and len(jsonl_lines(path)) == m["files"][0]["rows"]
    complete = [json.loads(x) for x in jsonl_lines(data_file(faulty_landing / lost["redelivery"], "callbacks.jsonl"))]
    delivered = [
        r for r in (json.loads(x) if x.startswith("{") and x.endswith("}") else None for x in jsonl_lines(path)) if r
    ]
    users_all = {r["user_key"] for r in complete}
    users_kept = {r.get("user_key") for r in delivered}
    assert len(users_all) == lost["users_in_dump"]
    assert len(users_all - users_kept) == lost["users_lost"] == round(0.5 * len(users_all))
    assert (
        len(complete) - len([r for r in delivered if r["callback_id"] in {c["callback_id"] for c in complete}])
        == lost["callbacks_lost"]
    )


def test_bad_options_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="outside the generated span"):
        from redcat.generate import Faults, PartnerDay

        generate(
            small_options(days=2, faults=Faults(drop_delivery=(PartnerDay("taobao", dt.date(2030, 1, 1)),))),
            Path("/nonexistent"),
        )
