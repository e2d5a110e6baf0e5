"""Storage and steady-state cost of daily runs: what a month of production-like days leaves on disk.

    .venv/bin/python benchmarks/storage.py [--scale 0.02] [--days 21] [--out benchmarks/results/storage]

A world of --days delivery days at --scale, with late (3 %) and re-delivered (2 %) events (they
make runs replace earlier dates, which is what leaves dead space), is generated once into
build/bench-cache (reused while the parameters are the same), then run the way production runs
it: one `redcat run` per delivery date. Recorded per day: wall time of the run and the warehouse
file's size; at the end: raw Parquet, working warehouse, exports and serving file on disk, their
ratio to the raw layer, DuckDB's used and free blocks, and the rows and estimated size of the
largest tables. Writes <out>.json and <out>.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shutil
import time
from pathlib import Path

import duckdb

from orchestration.runner import run
from redcat.config import Settings
from redcat.generate import Faults, GeneratorOptions, Scale, generate

ROOT = Path(__file__).resolve().parent
START = dt.date(2024, 7, 1)


def _bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _world(scale: float, days: int, seed: int) -> Path:
    cache = ROOT.parent / "build" / "bench-cache" / f"storage-s{scale}-d{days}-seed{seed}"
    if not (cache / ".complete").exists():
        shutil.rmtree(cache, ignore_errors=True)
        faults = Faults(late_share=0.03, duplicate_share=0.02)
        generate(GeneratorOptions(start=START, days=days, seed=seed, scale=Scale.factor(scale), faults=faults), cache)
        (cache / ".complete").touch()
    return cache


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "storage")
    args = parser.parse_args()

    landing = _world(args.scale, args.days, args.seed)
    home = ROOT.parent / "build" / "bench-storage"
    shutil.rmtree(home, ignore_errors=True)
    settings = Settings.from_env(
        landing_dir=landing,
        warehouse=home / "warehouse.duckdb",
        raw_dir=home / "raw",
        serving=home / "serving.duckdb",
        export_dir=home / "export",
    )
    per_day = []
    for i in range(args.days):
        day = START + dt.timedelta(days=i)
        began = time.perf_counter()
        outcome = run(settings, day, day)
        seconds = time.perf_counter() - began
        per_day.append(
            {
                "delivery_date": day.isoformat(),
                "seconds": round(seconds, 2),
                "exit_code": outcome.exit_code,
                "warehouse_bytes": _bytes(settings.warehouse),
            }
        )
        print(
            f"{day} exit {outcome.exit_code} {seconds:7.1f} s warehouse {per_day[-1]['warehouse_bytes'] / 2**20:8.1f} MiB"
        )

    sizes = {
        "raw": _bytes(settings.raw_dir),
        "warehouse": _bytes(settings.warehouse),
        "exports": _bytes(settings.export_dir),
        "serving": _bytes(settings.serving),
    }
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        blocks = con.execute(
            "SELECT total_blocks, used_blocks, free_blocks, block_size FROM pragma_database_size()"
        ).fetchone()
        tables = con.execute("""SELECT schema_name || '.' || table_name, estimated_size, column_count
                                FROM duckdb_tables() ORDER BY estimated_size DESC LIMIT 12""").fetchall()
        sized = []
        for name, rows, columns in tables:
            sized.append({"table": name, "rows": rows, "columns": columns})
    finally:
        con.close()
    result = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
        "duckdb": duckdb.__version__,
        "scale": args.scale,
        "days": args.days,
        "seed": args.seed,
        "sizes_bytes": sizes,
        "ratio_to_raw": {k: round(v / sizes["raw"], 2) for k, v in sizes.items() if k != "raw"},
        "total_ratio_to_raw": round((sizes["warehouse"] + sizes["exports"] + sizes["serving"]) / sizes["raw"], 2),
        "duckdb_blocks": {"total": blocks[0], "used": blocks[1], "free": blocks[2], "block_size": blocks[3]},
        "largest_tables": sized,
        "per_day": per_day,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    mib = lambda b: f"{b / 2**20:,.1f} MiB"  # noqa: E731
    lines = [
        f"Storage after {args.days} daily runs at --scale {args.scale} (late 3 %, re-delivered 2 %), "
        f"{result['measured_at']}, {result['machine']}, DuckDB {result['duckdb']}.",
        "",
        "| on disk | size | x raw |",
        "| --- | --- | --- |",
        f"| raw Parquet | {mib(sizes['raw'])} | 1 |",
    ]
    lines += [f"| {k} | {mib(sizes[k])} | {result['ratio_to_raw'][k]} |" for k in ("warehouse", "exports", "serving")]
    lines += [
        f"| warehouse + exports + serving | {mib(sizes['warehouse'] + sizes['exports'] + sizes['serving'])} | "
        f"{result['total_ratio_to_raw']} |",
        "",
        f"DuckDB blocks: {blocks[1]:,} used, {blocks[2]:,} free of {blocks[0]:,}.",
        "",
        "| largest tables | rows | columns |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {t['table']} | {t['rows']:,} | {t['columns']} |" for t in sized]
    lines += ["", "| delivery date | run (s) | warehouse |", "| --- | --- | --- |"]
    lines += [f"| {d['delivery_date']} | {d['seconds']} | {mib(d['warehouse_bytes'])} |" for d in per_day]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:12]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
