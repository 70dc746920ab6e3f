"""Drift between two embeddings of the same items: do neighbourhoods survive a refit?"""

from __future__ import annotations

import numpy as np

from repr_assets.cosine import cosine_topk


def neighbour_overlap(
    Z_before: np.ndarray, Z_after: np.ndarray, sample: np.ndarray, k: int = 10
) -> float:
    """Mean share of each sampled item's ``k`` cosine neighbours that two embeddings of the
    same items agree on. ``Z_before``, ``Z_after``: ``(n, d0)`` and ``(n, d1)``, row ``i``
    the same item in both (their widths may differ); ``sample``: ``(m,)`` row indices.
    Neighbours are taken among all ``n`` rows, the item itself left out. A rotation of
    the codes keeps every neighbour (1.0); codes that reshuffle the items score about k/n."""
    if len(Z_before) != len(Z_after):
        raise ValueError("the two embeddings must hold the same items")
    before = cosine_topk(Z_before[sample], Z_before, k, exclude=sample)
    after = cosine_topk(Z_after[sample], Z_after, k, exclude=sample)
    shared = (before[:, :, None] == after[:, None, :]).any(axis=2).sum(axis=1)
    return float(np.mean(shared / before.shape[1]))
