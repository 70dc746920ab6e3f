"""Row batches of float64: float64 sums over large float32 matrices without whole float64 copies.

A metric over a million rows that casts to float64 and subtracts holds several
(n, d) float64 temporaries at once: at 1,000,000 x 16 each is 128 MiB, and they made the
peak of a million-item quality report. Summing batch by batch keeps the float64 accuracy
with temporaries of a fixed size.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

ROWS_PER_BATCH = 16_384


def float64_batches(*arrays: np.ndarray) -> Iterator[tuple[slice, list[np.ndarray]]]:
    """``(rows, [array[rows] as float64, ...])`` for consecutive row slices of the arrays."""
    n = len(arrays[0])
    for start in range(0, n, ROWS_PER_BATCH):
        rows = slice(start, min(start + ROWS_PER_BATCH, n))
        yield rows, [np.asarray(array[rows], np.float64) for array in arrays]
