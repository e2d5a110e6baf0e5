"""Ground truth written beside the landing zone: what really happened, unsampled.

Tests and the demo compare the warehouse's estimates with these figures.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from redcat.generate.batch import Batch
from redcat.generate.simulate import CONTENT_TYPES, CT, ET, ORIGIN_CLICK
from redcat.generate.world import World

TRUTH_DIR = "_ground_truth"
CALLBACK_COLUMNS = ("searches", "store_visits", "add_to_carts", "purchases", "gmv_cny", "refunds", "refund_gmv_cny")


class Truth:
    def __init__(self, world: World):
        self.world = world
        self.callback_rows: list[dict] = []
        self.content_rows: list[dict] = []
        self.coverage_rows: list[dict] = []
        self.faults: list[dict] = []
        self.deliveries: dict[str, dict] = defaultdict(dict)

    def add_day(self, day: str, content: Batch, partner_events: Batch, in_program: dict[int, bool]) -> None:
        """Record one event date: content events by type, partner events by brand and partner
        (all users, before sampling), and the clicked/landed users behind the completeness check."""
        w = self.world
        counts = (
            np.bincount(content["etype"], minlength=len(CONTENT_TYPES))
            if len(content)
            else np.zeros(len(CONTENT_TYPES), int)
        )
        self.content_rows.append({"date": day, **{t: int(counts[i]) for i, t in enumerate(CONTENT_TYPES)}})

        for p, partner in enumerate(w.partners):
            if not in_program.get(p):
                continue
            pe = partner_events.take(np.flatnonzero(partner_events["partner"] == p)) if len(partner_events) else Batch()
            per_brand: dict[int, dict] = defaultdict(lambda: dict.fromkeys(CALLBACK_COLUMNS, 0))
            if len(pe):
                for name, col in (
                    ("search", "searches"),
                    ("store_visit", "store_visits"),
                    ("add_to_cart", "add_to_carts"),
                    ("purchase", "purchases"),
                    ("refund", "refunds"),
                ):
                    m = pe["etype"] == CT[name]
                    for b, n in zip(*np.unique(pe["brand"][m], return_counts=True)):
                        per_brand[int(b)][col] += int(n)
                for name, col in (("purchase", "gmv_cny"), ("refund", "refund_gmv_cny")):
                    m = pe["etype"] == CT[name]
                    sums = np.bincount(pe["brand"][m], weights=pe["gmv_fen"][m], minlength=len(w.brand_ids))
                    for b in np.flatnonzero(sums):
                        per_brand[int(b)][col] = round(float(sums[b]) / 100, 2)
            for b in sorted(per_brand):
                self.callback_rows.append(
                    {"date": day, "partner": partner, "brand_id": str(w.brand_ids[b]), **per_brand[b]}
                )

            clicks = content.take(np.flatnonzero((content["etype"] == ET["link_click"]) & (content["partner"] == p)))
            clicked = np.unique(clicks["user"]) if len(clicks) else np.array([], np.int32)
            landed_m = (
                (pe["etype"] == CT["store_visit"]) & (pe["origin"] == ORIGIN_CLICK) if len(pe) else np.array([], bool)
            )
            landed = np.intersect1d(clicked, pe["user"][landed_m]) if len(pe) else np.array([], np.int32)
            self.coverage_rows.append(
                {"date": day, "partner": partner, "clicked_users": int(len(clicked)), "landed_users": int(len(landed))}
            )

    def record_fault(self, **fault) -> None:
        self.faults.append(fault)

    def write(self, root: Path, summary: dict) -> Path:
        out = root / TRUTH_DIR
        out.mkdir(parents=True, exist_ok=True)
        _csv(out / "callbacks_daily.csv", ["date", "partner", "brand_id", *CALLBACK_COLUMNS], self.callback_rows)
        _csv(out / "content_daily.csv", ["date", *CONTENT_TYPES], self.content_rows)
        _csv(out / "click_coverage_daily.csv", ["date", "partner", "clicked_users", "landed_users"], self.coverage_rows)
        (out / "faults.json").write_text(json.dumps(self.faults, indent=2, default=str) + "\n")
        (out / "generation.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
        return out


def _csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
