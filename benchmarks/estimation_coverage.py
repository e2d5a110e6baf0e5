"""Coverage of the estimation intervals, the larger run behind the table in docs/estimation.md.

    .venv/bin/python benchmarks/estimation_coverage.py [--seeds 20] [--out benchmarks/results/estimation_coverage.csv]
    .venv/bin/python benchmarks/estimation_coverage.py --notes [--seeds 20] [--out benchmarks/results/estimation_coverage_notes.csv]

dbt compiles int_estimation_cells; DuckDB runs it on simulated sampled users
(tests/estimation_simulation.py) for every seed and both brand mixes (small: 12 brands of 0.5 to
15 purchases a day per partner; typical: 40 brands of 1 to 250), 28 days, two partners sampling
50 % and 10 % of users. Prints coverage of the unsampled truth and the median interval width
relative to the truth by measure, grain and cell size (true purchases), as a Markdown table.
--notes: the same for int_estimation_note_cells (note-days: each attributed buyer keeps 1-3 of
the brand's 10 notes, last_touch and linear credits; cell size = the purchases of the buyers
who touched the note), on note-days with at least one sampled buyer.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import estimation_simulation as sim  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--out", type=Path, default=None, help="also write every evaluated cell's summary here (CSV)")
    ap.add_argument(
        "--notes", action="store_true", help="per-note cells (int_estimation_note_cells) instead of brand cells"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        sql = sim.compile_note_model(home) if args.notes else sim.compile_models(home)
        parts = []
        for mix in (sim.SMALL, sim.TYPICAL):
            for seed in range(args.seeds):
                sales = sim.simulate(5000 + seed, mix)
                if args.notes:
                    credits = sim.note_credits(sales, 5000 + seed)
                    cells = sim.run_note_cells(home / "warehouse.duckdb", sql, credits)
                    parts.append(sim.note_coverage(cells, credits).assign(mix=mix.name, seed=seed))
                else:
                    cells = sim.run_cells(home / "warehouse.duckdb", sql, sales, mix.days)
                    parts.append(sim.coverage(cells, sim.truth_cells(sales)).assign(mix=mix.name, seed=seed))
                print(f"{mix.name} seed {seed}: {len(sales)} purchase-days", file=sys.stderr)
    results = pd.concat(parts, ignore_index=True)
    t = sim.table(results)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        t.to_csv(args.out, index=False)
    t["coverage"] = t.coverage.map(lambda v: f"{v:.3f}")
    t["median_width"] = t.median_width.map(lambda v: f"{v:.2f}")
    print(t.to_markdown(index=False))
    by_mix = (
        results[results.true_purchases >= 5]
        .groupby(["mix", "partner", "measure", "period_grain"])
        .covered.agg(["size", "mean"])
    )
    print()
    print(by_mix.reset_index().to_markdown(index=False))


if __name__ == "__main__":
    main()
