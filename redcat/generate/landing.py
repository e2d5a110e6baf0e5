"""Writes one delivery day into the landing zone, per the contract in docs/contract.md.

DuckDB renders the JSON lines (fast and exact); malformed lines chosen by the fault
plan are spliced in at known positions; gzip runs on both cores as a multi-member
stream (valid gzip, read by DuckDB, zcat and Python alike).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from redcat import contract
from redcat.generate.batch import Batch
from redcat.generate.names import creator_names, note_titles
from redcat.generate.simulate import CALLBACK_TYPES, CONTENT_TYPES
from redcat.generate.world import World, partner_traits

GZIP_CHUNK = 16 << 20


@dataclass
class WrittenFile:
    path: Path  # absolute
    rows: int  # lines (records) in the file, header excluded
    bad_lines: list[tuple[int, str]]  # (line number in the file, malformed kind)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(
    directory: Path, source: str, delivery_date: str, files: list[WrittenFile], program: dict | None
) -> None:
    manifest = {"source": source, "delivery_date": delivery_date}
    if program is not None:
        manifest.update(program)
    manifest["files"] = [{"name": f.path.name, "rows": f.rows, "sha256": sha256_file(f.path)} for f in files]
    (directory / contract.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def gzip_file(src: Path, dst: Path) -> None:
    """Compress on all cores: independent gzip members concatenate into one valid stream."""
    data = src.read_bytes()
    chunks, i = [], 0
    while i < len(data):
        j = data.find(b"\n", min(i + GZIP_CHUNK, len(data) - 1)) + 1 or len(data)
        chunks.append(data[i:j])
        i = j
    with ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))) as pool:
        members = list(pool.map(lambda c: gzip.compress(c, compresslevel=1, mtime=0), chunks))
    with open(dst, "wb") as fh:
        for m in members:
            fh.write(m)
    src.unlink()


class LandingWriter:
    def __init__(self, world: World, use_gzip: bool):
        self.world = world
        self.gzip = use_gzip
        self.con = duckdb.connect()
        self.con.execute("SET preserve_insertion_order = true")
        users = pa.table(
            {"user": pa.array(np.arange(len(world.user_keys), dtype=np.int32)), "user_key": world.user_keys}
        )
        brands = pa.table(
            {"brand": pa.array(np.arange(len(world.brand_ids), dtype=np.int32)), "brand_id": world.brand_ids}
        )
        self.con.register("users", users)
        self.con.register("brands", brands)
        self.con.execute(
            f"CREATE TEMP TABLE content_types AS SELECT * FROM (VALUES {_values(CONTENT_TYPES)}) t(etype, name)"
        )
        self.con.execute(
            f"CREATE TEMP TABLE callback_types AS SELECT * FROM (VALUES {_values(CALLBACK_TYPES)}) t(etype, name)"
        )
        self.con.execute(
            f"CREATE TEMP TABLE partners AS SELECT * FROM (VALUES {_values(world.partners)}) t(partner, name)"
        )

    # --- content -----------------------------------------------------------
    def note_events(self, directory: Path, events: Batch, bad: list[str], rng: np.random.Generator) -> WrittenFile:
        self._register_notes()
        self.con.register("ev", events.to_arrow())
        render = """
            SELECT t_ms, seq, dup,
                   (CASE WHEN ct.name = 'link_click' THEN
                       to_json(struct_pack(event_id := printf('ev%010d', seq), event_type := ct.name, event_time := {ts},
                                   user_key := u.user_key, note_id := n.note_id,
                                   link_partner := p.name, link_surface := CASE surface WHEN 0 THEN 'note' ELSE 'comment' END))
                   ELSE to_json(struct_pack(event_id := printf('ev%010d', seq), event_type := ct.name, event_time := {ts},
                                    user_key := u.user_key, note_id := n.note_id)) END)::VARCHAR AS line
            FROM ev
            JOIN content_types ct USING (etype)
            JOIN users u USING (user)
            JOIN notes n USING (note)
            LEFT JOIN partners p ON p.partner = ev.partner
        """.format(ts=_ts_sql("t_ms", "+08:00"))
        path = directory / contract.NOTE_EVENTS.stem
        return self._write_lines(path, render, bad, rng, "content")

    def _register_notes(self) -> None:
        notes = self.world.notes
        idx = np.arange(len(notes), dtype=np.int32)
        self.con.register("notes", pa.table({"note": idx, "note_id": self.world.note_ids(idx)}))

    def notes_csv(self, directory: Path, note_idx: np.ndarray, bad: list[str], rng: np.random.Generator) -> WrittenFile:
        w = self.world
        notes = w.notes
        link = notes.link_partner[note_idx]
        categories = np.array(w.categories)[w.brand_category[notes.brand[note_idx]]]
        rows = [
            [nid, cid, bid, cat, pub, lp, title, cname]
            for nid, cid, bid, cat, pub, lp, title, cname in zip(
                w.note_ids(note_idx),
                w.creator_ids[notes.creator[note_idx]],
                w.brand_ids[notes.brand[note_idx]],
                categories,
                _iso_local(notes.published_ms[note_idx]),
                np.where(link >= 0, np.array(w.partners + ("",))[link], ""),
                note_titles(note_idx, categories),
                creator_names(notes.creator[note_idx]),
            )
        ]
        header = [f.name for f in contract.NOTES.fields]
        return self._write_csv(directory / contract.NOTES.stem, header, rows, bad, rng, "notes")

    def ad_spend_csv(self, directory: Path, rows: list[list], bad: list[str], rng: np.random.Generator) -> WrittenFile:
        header = [f.name for f in contract.AD_SPEND.fields]
        return self._write_csv(directory / contract.AD_SPEND.stem, header, rows, bad, rng, "ad_spend")

    # --- partners ----------------------------------------------------------
    def callbacks(
        self, directory: Path, partner: str, cbs: Batch, bad: list[str], rng: np.random.Generator
    ) -> WrittenFile:
        self.con.register("cb", cbs.to_arrow())
        traits = partner_traits(partner)
        style, prefix = traits.time_style, traits.callback_prefix
        order_prefix = prefix.upper()
        render = f"""
            SELECT t_ms, seq, dup,
                   (CASE WHEN ct.name IN ('purchase', 'refund') THEN
                       to_json(struct_pack(callback_id := printf('{prefix}-%09d', seq), event_type := ct.name,
                                   event_time := {_ts_sql("t_ms", style)}, user_key := u.user_key, brand_id := b.brand_id,
                                   order_id := printf('{order_prefix}%011d', "order"), gmv_cny := round(gmv_fen / 100.0, 2)))
                   ELSE to_json(struct_pack(callback_id := printf('{prefix}-%09d', seq), event_type := ct.name,
                                    event_time := {_ts_sql("t_ms", style)}, user_key := u.user_key, brand_id := b.brand_id)) END)::VARCHAR AS line
            FROM cb
            JOIN callback_types ct USING (etype)
            JOIN users u USING (user)
            JOIN brands b USING (brand)
        """
        path = directory / contract.CALLBACKS[partner].stem
        return self._write_lines(path, render, bad, rng, "callbacks")

    # --- writers -----------------------------------------------------------
    def _write_lines(self, path: Path, render_sql: str, bad: list[str], rng, stream: str) -> WrittenFile:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = self.con
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE lines AS SELECT CAST(row_number() OVER (ORDER BY t_ms, seq, dup) AS DOUBLE) AS ord, "
            f"line, false AS bad, NULL::VARCHAR AS kind FROM ({render_sql})"
        )
        n = con.execute("SELECT count(*) FROM lines").fetchone()[0]
        if bad:
            templates = [r[0] for r in con.execute("SELECT line FROM lines ORDER BY ord LIMIT 200").fetchall()]
            pos = np.sort(rng.integers(0, n + 1, len(bad))) + 0.5 + np.arange(len(bad)) * 1e-6
            for i, kind in enumerate(bad):
                template = (
                    json.loads(templates[int(rng.integers(0, len(templates)))]) if templates else _empty_record(stream)
                )
                text = corrupt_record(
                    kind, template, stream, f"bad-{path.parent.parent.name[3:]}-{path.parent.name}-{i}"
                )
                con.execute("INSERT INTO lines VALUES (?, ?, true, ?)", [float(pos[i]), text, kind])
        bad_lines = [
            (int(line_no), kind)
            for line_no, kind in con.execute(
                "SELECT line_no, kind FROM (SELECT row_number() OVER (ORDER BY ord) AS line_no, bad, kind FROM lines) WHERE bad ORDER BY line_no"
            ).fetchall()
        ]
        plain = path if not self.gzip else path.with_name(path.name + ".tmp")
        con.execute(
            f"COPY (SELECT line FROM lines ORDER BY ord) TO '{plain}' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\\0')"
        )
        rows = n + len(bad)
        if self.gzip:
            final = path.with_name(path.name + ".gz")
            gzip_file(plain, final)
            path = final
        return WrittenFile(path, rows, bad_lines)

    def _write_csv(
        self, path: Path, header: list[str], rows: list[list], bad: list[str], rng, table: str
    ) -> WrittenFile:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [list(map(str, r)) for r in rows]
        positions = []
        for i, kind in enumerate(bad):
            template = (
                dict(zip(header, lines[int(rng.integers(0, len(lines)))])) if lines else dict.fromkeys(header, "x")
            )
            at = int(rng.integers(0, len(lines) + 1))
            lines.insert(at, corrupt_csv_row(kind, template, table, header, i))
            positions = [p + 1 if p >= at else p for p in positions] + [at]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(header)
        for r in lines:
            writer.writerow(r) if isinstance(r, list) else buf.write(r + "\n")
        path.write_text(buf.getvalue(), encoding="utf-8")
        # line numbers in the file: the header is line 1
        bad_lines = sorted((p + 2, kind) for p, kind in zip(positions, bad))
        return WrittenFile(path, len(lines), bad_lines)


def _values(names) -> str:
    return ", ".join(f"({i}, '{n}')" for i, n in enumerate(names))


def _ts_sql(col: str, style: str) -> str:
    if style == "Z":
        return f"strftime(make_timestamp({col} * 1000), '%Y-%m-%dT%H:%M:%S.%gZ')"
    return f"strftime(make_timestamp({col} * 1000) + INTERVAL 8 HOUR, '%Y-%m-%dT%H:%M:%S.%g+08:00')"


def _iso_local(ms: np.ndarray) -> list[str]:
    local = (np.asarray(ms) + 8 * 3_600_000).astype("datetime64[ms]")
    return [s + "+08:00" for s in np.datetime_as_string(local, unit="s")]


def _empty_record(stream: str) -> dict:
    if stream == "content":
        return {
            "event_id": "",
            "event_type": "read",
            "event_time": "2024-01-01T00:00:00.000+08:00",
            "user_key": "0" * 64,
            "note_id": "n0000001",
        }
    return {
        "callback_id": "",
        "event_type": "search",
        "event_time": "2024-01-01T00:00:00.000+08:00",
        "user_key": "0" * 64,
        "brand_id": "b0001",
    }


def corrupt_record(kind: str, record: dict, stream: str, fresh_id: str) -> str:
    """A JSON line that breaks the contract in exactly one way (`kind`)."""
    id_field = "event_id" if stream == "content" else "callback_id"
    record = dict(record)
    record[id_field] = fresh_id  # never collides with a real record
    if kind == contract.MALFORMED_LINE:
        text = json.dumps(record, separators=(",", ":"))
        return text[: max(1, len(text) * 2 // 3)]
    if kind == contract.UNKNOWN_ENUM:
        record["event_type"] = "impression" if stream == "content" else "checkout"
    elif kind == contract.UNPARSABLE_TIME:
        record["event_time"] = "2024-07-15T25:61:00+08:00"
    elif kind == contract.MISSING_KEY:
        record.pop("user_key", None)
    elif kind == contract.NEGATIVE_AMOUNT:
        record.update(
            event_type="purchase", order_id=f"NEG{fresh_id}", gmv_cny=-abs(float(record.get("gmv_cny") or 99.0))
        )
    else:
        raise ValueError(f"unknown malformed kind {kind!r}")
    return json.dumps(record, separators=(",", ":"))


def corrupt_csv_row(kind: str, row: dict, table: str, header: list[str], i: int) -> list[str] | str:
    row = dict(row)
    if table == "notes":
        row["note_id"] = f"n-bad-{i}"
        if kind == contract.MALFORMED_LINE:
            return f"{row['note_id']},{row['creator_id']}"  # two of eight fields
        if kind == contract.UNKNOWN_ENUM:
            row["link_partner"] = "amazon"
        elif kind == contract.UNPARSABLE_TIME:
            row["published_at"] = "yesterday evening"
        elif kind == contract.MISSING_KEY:
            row["note_id"] = ""
    else:
        row["campaign_id"] = f"cmp-bad-{i}"
        if kind == contract.MALFORMED_LINE:
            return ",".join(list(row.values()) + ["surplus", "fields"])
        if kind == contract.UNKNOWN_ENUM:
            row["funding_source"] = "agency"
        elif kind == contract.UNPARSABLE_TIME:
            row["spend_date"] = "2024/13/45"
        elif kind == contract.MISSING_KEY:
            row["campaign_id"] = ""
        elif kind == contract.NEGATIVE_AMOUNT:
            row["spend_cny"] = "-120.00"
    return [row[h] for h in header]
