"""Trustworthiness: whether neighbours in the embedding were neighbours in the input."""

from __future__ import annotations

import numpy as np
from sklearn.manifold import trustworthiness as sklearn_trustworthiness

TRUSTWORTHINESS_MAX_ITEMS = 2_000


def trustworthiness(X: np.ndarray, Z: np.ndarray, n_neighbors: int = 10) -> float:
    """Trustworthiness (Venna & Kaski, 2001) of codes ``Z`` ``(n, d)`` for inputs ``X`` ``(n, f)``.

    This is ``sklearn.manifold.trustworthiness`` itself: with tied input distances (integer
    pixels tie often) any other implementation breaks the ties differently. It is quadratic
    in ``n``, so callers pass a bounded sample (``seeded_sample``).
    """
    n = len(X)
    if not n_neighbors < n / 2:
        raise ValueError(f"n_neighbors ({n_neighbors}) must be less than n_items / 2 ({n / 2})")
    X64, Z64 = np.asarray(X, np.float64), np.asarray(Z, np.float64)
    return float(sklearn_trustworthiness(X64, Z64, n_neighbors=n_neighbors))
