"""The generative factors of a data set, as the factor metrics read them.

A factor is an item column that names a true cause of the item (a shape, its scale, its
position; the coordinate along a manifold). It is *categorical* when its values are text
or there are at most ``DISCRETE_LEVELS`` distinct numbers, and *numeric* otherwise.
Metrics that count (the mutual information gap) read every factor as levels: a numeric
one is cut into ``BINS`` equal-width bins first, as disentanglement_lib does; metrics
that regress (SAP, DCI's regressors, ``factor_r2``) read a numeric factor's values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

BINS = 20
DISCRETE_LEVELS = 20


@dataclass(frozen=True)
class Factor:
    """One factor over ``n`` items: its ``levels`` (``(n,)`` integers in ``[0, count)``)
    and, for a numeric factor, its ``values`` (``(n,)`` float64; ``None`` if categorical)."""

    name: str
    levels: np.ndarray
    values: np.ndarray | None

    @property
    def categorical(self) -> bool:
        return self.values is None

    @property
    def count(self) -> int:
        return int(self.levels.max()) + 1

    def take(self, rows: np.ndarray) -> Factor:
        values = None if self.values is None else self.values[rows]
        return Factor(self.name, _dense(self.levels[rows]), values)


def read_factors(columns: Mapping[str, np.ndarray | list[object]]) -> list[Factor]:
    """Factors from item columns (name -> ``(n,)`` values); a factor with a missing value
    or a single value is refused by name: it says nothing about any item."""
    factors = []
    for name, column in columns.items():
        values = np.asarray(column, dtype=object)
        if any(v is None or (isinstance(v, float) and not np.isfinite(v)) for v in values):
            raise ValueError(f"factor column {name!r} has a missing or non-finite value")
        numeric = all(
            isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            for v in values
        )
        distinct, levels = np.unique(values.astype(float if numeric else str), return_inverse=True)
        if len(distinct) < 2:
            raise ValueError(f"factor column {name!r} holds one value only")
        if numeric and len(distinct) > DISCRETE_LEVELS:
            floats = values.astype(np.float64)
            factors.append(Factor(name, bin_levels(floats), floats))
        else:
            factors.append(Factor(name, levels, None))
    return factors


def bin_levels(values: np.ndarray, bins: int = BINS) -> np.ndarray:
    """``(n,)`` levels of ``values`` in ``bins`` equal-width bins over their range, numbered
    densely from 0 (disentanglement_lib's ``histogram_discretize``)."""
    values = np.asarray(values, np.float64)
    edges = np.histogram_bin_edges(values, bins=bins)[:-1]
    return _dense(np.digitize(values, edges))


def _dense(levels: np.ndarray) -> np.ndarray:
    return np.unique(levels, return_inverse=True)[1].astype(np.int64)
