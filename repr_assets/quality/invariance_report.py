"""The invariance metrics of a report: codes of augmented copies against the originals'."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from repr_assets.encoders.kind import Encoder
from repr_assets.items.augment import Augmentation
from repr_assets.items.sampling import seeded_sample
from repr_assets.metrics.invariance import (
    invariance_cosine,
    invariance_knn_overlap,
    sample_neighbours,
)

INVARIANCE_MAX_ITEMS = 5_000
INVARIANCE_MAX_POOL = 100_000
"""The augmented items' neighbours are sought among every item, or above this many among
a seeded sample of this many (and the augmented items): a pass over a million codes for
each augmentation took 8 s."""
COMBINED_AUGMENTATION = "all"


def invariance_metrics(
    encoder: Encoder,
    X: np.ndarray,
    Z: np.ndarray,
    augmentations: Mapping[str, Augmentation],
    seed: int,
) -> tuple[dict[str, float], list[str]]:
    """``invariance_cosine`` and ``invariance_knn_overlap`` of each augmentation (suffixed
    by its name; unsuffixed for the combined one) on a seeded sample of the items ``X``
    (what the encoder reads) with codes ``Z``; and notes on the samples used."""
    values: dict[str, float] = {}
    notes: list[str] = []
    sample = seeded_sample(len(X), INVARIANCE_MAX_ITEMS, seed)
    pool = np.union1d(sample, seeded_sample(len(X), INVARIANCE_MAX_POOL, seed + 1))
    if len(pool) < len(X):
        notes.append(
            f"invariance_knn_overlap: neighbours among a seeded sample of {len(pool):,} of "
            f"the {len(X):,} items"
        )
    Z_pool, in_pool = Z[pool], np.searchsorted(pool, sample)
    neighbours = sample_neighbours(Z_pool, in_pool, k=10) if len(Z) > 10 else None
    for name, augmentation in augmentations.items():
        generator = torch.Generator().manual_seed(seed)
        Z_augmented = encoder.transform(augmentation(X[sample], generator))
        suffix = "" if name == COMBINED_AUGMENTATION else f"_{name}"
        values[f"invariance_cosine{suffix}"] = invariance_cosine(Z[sample], Z_augmented)
        if neighbours is not None:
            values[f"invariance_knn_overlap{suffix}"] = invariance_knn_overlap(
                Z_pool, in_pool, Z_augmented, k=10, original_neighbours=neighbours
            )
    return values, notes
