"""Intrinsic dimension against scikit-dimension's TwoNN, continuity against its definition
written out, and the linear read-out of a manifold coordinate on codes whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import skdim
from sklearn.datasets import make_s_curve, make_swiss_roll

from repr_assets.metrics.factors import read_factors
from repr_assets.metrics.manifold import continuity, factor_r2, intrinsic_dimension


def _plane_in(features: int, n: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(features, 2)))[0]
    return rng.uniform(-1, 1, size=(n, 2)) @ basis.T


@pytest.mark.parametrize(
    "points",
    [
        pytest.param(make_swiss_roll(2000, random_state=0)[0], id="swiss_roll"),
        pytest.param(make_s_curve(2000, random_state=1)[0], id="s_curve"),
        pytest.param(_plane_in(30), id="plane_in_30d"),
        pytest.param(np.random.default_rng(2).normal(size=(2000, 5)), id="gaussian_5d"),
    ],
)
def test_two_nn_equals_scikit_dimension(points: np.ndarray) -> None:
    expected = skdim.id.TwoNN().fit(points).dimension_
    assert intrinsic_dimension(points) == pytest.approx(expected, rel=1e-9)


def test_two_nn_finds_the_dimension_of_a_curled_surface_and_of_a_cloud() -> None:
    assert intrinsic_dimension(make_swiss_roll(3000, random_state=0)[0]) == pytest.approx(
        2, rel=0.2
    )
    assert intrinsic_dimension(np.random.default_rng(0).normal(size=(3000, 6))) == pytest.approx(
        6, rel=0.2
    )


def test_duplicate_points_are_left_out_not_infinite() -> None:
    points = _plane_in(4, n=500)
    doubled = np.concatenate([points, points[:50]])
    value = intrinsic_dimension(doubled)
    assert np.isfinite(value)
    with pytest.raises(ValueError, match="distinct points"):
        intrinsic_dimension(np.zeros((10, 3)))


def _reference_continuity(X: np.ndarray, Z: np.ndarray, k: int) -> float:
    """Venna and Kaski's continuity by its definition: for each item, each of its ``k``
    input neighbours that is not among its ``k`` code neighbours costs its code rank - k."""
    n = len(X)

    def ranks(points: np.ndarray, i: int) -> np.ndarray:
        distances = np.linalg.norm(points - points[i], axis=1)
        distances[i] = -1.0  # the item itself comes first, at rank 0
        order = np.argsort(distances, kind="stable")
        rank = np.empty(n, int)
        rank[order] = np.arange(n)
        return rank

    penalty = 0
    for i in range(n):
        input_rank, code_rank = ranks(X, i), ranks(Z, i)
        input_neighbours = np.flatnonzero((input_rank >= 1) & (input_rank <= k))
        for j in input_neighbours:
            if code_rank[j] > k:
                penalty += code_rank[j] - k
    return 1.0 - 2.0 / (n * k * (2 * n - 3 * k - 1)) * penalty


@pytest.mark.parametrize("seed", [0, 1])
def test_continuity_equals_its_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 6))
    Z = X[:, :2] + 0.3 * rng.normal(size=(120, 2))
    assert continuity(X, Z, n_neighbors=5) == pytest.approx(
        _reference_continuity(X, Z, 5), rel=1e-12
    )


def test_gluing_costs_trustworthiness_and_tearing_costs_continuity() -> None:
    """A projection glues far points together: its code neighbours are false (low
    trustworthiness) while input neighbours stay near (higher continuity). Cutting a
    plane in two and moving the halves apart tears neighbourhoods: the reverse."""
    from repr_assets.metrics.trustworthiness import trustworthiness

    rng = np.random.default_rng(4)
    X = rng.normal(size=(600, 3))
    assert continuity(X, X) == pytest.approx(1.0)
    glued = X[:, :1]
    assert continuity(X, glued) > trustworthiness(X, glued) + 0.1
    plane = rng.uniform(-1, 1, size=(600, 2))
    torn = plane.copy()
    torn[plane[:, 0] > 0, 0] += 5.0
    assert trustworthiness(plane, torn) > continuity(plane, torn) + 0.01


def test_factor_r2_is_one_for_an_unrolled_coordinate_and_low_for_a_rolled_one() -> None:
    points, t = make_swiss_roll(3000, random_state=0)
    factors = read_factors({"t": t})
    test = np.random.default_rng(0).random(3000) < 0.2
    unrolled = np.stack([t * 2.0 + 1.0, points[:, 1]], axis=1)
    rolled = points[:, [0, 2]]  # the spiral as PCA of the roll would keep it
    assert factor_r2(unrolled, factors, test) == pytest.approx(1.0)
    assert factor_r2(rolled, factors, test) < 0.3
    assert factor_r2(rolled, read_factors({"shape": ["a", "b"] * 1500}), test) is None
