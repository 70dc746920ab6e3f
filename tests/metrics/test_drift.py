"""Neighbour overlap between two embeddings, against scikit-learn's neighbours."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import special_ortho_group
from sklearn.neighbors import NearestNeighbors

from repr_assets.metrics.drift import neighbour_overlap


def _reference(before: np.ndarray, after: np.ndarray, sample: np.ndarray, k: int) -> float:
    def neighbours(Z: np.ndarray) -> list[set[int]]:
        index = NearestNeighbors(n_neighbors=k + 1, metric="cosine").fit(Z)
        found = index.kneighbors(Z[sample], return_distance=False)
        return [set(row) - {i} for row, i in zip(found, sample, strict=True)]

    pairs = zip(neighbours(before), neighbours(after), strict=True)
    return float(np.mean([len(a & b) / k for a, b in pairs]))


def test_neighbour_overlap_equals_scikit_learns_neighbours() -> None:
    rng = np.random.default_rng(0)
    before = rng.normal(size=(400, 6))
    after = before[:, :4] + 0.3 * rng.normal(size=(400, 4))  # another width, some drift
    sample = np.sort(rng.choice(400, 60, replace=False))
    assert neighbour_overlap(before, after, sample, k=10) == pytest.approx(
        _reference(before, after, sample, 10)
    )


def test_a_rotation_keeps_every_neighbour_and_a_shuffle_keeps_almost_none() -> None:
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(1000, 8))
    sample = np.arange(0, 1000, 7)
    rotated = Z @ special_ortho_group.rvs(8, random_state=1)
    assert neighbour_overlap(Z, rotated, sample) == pytest.approx(1.0)
    shuffled = Z[rng.permutation(1000)]
    assert neighbour_overlap(Z, shuffled, sample) < 0.05
    with pytest.raises(ValueError, match="same items"):
        neighbour_overlap(Z, Z[:10], sample)
