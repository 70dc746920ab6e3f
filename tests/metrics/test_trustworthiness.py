"""Trustworthiness against scikit-learn, and the seeded sample it is computed on."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.manifold import trustworthiness as sklearn_trustworthiness

from repr_assets.items.sampling import seeded_sample
from repr_assets.metrics.trustworthiness import TRUSTWORTHINESS_MAX_ITEMS, trustworthiness

REL = 1e-6


def _projection(
    n: int = 200, features: int = 12, dim: int = 3, noise: float = 0.3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Continuous inputs and a noisy lower-dimensional projection of them."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features))
    projection = rng.normal(size=(features, dim))
    Z = X @ projection + noise * rng.normal(size=(n, dim))
    return X.astype(np.float32), Z.astype(np.float32)


def _f64(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_trustworthiness_matches_sklearn(seed: int) -> None:
    X, Z = _projection(seed=seed)
    expected = sklearn_trustworthiness(_f64(X), _f64(Z), n_neighbors=10)
    value = trustworthiness(X, Z, n_neighbors=10)
    assert value == pytest.approx(expected, rel=REL)
    assert 0.0 <= value <= 1.0


@pytest.mark.parametrize(("dim", "noise"), [(1, 0.0), (2, 1.0), (6, 3.0)])
def test_trustworthiness_matches_sklearn_from_good_to_poor_codes(dim: int, noise: float) -> None:
    X, Z = _projection(n=150, dim=dim, noise=noise, seed=4)
    expected = sklearn_trustworthiness(_f64(X), _f64(Z), n_neighbors=10)
    assert trustworthiness(X, Z) == pytest.approx(expected, rel=REL)


@pytest.mark.parametrize("k", [1, 5, 24])
def test_trustworthiness_matches_sklearn_for_other_k(k: int) -> None:
    X, Z = _projection(n=50, seed=5)
    expected = sklearn_trustworthiness(_f64(X), _f64(Z), n_neighbors=k)
    assert trustworthiness(X, Z, n_neighbors=k) == pytest.approx(expected, rel=REL)


def test_trustworthiness_of_the_identity_is_one() -> None:
    X, _ = _projection(n=80, seed=6)
    assert trustworthiness(X, X) == pytest.approx(1.0, abs=1e-12)


def test_trustworthiness_of_random_codes_is_well_below_one() -> None:
    X, _ = _projection(n=200, seed=7)
    Z = np.random.default_rng(8).normal(size=(200, 3))
    value = trustworthiness(X, Z)
    assert value == pytest.approx(sklearn_trustworthiness(_f64(X), Z, n_neighbors=10), rel=REL)
    assert value < 0.7


@pytest.mark.parametrize(("n", "k"), [(20, 10), (20, 11), (21, 11), (10, 10)])
def test_n_neighbors_of_at_least_half_n_raises(n: int, k: int) -> None:
    X, Z = _projection(n=n, seed=9)
    with pytest.raises(ValueError, match="n_neighbors"):
        trustworthiness(X, Z, n_neighbors=k)
    with pytest.raises(ValueError):  # scikit-learn refuses the same
        sklearn_trustworthiness(_f64(X), _f64(Z), n_neighbors=k)


def test_n_neighbors_just_below_half_n_is_allowed() -> None:
    X, Z = _projection(n=21, seed=10)
    expected = sklearn_trustworthiness(_f64(X), _f64(Z), n_neighbors=10)
    assert trustworthiness(X, Z, n_neighbors=10) == pytest.approx(expected, rel=REL)


# --- seeded_sample ---------------------------------------------------------------------


@pytest.mark.parametrize(("n", "max_items"), [(0, 5), (1, 5), (5, 5), (4, 5)])
def test_seeded_sample_takes_every_item_up_to_the_limit(n: int, max_items: int) -> None:
    np.testing.assert_array_equal(seeded_sample(n, max_items, seed=3), np.arange(n))


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_seeded_sample_over_the_limit_is_sorted_unique_and_in_range(seed: int) -> None:
    sample = seeded_sample(1000, 100, seed=seed)
    assert len(sample) == 100
    assert len(np.unique(sample)) == 100
    assert np.all(np.diff(sample) > 0)
    assert sample.min() >= 0 and sample.max() < 1000
    # The documented draw: the first max_items of a seeded RandomState permutation.
    expected = np.sort(np.random.RandomState(seed).permutation(1000)[:100])
    np.testing.assert_array_equal(sample, expected)


def test_seeded_sample_is_deterministic_and_depends_on_the_seed() -> None:
    first = seeded_sample(500, 50, seed=7)
    np.testing.assert_array_equal(seeded_sample(500, 50, seed=7), first)
    assert not np.array_equal(seeded_sample(500, 50, seed=8), first)


def test_seeded_sample_is_spread_over_the_items() -> None:
    sample = seeded_sample(10_000, 1000, seed=0)
    # Not the first rows: a sample from the whole range.
    assert sample.max() > 9000 and sample.min() < 1000


def test_trustworthiness_sample_limit_is_the_interface_s() -> None:
    assert TRUSTWORTHINESS_MAX_ITEMS == 2_000
