"""Pictures of an embedding for the quality report: a 2-D map and query/neighbour rows."""

from __future__ import annotations

import numpy as np

from repr_assets.encoders.pca import PCA
from repr_assets.metrics.neighbourhood import seeded_sample
from repr_assets.metrics.neighbours import cosine_topk

MAP_MAX_ITEMS = 3_000


def map_points(
    Z: np.ndarray, labels: list[str | None], seed: int
) -> tuple[np.ndarray, list[str | None]]:
    """A seeded sample of at most ``MAP_MAX_ITEMS`` codes projected on their first two
    principal axes, ``(m, 2)``, with the sample's labels."""
    sample = seeded_sample(len(Z), MAP_MAX_ITEMS, seed)
    codes = Z[sample]
    if codes.shape[1] <= 2:
        points = np.pad(codes, ((0, 0), (0, 2 - codes.shape[1])))
    else:
        points = PCA(2).fit(codes).transform(codes)
    return points, [labels[i] for i in sample]


def query_neighbours(
    Z: np.ndarray, candidates: np.ndarray, queries: int, k: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``queries`` seeded query rows drawn from ``candidates`` and their ``k`` cosine
    neighbours among all rows of ``Z`` (the query itself left out): ``(q,)``, ``(q, k)``."""
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(candidates, size=min(queries, len(candidates)), replace=False))
    return chosen, cosine_topk(Z[chosen], Z, k, exclude=chosen)
