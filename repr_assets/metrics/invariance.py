"""Invariance: do harmless changes of the input leave the embedding where it was?"""

from __future__ import annotations

import numpy as np

from repr_assets.cosine import cosine_topk


def invariance_cosine(Z: np.ndarray, Z_augmented: np.ndarray) -> float:
    """Mean cosine similarity between each code ``(n, d)`` and its augmented copy's."""
    Z = np.asarray(Z, np.float64)
    Z_augmented = np.asarray(Z_augmented, np.float64)
    norms = np.linalg.norm(Z, axis=1) * np.linalg.norm(Z_augmented, axis=1)
    dots = np.sum(Z * Z_augmented, axis=1)
    # A zero code has no direction: it counts as unchanged only if its copy is zero too.
    similarity = np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), 0.0)
    both_zero = (np.linalg.norm(Z, axis=1) == 0) & (np.linalg.norm(Z_augmented, axis=1) == 0)
    return float(np.mean(np.where(both_zero, 1.0, similarity)))


def invariance_knn_overlap(
    Z_all: np.ndarray,
    sample: np.ndarray,
    Z_augmented: np.ndarray,
    k: int = 10,
    original_neighbours: np.ndarray | None = None,
) -> float:
    """Mean share of the ``k`` cosine neighbours that an item and its augmented copy share.

    ``Z_all``: ``(n, d)`` codes of every item; ``sample``: ``(m,)`` indices of the items
    augmented; ``Z_augmented``: ``(m, d)`` their augmented codes. Both neighbour lists are
    taken among all items, leaving the item itself out. ``original_neighbours``, the
    ``(m, k)`` result of ``sample_neighbours(Z_all, sample, k)``, saves recomputing them
    for each augmentation.
    """
    original = (
        original_neighbours
        if original_neighbours is not None
        else sample_neighbours(Z_all, sample, k)
    )
    augmented = cosine_topk(Z_augmented, Z_all, k, exclude=sample)
    shared = (original[:, :, None] == augmented[:, None, :]).any(axis=2).sum(axis=1)
    return float(np.mean(shared / original.shape[1]))


def sample_neighbours(Z_all: np.ndarray, sample: np.ndarray, k: int = 10) -> np.ndarray:
    """The ``(m, k)`` cosine neighbours of the sampled items among all, each leaving itself out."""
    return cosine_topk(Z_all[sample], Z_all, k, exclude=sample)
