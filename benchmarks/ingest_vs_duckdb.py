"""Ingestion of one 5 M-event day against DuckDB reading the same files directly.

    .venv/bin/python benchmarks/ingest_vs_duckdb.py [--scale 1.0] [--workdir /tmp/redcat-ingest-bench]

Generates one delivery day (plus the day before, so deduplication has history to check),
loads it with redcat's loader (verify, validate, quarantine, dedupe, sorted Parquet, commit)
and times DuckDB's own `read_json` -> Parquet on the same files. Prints a JSON line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import duckdb

from redcat import contract
from redcat.config import Settings
from redcat.generate import GeneratorOptions, Scale, generate
from redcat.ingest.loader import Loader

DAY = dt.date(2024, 7, 15)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/redcat-ingest-bench"))
    args = ap.parse_args()
    landing = args.workdir / "landing"
    marker = args.workdir / f"generated-{args.scale}"
    if not marker.exists():
        shutil.rmtree(args.workdir, ignore_errors=True)
        generate(
            GeneratorOptions(
                start=DAY - dt.timedelta(days=1),
                days=2,
                scale=Scale.factor(args.scale),
                burn_in_days=1,
                faults=replace(GeneratorOptions(start=DAY, days=1).faults, late_share=0.02),
            ),
            landing,
        )
        marker.touch()
    home = args.workdir / "warehouse"
    shutil.rmtree(home, ignore_errors=True)
    settings = Settings.from_env(landing_dir=landing, warehouse=home / "warehouse.duckdb", raw_dir=home / "raw")
    stages: dict[str, float] = {}
    with Loader(settings) as loader:
        loader.load(contract.NOTE_EVENTS, DAY - dt.timedelta(days=1))
        last = [time.perf_counter(), None]

        def mark(stage: str) -> None:
            now = time.perf_counter()
            if last[1]:
                stages[last[1]] = round(now - last[0], 2)
            last[:] = [now, stage]

        loader.progress = mark
        t0 = time.perf_counter()
        res = loader.load(contract.NOTE_EVENTS, DAY)
        redcat_s = time.perf_counter() - t0
        stages[last[1]] = round(time.perf_counter() - last[0], 2)
    path = next((landing / f"dt={DAY}" / "content").glob("note_events.jsonl*"))
    con = duckdb.connect()
    t0 = time.perf_counter()
    con.execute(
        f"COPY (SELECT * FROM read_json('{path}', format='newline_delimited')) TO '{home}/plain.parquet' (FORMAT parquet)"
    )
    duck_s = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "rows": res.rows_loaded,
                "duplicates": res.rows_duplicate,
                "redcat_s": round(redcat_s, 2),
                "duckdb_read_json_to_parquet_s": round(duck_s, 2),
                "ratio": round(redcat_s / duck_s, 2),
                "stages_s": stages,
            }
        )
    )


if __name__ == "__main__":
    main()
