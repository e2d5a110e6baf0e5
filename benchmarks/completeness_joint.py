"""False alarms of all completeness tests of a partner-day together, on a larger simulation.

The harness of tests/test_completeness_joint_statistics.py (compiled SQL of every test model and
of the completeness marts, simulated complete partners: 40-day runs, traffic +-20 % a day, the
sampling ratio 50 % -> 100 % on day 20), on more partners per size. Prints one row per size:
judged partner-days, partner-days blocked by each family and by any (blocks_marts), the rate and
its one-sided 95 % Clopper-Pearson upper bound.

    PYTHONPATH=$PWD nice .venv/bin/python benchmarks/completeness_joint.py --partners 2000 300 1000 5000 20000

With --power: for each size, the share of partners whose day with a 20 % or 100 % loss of a
stage (the stages of a LOSS_GROUPS group lost together: no stage of a group is another's
reference) fails that stage and blocks the marts, on the last day at 50 % sampling (day 19,
19 baseline days) and at 100 % (day 39, 28).

    PYTHONPATH=$PWD nice .venv/bin/python benchmarks/completeness_joint.py --power --partners 300 1550 5000 20000 80000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
import test_completeness_joint_statistics as joint  # noqa: E402

FAMILIES = ["store_visit", *joint.STAGES, "brand", "profile"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", type=float, nargs="+", help="store-visit users a day at 100 %% sampling")
    parser.add_argument("--partners", type=int, default=1000, help="simulated partners per size (30 judged days each)")
    parser.add_argument("--chunk", type=int, default=250, help="partners per evaluation")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--power", action="store_true", help="power against a 20 %% and a 100 %% loss instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        compiled = joint.compile_models(Path(home))
        if args.power:
            return power_table(compiled, args)
        rows = []
        for size in args.sizes:
            rng = np.random.default_rng([args.seed, int(size)])
            parts = []
            for first in range(0, args.partners, args.chunk):
                count = min(args.chunk, args.partners - first)
                parts.append(joint.judged_days(joint.evaluate(compiled, joint.simulate(rng, count, size, first))))
            days = pd.concat(parts)
            n, blocked = len(days), int(days.blocks_marts.sum())
            row = {"visitors": int(size), "partner_days": n, **{f: int(days[f].sum()) for f in FAMILIES}}
            row |= {"any": blocked, "rate": f"{blocked / n:.3%}", "upper_95": f"{joint.upper_bound(blocked, n):.3%}"}
            rows.append(row)
            print(pd.DataFrame([row]).to_string(index=False), flush=True)
    print(pd.DataFrame(rows).to_markdown(index=False))


def power_table(compiled, args) -> None:
    rows = []
    for size in args.sizes:
        for ratio, at in ((0.5, joint.SWITCH - 1), (1.0, joint.DAYS - 1)):
            row: dict = {"visitors": int(size), "sampling": ratio}
            for loss in (0.2, 1.0):
                seed = [args.seed, int(size), at, int(loss * 10)]
                for stage, r in joint.power_of_every_stage(compiled, size, loss, args.partners, seed, at=at).iterrows():
                    row[f"{stage} m"] = round(r.expected_users)
                    row[f"{stage} {loss:.0%}"] = r.caught if r.judged else float("nan")
            rows.append(row)
            print(pd.DataFrame([row]).to_string(index=False), flush=True)
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
