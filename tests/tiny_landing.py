"""Hand-written landing files for edge cases, with correct manifests (independent of the generator)."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path


def write_delivery(
    root: Path,
    day: str,
    source: str,
    files: dict[str, bytes],
    program: dict | None = None,
    rows: dict[str, int] | None = None,
) -> Path:
    directory = root / f"dt={day}" / ("content" if source == "content" else f"partner={source}")
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, data in files.items():
        (directory / name).write_bytes(data)
        text = gzip.decompress(data) if name.endswith(".gz") else data
        n = text.count(b"\n") + (0 if text.endswith(b"\n") or not text else 1)
        if name.endswith(".csv"):
            n -= 1  # header
        entries.append({"name": name, "rows": (rows or {}).get(name, n), "sha256": hashlib.sha256(data).hexdigest()})
    manifest = {"source": source, "delivery_date": day, **(program or {}), "files": entries}
    (directory / "_manifest.json").write_text(json.dumps(manifest))
    return directory


def event(i: int, t: str = "2024-07-15T10:00:00+08:00", kind: str = "read", user: str | None = None) -> dict:
    return {"event_id": f"e{i}", "event_type": kind, "event_time": t, "user_key": user or f"{i:064x}", "note_id": "n1"}


def jsonl(records: list) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records)
