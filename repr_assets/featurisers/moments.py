"""Streaming mean and standard deviation of numeric columns, stable and free of overflow.

Mean of squares minus squared mean loses every digit of a column of timestamps
(1.7e12 +- 1000: the squares agree in their first 18 digits) and overflows for values
near 1e300. Here each batch's count, mean and sum of squared deviations (M2) are taken
by two passes around the batch's own mean and merged by Chan, Golub and LeVeque's
pairwise update, which is exact to rounding whatever the batch sizes. Two exact
transformations come first:

- each column is shifted by its first value, so a column of timestamps is summed as
  numbers of +-1000 and keeps its precision across batches;
- each batch is scaled by a power of two that brings its largest deviation under 1, so
  no square overflows. A power of two only moves the exponent: nothing is rounded.

The running state keeps the mean and M2 in units of a power of two per column,
``2 ** exponent``, raised whenever a batch holds larger deviations.
"""

from __future__ import annotations

import numpy as np

EPSILON = float(np.finfo(np.float64).eps)


class RunningMoments:
    """Count, mean and population standard deviation of ``width`` columns, over batches.

    ``add`` takes a ``(width, rows)`` float64 array (a column per row, so that sums run
    along contiguous memory, pairwise); NaN and infinite values are left out.
    """

    def __init__(self, width: int) -> None:
        self.count = np.zeros(width)
        self.shift = np.zeros(width)
        self.started = np.zeros(width, bool)
        self.mean = np.zeros(width)  # of (x - shift), in units of 2 ** exponent
        self.m2 = np.zeros(width)  # in units of 4 ** exponent
        self.exponent = np.zeros(width, np.int64)

    def add(self, columns: np.ndarray) -> None:
        present = np.isfinite(columns)
        count = present.sum(axis=1).astype(np.float64)
        start = ~self.started & (count > 0)
        if start.any():
            first = columns[np.flatnonzero(start), present[start].argmax(axis=1)]
            self.shift[start] = first
            self.started |= start
        # (x - shift) / 2 cannot overflow where x - shift could (1.7e308 - -1.7e308).
        half = np.where(present, columns * 0.5 - self.shift[:, None] * 0.5, 0.0)
        peak = np.abs(half).max(axis=1, initial=0.0)
        exponent = np.frexp(peak)[1].astype(np.int64) + 1  # |x - shift| < 2 ** exponent
        scaled = np.ldexp(half, (1 - exponent)[:, None])
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = scaled.sum(axis=1) / count
            deviation = np.where(present, scaled - mean[:, None], 0.0)
            # The second term corrects the rounding of the mean (the "corrected two-pass").
            m2 = np.square(deviation).sum(axis=1) - np.square(deviation.sum(axis=1)) / count
        self._merge(count, np.nan_to_num(mean), np.nan_to_num(m2), exponent)

    def _merge(
        self, count: np.ndarray, mean: np.ndarray, m2: np.ndarray, exponent: np.ndarray
    ) -> None:
        empty = self.count == 0
        unit = np.where(count == 0, self.exponent, np.maximum(self.exponent, exponent))
        unit = np.where(empty, exponent, unit)
        # Into the common unit: the smaller side loses only bits far below the larger.
        old_mean = np.ldexp(self.mean, self.exponent - unit)
        old_m2 = np.ldexp(self.m2, 2 * (self.exponent - unit))
        new_mean = np.ldexp(mean, exponent - unit)
        new_m2 = np.ldexp(m2, 2 * (exponent - unit))
        total = self.count + count
        with np.errstate(invalid="ignore", divide="ignore"):
            delta = new_mean - old_mean
            merged_mean = old_mean + delta * (count / total)
            merged_m2 = old_m2 + new_m2 + np.square(delta) * (self.count * count / total)
        some = total > 0
        self.mean = np.where(some, merged_mean, 0.0)
        self.m2 = np.where(some, np.maximum(merged_m2, 0.0), 0.0)
        self.exponent = np.where(some, unit, 0)
        self.count = total

    def mean_and_std(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and population standard deviation of each column (0 and 0 where empty)."""
        some = self.count > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            # Halves again: shift + (mean of x - shift) may pass 1.8e308 on the way.
            mean = 2.0 * (self.shift * 0.5 + np.ldexp(self.mean, self.exponent - 1))
            std = np.ldexp(np.sqrt(self.m2 / self.count), self.exponent)
        return np.where(some, mean, 0.0), np.where(some, std, 0.0)


def standard_scale(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """The deviation to divide by: ``std``, or 1 for a column that is constant.

    A column is constant when its deviation is within the rounding of its mean
    (``std <= eps * |mean|``, exactly 0 included): dividing by it would only magnify
    rounding noise. Unlike scikit-learn's bound (which grows with the number of rows, as
    the error of its own sums does), this one does not: a million timestamps 1.7e12 +- 1000
    keep their scale of about 577.
    """
    return np.where(std <= EPSILON * np.abs(mean), 1.0, std)
