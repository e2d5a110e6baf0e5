"""An independent reader of the landing zone for tests: plain json/csv/gzip, no redcat code,
so a bug in the generator or the loader cannot hide behind shared code."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from pathlib import Path


def open_text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8")


def jsonl_lines(path: Path) -> list[str]:
    return open_text(path).splitlines()


def csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(open_text(path))))
    return rows[0], rows[1:]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(directory: Path) -> dict:
    return json.loads((directory / "_manifest.json").read_text())


def data_file(directory: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        if (directory / name).exists():
            return directory / name
    raise FileNotFoundError(directory / stem)


def all_files(root: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under root."""
    return {str(p.relative_to(root)): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


def callbacks(root: Path, partner: str) -> list[dict]:
    """All parseable callback records delivered by a partner, with their delivery date."""
    out = []
    for d in sorted(root.glob(f"dt=*/partner={partner}")):
        for line in jsonl_lines(data_file(d, "callbacks.jsonl")):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            rec["_dt"] = d.parent.name[3:]
            out.append(rec)
    return out


def faults(root: Path) -> list[dict]:
    return json.loads((root / "_ground_truth" / "faults.json").read_text())
