"""How well the classes separate in the embedding space."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import silhouette_score

SILHOUETTE_MAX_ITEMS = 10_000


def silhouette(
    Z: np.ndarray, y: np.ndarray, seed: int, max_items: int = SILHOUETTE_MAX_ITEMS
) -> float:
    """Euclidean silhouette of ``Z`` ``(n, d)`` under labels ``y`` ``(n,)``.

    All items when there are at most ``max_items``, else a seeded sample of that many
    (Rousseeuw, 1987). Needs at least two classes.
    """
    sample_size = max_items if len(Z) > max_items else None
    return float(
        silhouette_score(Z, y, metric="euclidean", sample_size=sample_size, random_state=seed)
    )
