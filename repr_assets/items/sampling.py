"""The one seeded sampler: which items a bounded metric, a figure or a recall check reads.

Every sample of the report is drawn here, so that one seed gives one answer everywhere,
and equals scikit-learn's own choice where a metric is compared with it (``silhouette``
draws ``RandomState(seed).permutation(n)[:m]``, as ``silhouette_score`` does).
"""

from __future__ import annotations

import numpy as np


def seeded_sample(n: int, max_items: int, seed: int) -> np.ndarray:
    """Indices of all ``n`` items, or of a seeded sample of ``max_items`` of them, sorted."""
    if n <= max_items:
        return np.arange(n)
    return np.sort(np.random.RandomState(seed).permutation(n)[:max_items])
