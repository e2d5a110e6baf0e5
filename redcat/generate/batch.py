"""A column batch: a dict of equally long numpy arrays (struct of arrays)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


class Batch(dict):
    def __len__(self) -> int:  # number of rows, not of columns
        return len(next(iter(self.values()))) if dict.__len__(self) else 0

    def take(self, index: np.ndarray) -> Batch:
        return Batch({k: v[index] for k, v in self.items()})

    def with_column(self, name: str, values: np.ndarray) -> Batch:
        out = Batch(self)
        out[name] = values
        return out

    @staticmethod
    def concat(batches: list[Batch]) -> Batch:
        batches = [b for b in batches if dict.__len__(b)]
        if not batches:
            return Batch()
        return Batch({k: np.concatenate([b[k] for b in batches]) for k in batches[0]})

    def to_arrow(self) -> pa.Table:
        return pa.table({k: pa.array(v) for k, v in self.items()})
