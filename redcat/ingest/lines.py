"""Physical lines of a landing file, split on `\\n` only, and CSV records parsed line by line.

DuckDB's line reader (validate.line_reader) is the fast path for JSONL, but it also ends a line at
a bare carriage return. A CR is valid JSON whitespace, so when the reader's count disagrees with
the manifest and the file holds a bare CR, the loader re-reads it here. CSV files (small) are
always read here: one record per line, so a line with an unbalanced quote is quarantined alone
instead of swallowing the lines after it.

Every line gets its physical number (1-based); a `\\r\\n` ending counts as one newline, like `\\n`.
Lines that cannot be text (not UTF-8, over the line limit) come back with a reason and a detail.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from redcat import contract

MAX_LINE_BYTES = 8 << 20
RAW_TEXT_PREVIEW = 10_000  # characters of an over-long line kept in ops.quarantine.raw_text


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def too_long_detail(file: str, size: int, offset: int) -> str:
    return (
        f"line is {size:,} bytes, over the {MAX_LINE_BYTES >> 20} MiB line limit; raw_text keeps its first "
        f"{RAW_TEXT_PREVIEW:,} characters, the whole line is in {file} from byte {offset:,} (0-based) of its "
        "uncompressed text"
    )


@dataclass
class Line:
    number: int
    text: str | None  # None when rejected
    reason: str | None = None
    detail: str | None = None
    raw: str | None = None  # what is kept of a rejected line


def physical_lines(path: Path, file: str) -> Iterator[Line]:
    """Every line of `path` (gzip or plain), split on \\n only. `file` names it in details."""
    offset = 0
    with _open(path) as fh:
        for number, raw in enumerate(fh, 1):  # binary iteration splits on b"\n" only
            size = len(raw)
            body = raw[:-1] if raw.endswith(b"\n") else raw
            if body.endswith(b"\r"):
                body = body[:-1]
            if len(body) > MAX_LINE_BYTES:
                preview = body[: RAW_TEXT_PREVIEW * 4].decode("utf-8", errors="replace")[:RAW_TEXT_PREVIEW]
                yield Line(number, None, contract.LINE_TOO_LONG, too_long_detail(file, len(body), offset), preview)
            else:
                try:
                    yield Line(number, body.decode("utf-8"))
                except UnicodeDecodeError as e:
                    yield Line(
                        number,
                        None,
                        contract.MALFORMED_LINE,
                        f"line is not valid UTF-8 (byte {e.start})",
                        body.decode("utf-8", errors="replace"),
                    )
            offset += size


def has_bare_carriage_return(path: Path) -> bool:
    """Whether the file holds a CR that does not end a CRLF line ending."""
    tail = b""
    with _open(path) as fh:
        while chunk := fh.read(8 << 20):
            data = tail + chunk
            # a CR at the very end of a chunk may be followed by \n in the next one
            tail, data = (data[-1:], data[:-1]) if data.endswith(b"\r") else (b"", data)
            if b"\r" in data.replace(b"\r\n", b""):
                return True
    return tail == b"\r"


def lines_table(path: Path, file: str) -> tuple[pa.Table, pa.Table]:
    """(good lines: k, text) and (rejected lines: line_number, raw_text, reason, detail)."""
    good_k, good_text, bad = [], [], {"line_number": [], "raw_text": [], "reason": [], "detail": []}
    for line in physical_lines(path, file):
        if line.text is None:
            for key, value in zip(bad, (line.number, line.raw, line.reason, line.detail)):
                bad[key].append(value)
        else:
            good_k.append(line.number)
            good_text.append(line.text)
    good = pa.table({"k": pa.array(good_k, pa.int64()), "text": pa.array(good_text, pa.string())})
    return good, pa.table(
        {
            "line_number": pa.array(bad["line_number"], pa.int64()),
            "raw_text": pa.array(bad["raw_text"], pa.string()),
            "reason": pa.array(bad["reason"], pa.string()),
            "detail": pa.array(bad["detail"], pa.string()),
        }
    )


def csv_records(
    path: Path, file: str, names: list[str], accepted: list[list[str]] | None = None
) -> tuple[list[str], pa.Table]:
    """(header fields, one row per line after the header: line_number, text, ok, detail0, reason0, one column
    per field). A line that is not one well-formed record of the header's fields has ok = false and a detail;
    reason0 is set for lines that are not text at all (their reason wins). A header among `accepted` that
    lacks trailing optional fields (a file written before they were added) loads them empty."""
    header: list[str] = []
    expected = names
    cols: dict[str, list] = {k: [] for k in ("line_number", "text", "ok", "detail0", "reason0", *names)}

    def add(number, text, ok, detail, reason, values):
        for key, value in zip(("line_number", "text", "ok", "detail0", "reason0"), (number, text, ok, detail, reason)):
            cols[key].append(value)
        for name, value in zip(names, values or [None] * len(names)):
            cols[name].append(value)

    for line in physical_lines(path, file):
        if line.number == 1:
            text = (line.text or "").lstrip("\ufeff")
            header = [h.strip().strip('"') for h in text.split(",")]
            expected = header if accepted and header in accepted else names
            continue
        if line.text is None:
            add(line.number, line.raw, False, line.detail, line.reason, None)
            continue
        text = line.text
        if text.strip() == "":
            add(line.number, text, False, "blank line", None, None)
            continue
        if text.count('"') % 2:
            add(
                line.number,
                text,
                False,
                "CSV unbalanced quote: a quoted field is not closed on this line (redcat expects one record per line)",
                None,
                None,
            )
            continue
        try:
            records = list(csv.reader([text], delimiter=",", quotechar='"', doublequote=True, strict=True))
        except csv.Error as e:
            add(line.number, text, False, f"CSV malformed record: {e}", None, None)
            continue
        values = records[0] if records else []
        if len(values) != len(expected):
            add(
                line.number,
                text,
                False,
                f"CSV {'too many' if len(values) > len(expected) else 'too few'} columns: "
                f"{len(values)} fields, expected {len(expected)} ({','.join(expected)})",
                None,
                None,
            )
            continue
        add(line.number, text, True, None, None, values + [None] * (len(names) - len(values)))
    table = pa.table(
        {
            "line_number": pa.array(cols["line_number"], pa.int64()),
            "text": pa.array(cols["text"], pa.string()),
            "ok": pa.array(cols["ok"], pa.bool_()),
            "detail0": pa.array(cols["detail0"], pa.string()),
            "reason0": pa.array(cols["reason0"], pa.string()),
            **{n: pa.array(cols[n], pa.string()) for n in names},
        }
    )
    return header, table
