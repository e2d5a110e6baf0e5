"""Every mart before and after a change: are the numbers identical on the test worlds?

    .venv/bin/python benchmarks/mart_regression.py snapshot OUT_DIR [--world clean|messy|all]
    .venv/bin/python benchmarks/mart_regression.py compare OLD_DIR NEW_DIR

`snapshot` generates the test worlds (the small world of tests/conftest.py: seed 11, scale 0.004,
16 delivery days across the 2024-07-01 switch), materialises them through `redcat run` and writes
every table and view of the `marts` and `bi` schemas, sorted, to OUT_DIR/<world>/<schema>.<table>.parquet.
  clean  fault-free, one range run of the 16 days
  messy  late (3 %) and re-delivered (2 %) events and malformed lines; days 1-8 as one range, then
         days 9-16 one by one (the incremental path: late data re-attributes earlier dates)
`compare` checks NEW against OLD on OLD's columns (columns NEW adds are listed, not compared):
exact for keys, counts, strings and dates; doubles rounded to 8 decimals, and where a rounding
boundary splits a pair, matched on the other columns within 1e-9 relative (sums in another order
differ in the last bits). Exit 1 on any difference, with the first differing rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

import duckdb

from orchestration.runner import run
from redcat.config import Settings
from redcat.generate import Faults, GeneratorOptions, Scale, generate

START = dt.date(2024, 6, 24)
DAYS = 16
WORLDS = {
    "clean": Faults(),
    "messy": Faults(late_share=0.03, duplicate_share=0.02, malformed_per_kind=2),
}


def _options(faults: Faults) -> GeneratorOptions:
    return GeneratorOptions(start=START, days=DAYS, seed=11, scale=Scale.factor(0.004), faults=faults)


def build(world: str, home: Path) -> Settings:
    landing = home / "landing"
    generate(_options(WORLDS[world]), landing)
    settings = Settings.from_env(
        landing_dir=landing,
        warehouse=home / "warehouse.duckdb",
        raw_dir=home / "raw",
        serving=home / "serving.duckdb",
        export_dir=home / "export",
    )
    end = START + dt.timedelta(days=DAYS - 1)
    steps = (
        [(START, end)]
        if world == "clean"
        else [(START, START + dt.timedelta(days=7))]
        + [(d, d) for d in (START + dt.timedelta(days=i) for i in range(8, DAYS))]
    )
    for first, last in steps:
        outcome = run(settings, first, last)
        if outcome.exit_code != 0:
            raise SystemExit(
                f"{world}: redcat run {first}..{last} exited {outcome.exit_code}: "
                + "; ".join([c.description for c in outcome.failed_checks] + outcome.step_failures)
            )
    return settings


def snapshot(out: Path, worlds: list[str]) -> None:
    for world in worlds:
        with tempfile.TemporaryDirectory(prefix=f"marts-{world}-") as tmp:
            settings = build(world, Path(tmp))
            target = out / world
            target.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(settings.warehouse), read_only=True)
            try:
                tables = con.execute(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_schema IN ('marts', 'bi') ORDER BY 1, 2"
                ).fetchall()
                for schema, table in tables:
                    if table == "metricflow_time_spine":
                        continue
                    path = target / f"{schema}.{table}.parquet"
                    con.execute(
                        f'COPY (SELECT * FROM "{schema}"."{table}" ORDER BY ALL) TO ? (FORMAT parquet)', [str(path)]
                    )
                    print(
                        f"{world} {schema}.{table}: {con.execute(f'SELECT count(*) FROM {schema}.{table}').fetchone()[0]:,} rows"
                    )
            finally:
                con.close()


def _rounded(con, path: Path, columns: list[str], digits: int) -> str:
    """SELECT of the file's columns with doubles rounded to `digits` decimals (sums in another
    order differ in the last bits)."""
    types = dict(
        con.execute(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))", [str(path)]
        ).fetchall()
    )
    cols = [f'round("{c}", {digits}) AS "{c}"' if types[c] in ("DOUBLE", "FLOAT") else f'"{c}"' for c in columns]
    return f"SELECT {', '.join(cols)} FROM read_parquet('{path}')"


def _within_tolerance(con, old_file: Path, new_file: Path, columns: list[str]) -> int | None:
    """Rows whose doubles differ by more than 1e-9 relative, matched on all other columns; None when
    those columns are not a key (then only the rounded comparison stands)."""
    types = dict(
        con.execute(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))", [str(old_file)]
        ).fetchall()
    )
    keys = [c for c in columns if types[c] not in ("DOUBLE", "FLOAT")]
    doubles = [c for c in columns if c not in keys]
    key_list = ", ".join(f'"{k}"' for k in keys)
    rows, distinct = con.execute(
        f"SELECT count(*), count(DISTINCT ({key_list})) FROM read_parquet(?)", [str(old_file)]
    ).fetchone()
    if not keys or rows != distinct:
        return None
    on = " AND ".join(f'a."{k}" IS NOT DISTINCT FROM b."{k}"' for k in keys)
    off = (
        " OR ".join(
            f'abs(coalesce(a."{d}", 0) - coalesce(b."{d}", 0)) > 1e-9 * greatest(abs(coalesce(a."{d}", 0)), 1)'
            for d in doubles
        )
        or "false"
    )
    return con.execute(f"""SELECT count(*) FROM read_parquet('{old_file}') a FULL JOIN read_parquet('{new_file}') b
                           ON {on} WHERE a."{keys[0]}" IS NULL AND b."{keys[0]}" IS NOT NULL
                              OR b."{keys[0]}" IS NULL AND a."{keys[0]}" IS NOT NULL OR {off}""").fetchone()[0]


def compare(old: Path, new: Path) -> int:
    """In DuckDB (the fact table has millions of rows): the multiset of rows must be equal with doubles
    rounded to 8 decimals; where that differs (a rounding boundary), rows are matched on all other
    columns and their doubles compared within 1e-9 relative."""
    problems = 0
    con = duckdb.connect()
    for old_file in sorted(old.glob("*/*.parquet")):
        name = f"{old_file.parent.name}/{old_file.stem}"
        new_file = new / old_file.parent.name / old_file.name
        if not new_file.exists():
            print(f"MISSING {name}")
            problems += 1
            continue
        old_cols = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(old_file)]).fetchall()]
        new_cols = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(new_file)]).fetchall()]
        lost = [c for c in old_cols if c not in new_cols]
        if lost:
            print(f"DIFFERENT {name}: columns gone: {lost}")
            problems += 1
            continue
        added = [c for c in new_cols if c not in old_cols]
        n_old, n_new = (
            con.execute("SELECT count(*) FROM read_parquet(?)", [str(f)]).fetchone()[0] for f in (old_file, new_file)
        )
        a, b = _rounded(con, old_file, old_cols, 8), _rounded(con, new_file, old_cols, 8)
        only = con.execute(
            f"SELECT (SELECT count(*) FROM ({a} EXCEPT ALL {b})), (SELECT count(*) FROM ({b} EXCEPT ALL {a}))"
        ).fetchone()
        off = 0 if only == (0, 0) else _within_tolerance(con, old_file, new_file, old_cols)
        if n_old != n_new or off != 0:
            problems += 1
            print(
                f"DIFFERENT {name}: {n_old:,} rows before, {n_new:,} after, {only[0]:,} rows only before, "
                f"{only[1]:,} only after" + ("" if off is None else f", {off:,} beyond 1e-9 relative")
            )
            for row in con.execute(f"SELECT * FROM ({a} EXCEPT ALL {b}) LIMIT 3").fetchall():
                print(f"  only before {row}")
            for row in con.execute(f"SELECT * FROM ({b} EXCEPT ALL {a}) LIMIT 3").fetchall():
                print(f"  only after  {row}")
        else:
            note = "" if only == (0, 0) else f"; {only[0]:,} rows equal within 1e-9 relative, not at 8 decimals"
            print(f"same {name} ({n_old:,} rows{note}{'; new columns ' + ', '.join(added) if added else ''})")
    for new_file in sorted(new.glob("*/*.parquet")):
        if not (old / new_file.parent.name / new_file.name).exists():
            print(f"new {new_file.parent.name}/{new_file.stem}")
    print("identical" if not problems else f"{problems} table(s) differ")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot")
    snap.add_argument("out", type=Path)
    snap.add_argument("--world", choices=[*WORLDS, "all"], default="all")
    cmp = sub.add_parser("compare")
    cmp.add_argument("old", type=Path)
    cmp.add_argument("new", type=Path)
    args = parser.parse_args()
    if args.command == "snapshot":
        snapshot(args.out, list(WORLDS) if args.world == "all" else [args.world])
        return 0
    return compare(args.old, args.new)


if __name__ == "__main__":
    sys.exit(main())
