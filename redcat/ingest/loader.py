"""Load one landing file (a source table on a delivery date) into the raw layer.

verify manifest (sha256, rows) and, for partners, the sampling policy
-> read every line with DuckDB, validate against the contract, quarantine bad lines
-> drop duplicates (within the file, and of earlier deliveries: first delivery wins)
-> write Parquet and commit (see rawstore.py).
A file that fails verification loads nothing and leaves the previous state in place.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from redcat import acceptances, contract, reference
from redcat.config import Settings
from redcat.contract import SourceTable
from redcat.duck import connect
from redcat.ingest import rawstore
from redcat.ingest.ledger import ensure_schema, insert_ledger
from redcat.ingest.manifest import ManifestProblem, find_data_file, read_manifest, sha256_file
from redcat.timeutil import BUSINESS_TZ
from redcat.ingest.validate import csv_parse_sql, ident, jsonl_detail_sql, jsonl_parse_sql, line_reader, q

LOADED, REJECTED, NO_DELIVERY, NOT_IN_PROGRAMME, KEPT = "loaded", "rejected", "no_delivery", "not_in_programme", "kept"
DELIVERIES_TABLE = "deliveries"


class PolicyProblem(Exception):
    """A partner manifest disagrees with seeds/callback_sampling_policy.csv."""


class ContractProblem(Exception):
    """The file cannot be read as the contract describes (header, record layout)."""


@dataclass
class LoadResult:
    source: str
    table: str
    delivery_date: str
    status: str
    load_id: str
    message: str = ""
    rejected_by: str | None = None  # manifest | policy | contract
    file: str | None = None
    sha256_declared: str | None = None
    sha256_actual: str | None = None
    rows_declared: int | None = None
    rows_read: int | None = None
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    later_conflicts: int = 0
    program_version: str | None = None
    sampling_ratio: float | None = None
    seconds: float = 0.0

    @property
    def balanced(self) -> bool:
        if self.status != LOADED:
            return True
        return self.rows_loaded + self.rows_quarantined + self.rows_duplicate == self.rows_declared

    @property
    def asset_key(self) -> tuple[str, str]:
        return (self.source, self.table)


def _partner(table: SourceTable) -> str | None:
    return table.source if table.source in reference.partners() else None


class Loader:
    """Loads partitions into the raw layer of one warehouse. One instance per run."""

    def __init__(self, settings: Settings, run_id: str | None = None, progress: Callable[[str], None] | None = None):
        self.settings = settings
        self.run_id = run_id
        self.progress = progress or (lambda stage: None)
        self.con = connect(settings.warehouse)
        ensure_schema(self.con)
        acceptances.ensure(settings)  # dbt reads it as a source, so it exists from the first load
        self.recovered = rawstore.migrate_partner_layout(self.con, settings.raw_dir)
        self.recovered += rawstore.recover(self.con, settings.raw_dir)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Loader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------
    def load(self, table: SourceTable, day: dt.date, reloading_until: dt.date | None = None) -> LoadResult:
        """Load one partition. `reloading_until`: the caller reloads every later partition up to
        this date next, so only partitions after it can keep keys this delivery wins."""
        started = dt.datetime.now(dt.UTC)
        t0 = time.perf_counter()
        iso = day.isoformat()
        res = LoadResult(table.source, table.table, iso, status=LOADED, load_id=uuid.uuid4().hex)
        self.conflicts_after = max(day, reloading_until or day).isoformat()
        self.pending: list[tuple] = []
        self.committed = False
        self.event_range: tuple = (None, None)
        directory = self.settings.landing_dir / f"dt={iso}" / contract.delivery_dir(table.source)
        partner = _partner(table)
        programme = reference.policy_for(partner, day) if partner else None
        try:
            if not directory.exists():
                self._absent(table, res, directory, partner, programme)
            else:
                self._load_file(table, day, directory, partner, programme, res)
        except ManifestProblem as e:
            res.status, res.rejected_by, res.message = REJECTED, "manifest", str(e)
        except PolicyProblem as e:
            res.status, res.rejected_by, res.message = REJECTED, "policy", str(e)
        except ContractProblem as e:
            res.status, res.rejected_by = REJECTED, "contract"
            res.message = (f"{res.file or directory}: cannot be read as the contract describes: {e}. Nothing was loaded "
                           "from it; ask the sender to re-deliver it in the contract's format, then re-run this partition.")
        try:
            res.seconds = time.perf_counter() - t0
            if res.status in (REJECTED, KEPT):
                # Nothing else changes: the ledger records the attempt and the previous state stays.
                self.con.execute("BEGIN")
                insert_ledger(self.con, self._ledger_row(res, started))
                self.con.execute("COMMIT")
            else:
                self._commit(table, res, started)
        finally:
            if not self.committed:  # written but never committed: a rejected or failed load
                for *_, pending, _rows, _range in self.pending:
                    pending.unlink(missing_ok=True)
            # A committed load whose rename failed keeps its pending file: recover() rolls it forward.
            self._drop_temp()
        return res

    # ------------------------------------------------------------------
    def _absent(self, table, res, directory, partner, programme) -> None:
        committed = self.con.execute(
            "SELECT load_id FROM ops.raw_partitions WHERE source = ? AND table_name = ? AND delivery_date = ?",
            [table.source, table.table, res.delivery_date],
        ).fetchone()
        if partner and programme is None:
            res.status = NOT_IN_PROGRAMME
            res.message = f"{partner} runs no callback programme on {res.delivery_date} (seeds/callback_sampling_policy.csv)"
        elif committed and self._has_rows(table, res.delivery_date):
            res.status = KEPT
            res.message = (f"{directory} is gone but the raw partition loaded by {committed[0]} is kept; "
                           "restore the landing files to reload it")
            return
        else:
            res.status = NO_DELIVERY
            res.message = (f"{directory} did not arrive. "
                           + ("If the partner delivers later, re-run this partition; the delivery sensor does it."
                              if partner else "Content dumps are expected daily: find out why it is missing, then re-run."))
        self._write_empty(table, res)

    def _has_rows(self, table: SourceTable, day: str) -> bool:
        row = self.con.execute(
            "SELECT rows FROM ops.raw_partitions WHERE source = ? AND table_name = ? AND delivery_date = ?",
            [table.source, table.table, day],
        ).fetchone()
        return bool(row and row[0])

    def _load_file(self, table, day, directory, partner, programme, res) -> None:
        self.progress("verify")
        manifest = read_manifest(directory)
        if manifest.source != table.source or manifest.delivery_date != res.delivery_date:
            raise ManifestProblem(
                f"{manifest.path} says source={manifest.source!r}, delivery_date={manifest.delivery_date!r} but it lies in "
                f"{directory}. The folder and the manifest must agree; ask the sender to fix the delivery."
            )
        path, entry = find_data_file(directory, table.stem, manifest)
        res.file = str(path.relative_to(self.settings.landing_dir))
        res.rows_declared, res.sha256_declared = entry.rows, entry.sha256
        if partner:
            res.program_version, res.sampling_ratio = manifest.program_version, manifest.sampling_ratio
        actual = res.sha256_actual = sha256_file(path)
        if actual != entry.sha256:
            raise ManifestProblem(
                f"{res.file}: sha256 is {actual} but {manifest.path.name} declares {entry.sha256}; the file changed after "
                "its manifest was written (truncated or partial upload?). Nothing was loaded from it. "
                "Ask the sender to re-deliver the file, then re-run this partition."
            )
        if partner:
            _check_policy(manifest, partner, programme, res.delivery_date)
        self.progress("validate")
        try:
            if table.fmt == "jsonl":
                self._parse_jsonl(table, path)
            else:
                self._parse_csv(table, path)
        except duckdb.Error as e:  # unreadable bytes (not gzip, not text): the file, not the loader
            raise ContractProblem(str(e).splitlines()[0]) from None
        res.rows_read = self.con.execute("SELECT count(*) FROM parsed").fetchone()[0]
        if res.rows_read != entry.rows:
            raise ManifestProblem(
                f"{res.file}: {res.rows_read} lines but {manifest.path.name} declares {entry.rows}. Nothing was loaded "
                "from it. Ask the sender to re-deliver the file with a matching manifest, then re-run this partition."
            )
        self.progress("dedupe")
        self._dedupe(table, res)
        self.progress("write")
        self._write_rows(table, res)

    # --- parsing -------------------------------------------------------
    def _parse_jsonl(self, table: SourceTable, path: Path) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE parsed AS {jsonl_parse_sql(table, path, 'enc_rejects')}")
        self._fix_line_numbers_after_encoding_rejects()
        self.con.execute(f"UPDATE parsed SET detail = d.detail FROM ({jsonl_detail_sql(table)}) d "
                         "WHERE parsed.line_number = d.line_number")
        self.con.execute(
            "INSERT INTO parsed (line_number, raw_text, reason, detail) "
            f"SELECT line, csv_line, {q(contract.MALFORMED_LINE)}, 'line is not valid UTF-8' FROM enc_rejects"
        )

    def _fix_line_numbers_after_encoding_rejects(self) -> None:
        """Rejected lines do not get an ordinal: shift later lines back to their physical number."""
        if not self.con.execute("SELECT count(*) FROM enc_rejects").fetchone()[0]:
            return
        self.con.execute(
            """
            CREATE OR REPLACE TEMP TABLE rej_shift AS
            SELECT line - row_number() OVER (ORDER BY line) AS good_before, row_number() OVER (ORDER BY line) AS j
            FROM enc_rejects;
            UPDATE parsed SET line_number = line_number + coalesce(
                (SELECT max(j) FROM rej_shift WHERE good_before < parsed.line_number), 0);
            """
        )

    def _parse_csv(self, table: SourceTable, path: Path) -> None:
        con = self.con
        names = [f.name for f in table.fields]
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE parsed AS SELECT ordinality AS line_number, line AS text "
            f"FROM {line_reader(path, 'enc_rejects')}"
        )
        self._fix_line_numbers_after_encoding_rejects()
        header = con.execute("SELECT text FROM parsed WHERE line_number = 1").fetchone()
        got = [h.strip().strip('"').lstrip("\ufeff") for h in (header[0] if header and header[0] else "").split(",")]
        if got not in table.accepted_headers():
            raise ContractProblem(f"header is {','.join(got)!r}, expected {','.join(names)!r}")
        con.execute("ALTER TABLE parsed RENAME TO lines")
        present = got  # an older file may lack the trailing optional columns: they load empty
        columns = "{" + ", ".join(f"{q(n)}: 'VARCHAR'" for n in present) + "}"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE csv_rows AS SELECT ordinality AS r, * FROM read_csv({q(str(path))}, "
            f"header=true, columns={columns}, auto_detect=false, strict_mode=true, delim=',', quote='\"', escape='\"', "
            "store_rejects=true, rejects_table='csv_rejects', rejects_scan='csv_rejects_scan') WITH ORDINALITY"
        )
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE csv_bad AS
            SELECT line AS line_number, any_value(csv_line) AS text,
                   'CSV ' || lower(replace(any_value(error_type), '_', ' ')) || ': ' || any_value(error_message) AS detail0
            FROM csv_rejects GROUP BY line;
            CREATE OR REPLACE TEMP TABLE csv_map AS
            SELECT line_number, row_number() OVER (ORDER BY line_number) AS r FROM lines
            WHERE line_number > 1 AND text IS NOT NULL AND trim(text) <> ''
              AND line_number NOT IN (SELECT line_number FROM csv_bad);
            """
        )
        mapped, rows = con.execute("SELECT (SELECT count(*) FROM csv_map), (SELECT count(*) FROM csv_rows)").fetchone()
        if mapped != rows:
            raise ContractProblem(f"{rows} records on {mapped} lines: a quoted field spans lines; redcat expects one record per line")
        cols = ", ".join(f"r.{ident(n)}" if n in present else f"CAST(NULL AS VARCHAR) AS {ident(n)}" for n in names)
        nulls = ", ".join(f"NULL AS {ident(n)}" for n in names)
        relation = f"""(
            SELECT m.line_number, l.text, true AS ok, NULL AS detail0, {cols}
            FROM csv_rows r JOIN csv_map m USING (r) JOIN lines l USING (line_number)
            UNION ALL SELECT line_number, text, false, detail0, {nulls} FROM csv_bad
            UNION ALL SELECT line_number, text, false, 'blank line', {nulls} FROM lines
                      WHERE line_number > 1 AND (text IS NULL OR trim(text) = '')
                        AND line_number NOT IN (SELECT line_number FROM csv_bad)
        )"""
        con.execute(f"CREATE OR REPLACE TEMP TABLE parsed AS {csv_parse_sql(table, relation)}")

    # --- duplicates ----------------------------------------------------
    def _dedupe(self, table: SourceTable, res: LoadResult) -> None:
        """Decide which valid lines are duplicates (`drop_lines`). Most files have none, so the
        expensive steps run only when a cheap count says they are needed."""
        con = self.con
        key = ", ".join(ident(k) for k in table.key)
        ts = ident(table.event_time)
        valid, distinct, lo, hi = con.execute(
            f"SELECT count(*), count(DISTINCT ({key})), min({ts}), max({ts}) FROM parsed WHERE reason IS NULL"
        ).fetchone()
        con.execute("CREATE OR REPLACE TEMP TABLE drop_lines (line_number BIGINT)")
        if distinct < valid:  # the same key twice in this file: first (or last) line wins
            order = "line_number" if table.dedup == "first" else "line_number DESC"
            con.execute(
                f"""INSERT INTO drop_lines SELECT line_number FROM parsed WHERE reason IS NULL
                    QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {order}) > 1"""
            )
        if table.dedup == "first" and lo is not None:
            self._drop_earlier_deliveries(table, res, key, ts, lo, hi)
        dropped = con.execute("SELECT count(DISTINCT line_number) FROM drop_lines").fetchone()[0]
        res.rows_loaded, res.rows_duplicate = valid - dropped, dropped
        self.event_range = (lo, hi)
        res.quarantine_by_reason = dict(
            con.execute("SELECT reason, count(*) FROM parsed WHERE reason IS NOT NULL GROUP BY ALL ORDER BY 1").fetchall()
        )
        res.rows_quarantined = sum(res.quarantine_by_reason.values())

    def _partitions_overlapping(self, table: SourceTable, day: str, op: str, lo, hi) -> list[str]:
        rows = self.con.execute(
            f"""SELECT path FROM ops.raw_partitions WHERE source = ? AND table_name = ? AND delivery_date {op} ?
                AND rows > 0 AND max_event_time >= ? AND min_event_time <= ? ORDER BY delivery_date""",
            [table.source, table.table, day, lo, hi],
        ).fetchall()
        return [r[0] for r in rows if Path(r[0]).exists()]

    def _drop_earlier_deliveries(self, table: SourceTable, res: LoadResult, key: str, ts: str, lo, hi) -> None:
        """First delivery wins. An earlier delivery holds only events up to its own date, so only
        this file's late rows (dated before its delivery date) can repeat one; those few probe
        the earlier partitions whose event times overlap."""
        con = self.con
        day_start = dt.datetime.combine(dt.date.fromisoformat(res.delivery_date), dt.time(), BUSINESS_TZ)
        earlier = self._partitions_overlapping(table, res.delivery_date, "<", lo, min(hi, day_start))
        if earlier and lo < day_start:
            files = "[" + ", ".join(q(p) for p in earlier) + "]"
            con.execute(
                f"""INSERT INTO drop_lines
                    SELECT DISTINCT late.line_number
                    FROM (SELECT line_number, {key} FROM parsed WHERE reason IS NULL AND {ts} < ?) late
                    JOIN (SELECT {key} FROM read_parquet({files}) WHERE {ts} BETWEEN ? AND ?) prior USING ({key})""",
                [day_start, lo, day_start],
            )
        later = self._partitions_overlapping(table, self.conflicts_after, ">", lo, hi)
        if later:
            # Loaded out of order or re-run: later partitions may now hold keys that this earlier
            # delivery wins. Reported (and fixed by re-running those partitions).
            files = "[" + ", ".join(q(p) for p in later) + "]"
            res.later_conflicts = con.execute(
                f"""SELECT count(*) FROM read_parquet({files}) prior
                    SEMI JOIN (SELECT {key} FROM parsed WHERE reason IS NULL) mine USING ({key})"""
            ).fetchone()[0]

    # --- writing and committing ---------------------------------------
    def _write_rows(self, table: SourceTable, res: LoadResult) -> None:
        cols = ", ".join(ident(f.name) for f in table.fields)
        pending = rawstore.pending_path(self.settings.raw_dir, table.source, table.table, res.delivery_date, res.load_id)
        pending.parent.mkdir(parents=True, exist_ok=True)
        keep = "" if not res.rows_duplicate else "AND line_number NOT IN (SELECT line_number FROM drop_lines)"
        self.con.execute(
            f"""COPY (SELECT {cols}, DATE {q(res.delivery_date)} AS delivery_date, {q(res.file)} AS source_file,
                        line_number AS source_line
                 FROM parsed WHERE reason IS NULL {keep} ORDER BY {ident(table.event_time)}, line_number)
                TO {q(str(pending))} (FORMAT parquet, COMPRESSION zstd)"""
        )
        self.pending = [(table.source, table.table, pending, res.rows_loaded, self.event_range)]

    def _write_empty(self, table: SourceTable, res: LoadResult) -> None:
        """An empty partition with the table's schema, so every delivery date has a file."""
        types = {"timestamp": "TIMESTAMPTZ", "date": "DATE", "amount": "DECIMAL(18, 2)"}
        cols = ", ".join(f"CAST(NULL AS {types.get(f.kind, 'VARCHAR')}) AS {ident(f.name)}" for f in table.fields)
        pending = rawstore.pending_path(self.settings.raw_dir, table.source, table.table, res.delivery_date, res.load_id)
        pending.parent.mkdir(parents=True, exist_ok=True)
        self.con.execute(
            f"""COPY (SELECT {cols}, CAST(NULL AS DATE) AS delivery_date, CAST(NULL AS VARCHAR) AS source_file,
                        CAST(NULL AS BIGINT) AS source_line LIMIT 0) TO {q(str(pending))} (FORMAT parquet)"""
        )
        self.pending = [(table.source, table.table, pending, 0, (None, None))]

    def _write_delivery_record(self, res: LoadResult) -> None:
        """Partners: one row per delivery date that dbt reads for programme and arrival status (the
        partner is the partition directory's, partner=<name>)."""
        pending = rawstore.pending_path(self.settings.raw_dir, res.source, DELIVERIES_TABLE, res.delivery_date, res.load_id)
        pending.parent.mkdir(parents=True, exist_ok=True)
        self.con.execute(
            f"""COPY (SELECT ?::DATE AS delivery_date, ?::VARCHAR AS status,
                        ?::VARCHAR AS program_version, ?::DOUBLE AS sampling_ratio, ?::BIGINT AS rows_declared,
                        ?::BIGINT AS rows_loaded, ?::BIGINT AS rows_quarantined, ?::BIGINT AS rows_duplicate,
                        ?::VARCHAR AS load_id) TO {q(str(pending))} (FORMAT parquet)""",
            [res.delivery_date, res.status, res.program_version, res.sampling_ratio, res.rows_declared,
             res.rows_loaded, res.rows_quarantined, res.rows_duplicate, res.load_id],
        )
        self.pending.append((res.source, DELIVERIES_TABLE, pending, 1, (None, None)))

    def _commit(self, table: SourceTable, res: LoadResult, started: dt.datetime) -> None:
        if _partner(table):
            self._write_delivery_record(res)
        self.progress("commit")
        con = self.con
        con.execute("BEGIN")
        try:
            con.execute("DELETE FROM ops.quarantine WHERE source = ? AND table_name = ? AND delivery_date = ?",
                        [table.source, table.table, res.delivery_date])
            if res.status == LOADED and res.rows_quarantined:
                con.execute(
                    """INSERT INTO ops.quarantine SELECT ?, ?, ?, ?, ?, line_number, raw_text, reason, detail
                       FROM parsed WHERE reason IS NOT NULL ORDER BY line_number""",
                    [res.load_id, table.source, table.table, res.delivery_date, res.file],
                )
            for source, name, pending, rows, (lo, hi) in self.pending:
                con.execute("DELETE FROM ops.raw_partitions WHERE source = ? AND table_name = ? AND delivery_date = ?",
                            [source, name, res.delivery_date])
                con.execute(
                    "INSERT INTO ops.raw_partitions VALUES (?, ?, ?, ?, ?, ?, ?, ?, now())",
                    [source, name, res.delivery_date, res.load_id, str(pending.parent / rawstore.DATA_FILE), rows, lo, hi],
                )
            insert_ledger(con, self._ledger_row(res, started))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self.committed = True
        for *_, pending, _rows, _range in self.pending:
            rawstore.publish(pending)

    def _ledger_row(self, res: LoadResult, started: dt.datetime) -> dict:
        lo, hi = self.event_range if res.status == LOADED else (None, None)
        return {
            **res.__dict__,
            "table_name": res.table,
            "run_id": self.run_id,
            "min_event_time": lo,
            "max_event_time": hi,
            "started_at": started,
            "finished_at": dt.datetime.now(dt.UTC),
        }

    def _drop_temp(self) -> None:
        for name in ("parsed", "lines", "csv_rows", "csv_bad", "csv_map", "drop_lines", "rej_shift",
                     "enc_rejects", "enc_rejects_scan", "csv_rejects", "csv_rejects_scan"):
            self.con.execute(f"DROP TABLE IF EXISTS temp.{name}")


def _check_policy(manifest, partner: str, programme, day: str) -> None:
    if programme is None:
        raise PolicyProblem(
            f"{manifest.path} is a {partner} delivery for {day}, but seeds/callback_sampling_policy.csv has no {partner} "
            "programme in force that day. If the programme changed, add it to the policy seed; otherwise ask the "
            "partner why it delivered."
        )
    if manifest.program_version != programme.program_version or manifest.sampling_ratio is None or abs(
        manifest.sampling_ratio - programme.sampling_ratio
    ) > 1e-9:
        raise PolicyProblem(
            f"{manifest.path}: program_version={manifest.program_version!r}, sampling_ratio={manifest.sampling_ratio} but "
            f"the policy for {partner} on {day} is {programme.program_version!r} at {programme.sampling_ratio}. Estimates "
            "would be weighted wrongly, so nothing was loaded. Confirm the ratio with the partner: fix the policy seed "
            "if the programme changed, or ask for a corrected manifest; then re-run this partition."
        )
