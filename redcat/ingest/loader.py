"""Load one landing file (a source table on a delivery date) into the raw layer.

verify manifest (sha256, rows) and, for partners, the sampling policy
-> read every line (JSONL with DuckDB, CSV line by line: lines.py), validate against the contract
   and the plausibility rules (rules.py), quarantine bad lines
-> drop duplicates (within the file, and of deliveries within the horizon: first delivery wins)
-> write Parquet and commit (see rawstore.py).
A file that fails verification loads nothing and leaves the previous state in place.
"""

from __future__ import annotations

import datetime as dt
import gzip
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
from redcat.duck import sql_literal as q
from redcat.ingest import rawfs, rawstore
from redcat.ingest.ledger import ensure_schema, insert_ledger
from redcat.ingest.lines import MAX_LINE_BYTES, RAW_TEXT_PREVIEW, csv_records, has_bare_carriage_return, lines_table
from redcat.ingest.manifest import (
    ManifestProblem,
    find_data_file,
    inside_landing,
    read_manifest,
    sha256_file,
    unlisted_files,
)
from redcat.ingest.rules import Rules, horizon_days
from redcat.ingest.validate import csv_parse_sql, ident, jsonl_detail_sql, jsonl_parse_sql, reader_lines

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
    over_refunds: int = 0
    warnings: list[str] = field(default_factory=list)
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
        Rules.for_day(dt.date.today())  # an unusable REDCAT_* setting fails here, before any load (SettingProblem)
        rawfs.check(settings.raw_dir)  # object storage: endpoint, credentials and bucket usable (RawStoreProblem)
        self.con = rawfs.register(connect(settings.warehouse), settings.raw_dir)
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
            res.message = (
                f"{res.file or directory}: cannot be read as the contract describes: {e}. Nothing was loaded "
                "from it; ask the sender to re-deliver it in the contract's format, then re-run this partition."
            )
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
                    rawfs.remove(pending)
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
            res.message = (
                f"{partner} runs no callback programme on {res.delivery_date} (seeds/callback_sampling_policy.csv)"
            )
        elif committed and self._has_rows(table, res.delivery_date):
            res.status = KEPT
            res.message = (
                f"{directory} is gone but the raw partition loaded by {committed[0]} is kept; "
                "restore the landing files to reload it"
            )
            return
        else:
            res.status = NO_DELIVERY
            res.message = f"{directory} did not arrive. " + (
                "If the partner delivers later, re-run this partition; the delivery sensor does it."
                if partner
                else "Content dumps are expected daily: find out why it is missing, then re-run."
            )
        self._write_empty(table, res)

    def _has_rows(self, table: SourceTable, day: str) -> bool:
        row = self.con.execute(
            "SELECT rows FROM ops.raw_partitions WHERE source = ? AND table_name = ? AND delivery_date = ?",
            [table.source, table.table, day],
        ).fetchone()
        return bool(row and row[0])

    def _load_file(self, table, day, directory, partner, programme, res) -> None:
        self.progress("verify")
        root = self.settings.landing_dir
        inside_landing(directory, root)
        manifest = read_manifest(directory, root)
        if manifest.source != table.source or manifest.delivery_date != res.delivery_date:
            raise ManifestProblem(
                f"{manifest.path} says source={manifest.source!r}, delivery_date={manifest.delivery_date!r} but it lies in "
                f"{directory}. The folder and the manifest must agree; ask the sender to fix the delivery."
            )
        path, entry = find_data_file(directory, table.stem, manifest, root)
        if table == contract.tables_of(table.source)[0]:  # once per delivery folder, with its first table
            extra = unlisted_files(directory, manifest)
            if extra:
                res.warnings.append(
                    f"{directory}: {', '.join(extra)} {'is' if len(extra) == 1 else 'are'} not listed in {manifest.path.name} "
                    "and was not loaded. If it should have been, ask the sender for a manifest that lists it."
                )
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
        rules = Rules.for_day(day)
        try:
            if table.fmt == "jsonl":
                self._parse_jsonl(table, path, rules, entry.rows)
            else:
                self._parse_csv(table, path, rules)
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
    def _parse_jsonl(self, table: SourceTable, path: Path, rules: Rules, declared: int) -> None:
        """DuckDB's streaming line reader; when its count disagrees with the manifest because the
        file holds a bare CR (JSON whitespace, but a line end to that reader), the file is re-read
        with lines split on \\n only (lines.py)."""
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE parsed AS {jsonl_parse_sql(table, reader_lines(path, 'enc_rejects'), rules)}"
        )
        self._reader_rejects(path)
        self._fix_line_numbers_after_encoding_rejects()
        # fetchall: register() below refuses a connection with an unfinished result
        read = self.con.execute(
            "SELECT (SELECT count(*) FROM parsed) + (SELECT count(*) FROM line_rejects)"
        ).fetchall()[0][0]
        if read != declared and has_bare_carriage_return(path):
            good, bad = lines_table(path, self._relative(path))
            self.con.register("py_lines", good)
            self.con.register("py_rejects", bad)
            try:
                self.con.execute(f"CREATE OR REPLACE TEMP TABLE parsed AS {jsonl_parse_sql(table, 'py_lines', rules)}")
                self.con.execute("CREATE OR REPLACE TEMP TABLE line_rejects AS SELECT * FROM py_rejects")
            finally:
                self.con.unregister("py_lines")
                self.con.unregister("py_rejects")
        self.con.execute(
            f"UPDATE parsed SET detail = d.detail FROM ({jsonl_detail_sql(table, rules)}) d "
            "WHERE parsed.line_number = d.line_number"
        )
        self.con.execute(
            "INSERT INTO parsed (line_number, raw_text, reason, detail) "
            "SELECT line_number, raw_text, reason, detail FROM line_rejects"
        )

    def _relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.settings.landing_dir))
        except ValueError:
            return str(path)

    def _reader_rejects(self, path: Path) -> None:
        """Lines DuckDB's reader could not return: over the line limit, or not UTF-8."""
        too_long = q(contract.LINE_TOO_LONG)
        self.con.execute(
            f"""CREATE OR REPLACE TEMP TABLE line_rejects AS
                SELECT line AS line_number, any_value(csv_line) AS raw_text,
                       CASE WHEN bool_or(error_type = 'LINE SIZE OVER MAXIMUM') THEN {too_long}
                            ELSE {q(contract.MALFORMED_LINE)} END AS reason,
                       CASE WHEN bool_or(error_type = 'LINE SIZE OVER MAXIMUM')
                            THEN 'line is ' || coalesce(regexp_extract(any_value(error_message), 'Actual Size:\\s*([0-9]+)', 1), 'more than {MAX_LINE_BYTES}')
                                 || ' bytes, over the {MAX_LINE_BYTES >> 20} MiB line limit; raw_text keeps its first '
                                 || '{RAW_TEXT_PREVIEW:,} characters, the whole line is in ' || {q(self._relative(path))}
                                 || ' from byte ' || (min(byte_position) - 1) || ' (0-based) of its uncompressed text'
                            ELSE 'line is not valid UTF-8' END AS detail
                FROM enc_rejects GROUP BY line"""
        )

    def _fix_line_numbers_after_encoding_rejects(self) -> None:
        """Rejected lines do not get an ordinal: shift later lines back to their physical number."""
        if not self.con.execute("SELECT count(*) FROM line_rejects").fetchone()[0]:
            return
        self.con.execute(
            """
            CREATE OR REPLACE TEMP TABLE rej_shift AS
            SELECT line_number - row_number() OVER (ORDER BY line_number) AS good_before,
                   row_number() OVER (ORDER BY line_number) AS j
            FROM line_rejects;
            UPDATE parsed SET line_number = line_number + coalesce(
                (SELECT max(j) FROM rej_shift WHERE good_before < parsed.line_number), 0);
            """
        )

    def _parse_csv(self, table: SourceTable, path: Path, rules: Rules) -> None:
        """CSV files are small: split on \\n and parsed one record per line in Python (lines.py), so one
        line with an unbalanced quote is quarantined alone."""
        names = [f.name for f in table.fields]
        try:
            got, records = csv_records(path, self._relative(path), names, table.accepted_headers())
        except (OSError, EOFError, gzip.BadGzipFile) as e:  # not gzip, truncated stream
            raise ContractProblem(f"cannot read the file: {e}") from None
        if got not in table.accepted_headers():
            raise ContractProblem(f"header is {','.join(got)!r}, expected {','.join(names)!r}")
        self.con.execute("SELECT 1").fetchall()  # register() refuses a connection with an unfinished result
        self.con.register("py_csv", records)
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE parsed AS {csv_parse_sql(table, 'py_csv', rules)}")
        finally:
            self.con.unregister("py_csv")

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
        if table.table == "callbacks":
            self._flag_over_refunds(table, res)
        dropped = con.execute("SELECT count(DISTINCT line_number) FROM drop_lines").fetchone()[0]
        res.rows_loaded, res.rows_duplicate = valid - dropped, dropped
        self.event_range = (lo, hi)
        res.quarantine_by_reason = dict(
            con.execute(
                "SELECT reason, count(*) FROM parsed WHERE reason IS NOT NULL GROUP BY ALL ORDER BY 1"
            ).fetchall()
        )
        res.rows_quarantined = sum(res.quarantine_by_reason.values())

    def _partitions_within(self, table: SourceTable, after: str, until: str, *, inclusive_until: bool) -> list[str]:
        """Raw files of this table's non-empty partitions with after < delivery_date < (or <=) until."""
        rows = self.con.execute(
            f"""SELECT path FROM ops.raw_partitions WHERE source = ? AND table_name = ? AND rows > 0
                AND delivery_date > ? AND delivery_date {"<=" if inclusive_until else "<"} ? ORDER BY delivery_date""",
            [table.source, table.table, after, until],
        ).fetchall()
        return [r[0] for r in rows if rawfs.exists(r[0])]

    def _drop_earlier_deliveries(self, table: SourceTable, res: LoadResult, key: str, ts: str, lo, hi) -> None:
        """First delivery wins: a key already delivered within the horizon (REDCAT_DEDUP_HORIZON_DAYS
        before this delivery date) is a duplicate, whatever event_time the new copy carries. Events
        older than the horizon were quarantined (older_than_horizon), so none can escape the check."""
        con = self.con
        day = dt.date.fromisoformat(res.delivery_date)
        horizon = dt.timedelta(days=horizon_days())
        earlier = self._partitions_within(
            table, (day - horizon - dt.timedelta(days=1)).isoformat(), res.delivery_date, inclusive_until=False
        )
        if earlier:
            con.execute(
                f"""INSERT INTO drop_lines
                    SELECT DISTINCT mine.line_number
                    FROM (SELECT line_number, {key} FROM parsed WHERE reason IS NULL) mine
                    SEMI JOIN (SELECT {key} FROM read_parquet(?)) prior USING ({key})""",
                [earlier],
            )
        later = self._partitions_within(table, self.conflicts_after, (day + horizon).isoformat(), inclusive_until=True)
        if later:
            # Loaded out of order or re-run: later partitions may now hold keys that this earlier
            # delivery wins. Counted here; `redcat run` re-runs those dates (backfill.py).
            res.later_conflicts = con.execute(
                f"""SELECT count(*) FROM read_parquet(?) prior
                    SEMI JOIN (SELECT {key} FROM parsed WHERE reason IS NULL) mine USING ({key})""",
                [later],
            ).fetchone()[0]

    def _flag_over_refunds(self, table: SourceTable, res: LoadResult) -> None:
        """Refunds of this delivery whose order's refunds (this delivery and the horizon before it) exceed
        what the order's purchase paid: loaded as delivered, but flagged (a warning) for the partner to explain."""
        day = dt.date.fromisoformat(res.delivery_date)
        earlier = self._partitions_within(
            table, (day - dt.timedelta(days=horizon_days() + 1)).isoformat(), res.delivery_date, inclusive_until=False
        )
        prior = (
            (
                "UNION ALL SELECT order_id, event_type, gmv_cny FROM read_parquet(?) "
                "WHERE order_id IN (SELECT order_id FROM mine WHERE event_type = 'refund')"
            )
            if earlier
            else ""
        )
        rows = self.con.execute(
            f"""WITH mine AS (
                    SELECT order_id, event_type, gmv_cny FROM parsed
                    WHERE reason IS NULL AND order_id IS NOT NULL
                      AND line_number NOT IN (SELECT line_number FROM drop_lines)),
                 orders AS (SELECT * FROM mine {prior})
                SELECT order_id, sum(gmv_cny) FILTER (WHERE event_type = 'purchase') AS paid,
                       sum(gmv_cny) FILTER (WHERE event_type = 'refund') AS refunded
                FROM orders WHERE order_id IN (SELECT order_id FROM mine WHERE event_type = 'refund')
                GROUP BY order_id HAVING refunded > paid ORDER BY order_id""",
            [earlier] if earlier else [],
        ).fetchall()
        res.over_refunds = len(rows)
        if rows:
            shown = ", ".join(f"{o} (paid {p}, refunded {r})" for o, p, r in rows[:5])
            res.warnings.append(
                f"{res.file}: {len(rows)} order(s) refunded more than their purchase: {shown}"
                + (" ..." if len(rows) > 5 else "")
                + ". Loaded as delivered; ask the partner to explain or correct them."
            )

    # --- writing and committing ---------------------------------------
    def _write_rows(self, table: SourceTable, res: LoadResult) -> None:
        cols = ", ".join(ident(f.name) for f in table.fields)
        pending = rawstore.pending_path(
            self.settings.raw_dir, table.source, table.table, res.delivery_date, res.load_id
        )
        rawfs.makedirs(rawfs.parent(pending))
        keep = "" if not res.rows_duplicate else "AND line_number NOT IN (SELECT line_number FROM drop_lines)"
        # CSV partitions have always stored the line as a double (the Spark sources declare it so)
        line = "line_number::DOUBLE" if table.fmt == "csv" else "line_number"
        self.con.execute(
            f"""COPY (SELECT {cols}, DATE {q(res.delivery_date)} AS delivery_date, {q(res.file)} AS source_file,
                        {line} AS source_line
                 FROM parsed WHERE reason IS NULL {keep} ORDER BY {ident(table.event_time)}, line_number)
                TO {q(str(pending))} (FORMAT parquet, COMPRESSION zstd)"""
        )
        self.pending = [(table.source, table.table, pending, res.rows_loaded, self.event_range)]

    def _write_empty(self, table: SourceTable, res: LoadResult) -> None:
        """An empty partition with the table's schema, so every delivery date has a file."""
        types = {"timestamp": "TIMESTAMPTZ", "date": "DATE", "amount": "DECIMAL(18, 2)"}
        cols = ", ".join(f"CAST(NULL AS {types.get(f.kind, 'VARCHAR')}) AS {ident(f.name)}" for f in table.fields)
        pending = rawstore.pending_path(
            self.settings.raw_dir, table.source, table.table, res.delivery_date, res.load_id
        )
        rawfs.makedirs(rawfs.parent(pending))
        self.con.execute(
            f"""COPY (SELECT {cols}, CAST(NULL AS DATE) AS delivery_date, CAST(NULL AS VARCHAR) AS source_file,
                        CAST(NULL AS BIGINT) AS source_line LIMIT 0) TO {q(str(pending))} (FORMAT parquet)"""
        )
        self.pending = [(table.source, table.table, pending, 0, (None, None))]

    def _write_delivery_record(self, res: LoadResult) -> None:
        """Partners: one row per delivery date that dbt reads for programme and arrival status (the
        partner is the partition directory's, partner=<name>)."""
        pending = rawstore.pending_path(
            self.settings.raw_dir, res.source, DELIVERIES_TABLE, res.delivery_date, res.load_id
        )
        rawfs.makedirs(rawfs.parent(pending))
        self.con.execute(
            f"""COPY (SELECT ?::DATE AS delivery_date, ?::VARCHAR AS status,
                        ?::VARCHAR AS program_version, ?::DOUBLE AS sampling_ratio, ?::BIGINT AS rows_declared,
                        ?::BIGINT AS rows_loaded, ?::BIGINT AS rows_quarantined, ?::BIGINT AS rows_duplicate,
                        ?::VARCHAR AS load_id) TO {q(str(pending))} (FORMAT parquet)""",
            [
                res.delivery_date,
                res.status,
                res.program_version,
                res.sampling_ratio,
                res.rows_declared,
                res.rows_loaded,
                res.rows_quarantined,
                res.rows_duplicate,
                res.load_id,
            ],
        )
        self.pending.append((res.source, DELIVERIES_TABLE, pending, 1, (None, None)))

    def _commit(self, table: SourceTable, res: LoadResult, started: dt.datetime) -> None:
        if _partner(table):
            self._write_delivery_record(res)
        self.progress("commit")
        con = self.con
        con.execute("BEGIN")
        try:
            con.execute(
                "DELETE FROM ops.quarantine WHERE source = ? AND table_name = ? AND delivery_date = ?",
                [table.source, table.table, res.delivery_date],
            )
            if res.status == LOADED and res.rows_quarantined:
                con.execute(
                    """INSERT INTO ops.quarantine SELECT ?, ?, ?, ?, ?, line_number, raw_text, reason, detail
                       FROM parsed WHERE reason IS NOT NULL ORDER BY line_number""",
                    [res.load_id, table.source, table.table, res.delivery_date, res.file],
                )
            for source, name, pending, rows, (lo, hi) in self.pending:
                con.execute(
                    "DELETE FROM ops.raw_partitions WHERE source = ? AND table_name = ? AND delivery_date = ?",
                    [source, name, res.delivery_date],
                )
                con.execute(
                    "INSERT INTO ops.raw_partitions VALUES (?, ?, ?, ?, ?, ?, ?, ?, now())",
                    [
                        source,
                        name,
                        res.delivery_date,
                        res.load_id,
                        rawstore.data_file_of(pending),
                        rows,
                        lo,
                        hi,
                    ],
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
            "message": res.message or "; ".join(res.warnings) or None,
            "table_name": res.table,
            "run_id": self.run_id,
            "min_event_time": lo,
            "max_event_time": hi,
            "started_at": started,
            "finished_at": dt.datetime.now(dt.UTC),
        }

    def _drop_temp(self) -> None:
        for name in (
            "parsed",
            "lines",
            "csv_rows",
            "csv_bad",
            "csv_map",
            "drop_lines",
            "rej_shift",
            "enc_rejects",
            "enc_rejects_scan",
            "csv_rejects",
            "csv_rejects_scan",
            "line_rejects",
        ):
            self.con.execute(f"DROP TABLE IF EXISTS temp.{name}")


def _check_policy(manifest, partner: str, programme, day: str) -> None:
    if programme is None:
        raise PolicyProblem(
            f"{manifest.path} is a {partner} delivery for {day}, but seeds/callback_sampling_policy.csv has no {partner} "
            "programme in force that day. If the programme changed, add it to the policy seed; otherwise ask the "
            "partner why it delivered."
        )
    if (
        manifest.program_version != programme.program_version
        or manifest.sampling_ratio is None
        or abs(manifest.sampling_ratio - programme.sampling_ratio) > 1e-9
    ):
        raise PolicyProblem(
            f"{manifest.path}: program_version={manifest.program_version!r}, sampling_ratio={manifest.sampling_ratio} but "
            f"the policy for {partner} on {day} is {programme.program_version!r} at {programme.sampling_ratio}. Estimates "
            "would be weighted wrongly, so nothing was loaded. Confirm the ratio with the partner: fix the policy seed "
            "if the programme changed, or ask for a corrected manifest; then re-run this partition."
        )
