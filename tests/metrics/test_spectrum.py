"""Effective rank (RankMe) against a NumPy SVD reference, and its threshold check."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from repr_assets.metrics.spectrum import effective_rank, singular_values
from repr_assets.quality.thresholds import QualityThresholds, check_thresholds, resolve_floors

REL = 1e-6


def _reference_effective_rank(Z: np.ndarray) -> float:
    Z = np.asarray(Z, dtype=np.float64)
    s = np.linalg.svd(Z - Z.mean(axis=0), compute_uv=False)
    p = s / s.sum()
    p = p[p > 0]
    return float(np.exp(-np.sum(p * np.log(p))))


def _anisotropic(n: int = 300, d: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scales = np.geomspace(10.0, 0.1, d)
    return (rng.normal(size=(n, d)) * scales + rng.normal(scale=5.0, size=d)).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_effective_rank_matches_the_svd_reference(seed: int) -> None:
    Z = _anisotropic(seed=seed)
    assert effective_rank(Z) == pytest.approx(_reference_effective_rank(Z), rel=REL)


def test_effective_rank_of_isotropic_codes_is_close_to_the_dimension() -> None:
    Z = np.random.default_rng(3).normal(size=(5000, 8))
    value = effective_rank(Z)
    assert value == pytest.approx(_reference_effective_rank(Z), rel=REL)
    assert 7.8 < value <= 8.0


def test_effective_rank_ignores_the_mean() -> None:
    Z = _anisotropic(seed=4).astype(np.float64)
    assert effective_rank(Z + 100.0) == pytest.approx(effective_rank(Z), rel=1e-6)


def test_effective_rank_of_a_wide_matrix_matches_the_reference() -> None:
    # Fewer rows than dimensions: at most n - 1 non-zero singular values once centred.
    Z = np.random.default_rng(5).normal(size=(6, 20))
    value = effective_rank(Z)
    assert value == pytest.approx(_reference_effective_rank(Z), rel=REL)
    assert value <= 5 + 1e-6


def test_singular_values_match_numpy_svd() -> None:
    Z = _anisotropic(seed=6)
    expected = np.linalg.svd(Z - Z.mean(axis=0, dtype=np.float64), compute_uv=False)
    np.testing.assert_allclose(singular_values([Z]), expected, rtol=1e-6)


@pytest.mark.parametrize("sizes", [[300], [100, 100, 100], [1, 299], [7, 150, 0, 143]])
def test_singular_values_over_batches_equal_one_batch(sizes: list[int]) -> None:
    Z = _anisotropic(seed=7)
    bounds = np.cumsum([0, *sizes])
    batches = [Z[start:stop] for start, stop in itertools.pairwise(bounds)]
    np.testing.assert_allclose(singular_values(batches), singular_values([Z]), rtol=1e-9)


def test_singular_values_of_no_rows_raise() -> None:
    with pytest.raises(ValueError):
        singular_values([])


@pytest.mark.parametrize("rank", [1, 2, 3, 5])
def test_an_embedding_of_rank_r_has_effective_rank_at_most_r(rank: int) -> None:
    rng = np.random.default_rng(rank)
    latent = rng.normal(size=(400, rank))
    embedding = np.linalg.qr(rng.normal(size=(16, rank)))[0].T  # (rank, 16), orthonormal rows
    Z = (latent @ embedding + rng.normal(size=16)).astype(np.float32)
    value = effective_rank(Z)
    assert value <= rank + 1e-3
    assert value > rank - 0.5  # isotropic in its r dimensions: close to r
    assert value == pytest.approx(_reference_effective_rank(Z), rel=1e-3)


def test_collapsed_embedding_has_effective_rank_zero_and_fails_the_threshold() -> None:
    Z = np.tile(np.array([[0.3, -1.2, 4.0, 0.0]], dtype=np.float32), (50, 1))
    value = effective_rank(Z)
    assert value == 0.0
    floors = resolve_floors(QualityThresholds(), {})
    outcomes = {o.metric: o for o in check_thresholds({"effective_rank": value}, floors)}
    outcome = outcomes["effective_rank"]
    assert outcome.check == "effective_rank_at_least"
    assert outcome.value == 0.0
    assert outcome.minimum == QualityThresholds().min_effective_rank
    assert outcome.passed is False


def test_all_zero_embedding_has_effective_rank_zero() -> None:
    assert effective_rank(np.zeros((10, 4), dtype=np.float32)) == 0.0


def test_healthy_embedding_passes_the_effective_rank_threshold() -> None:
    Z = _anisotropic(seed=8)
    floors = resolve_floors(QualityThresholds(), {})
    outcome = next(
        o
        for o in check_thresholds({"effective_rank": effective_rank(Z)}, floors)
        if o.metric == "effective_rank"
    )
    assert outcome.passed is True
