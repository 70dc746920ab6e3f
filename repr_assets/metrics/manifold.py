"""The manifold the data lie on: its intrinsic dimension, whether an embedding keeps its
neighbourhoods both ways, and whether a code recovers the true coordinate along it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LinearRegression

from repr_assets.metrics.factors import Factor
from repr_assets.metrics.trustworthiness import trustworthiness

INTRINSIC_MAX_ITEMS = 5_000
TWO_NN_DISCARD = 0.1  # the share of the largest distance ratios left out (Facco et al.)
_BLOCK = 512


def intrinsic_dimension(X: np.ndarray, discard_fraction: float = TWO_NN_DISCARD) -> float:
    """TwoNN estimate (Facco et al. 2017) of the intrinsic dimension of ``X`` ``(n, f)``.

    For each point, ``mu`` is the ratio of its second to its first nearest-neighbour
    distance; the estimate is the slope, through the origin, of ``-log(1 - F(mu))`` against
    ``log(mu)`` over the smallest ``1 - discard_fraction`` of the ratios, ``F`` being their
    empirical distribution. Points with a duplicate (a first distance of 0) are left out.
    This is ``skdim.id.TwoNN`` 's estimator; callers pass a bounded seeded sample, since
    the neighbour search is quadratic.
    """
    first, second = _two_nearest(np.asarray(X, np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = second / first
    ratios = ratios[np.isfinite(ratios)]
    n = len(ratios)
    kept = int(n * (1 - discard_fraction))
    if kept < 2:
        raise ValueError("intrinsic dimension needs at least 3 distinct points")
    log_mu = np.log(np.sort(ratios)[:kept])
    target = -np.log(1 - np.arange(1, kept + 1) / n)
    return float(np.dot(log_mu, target) / np.dot(log_mu, log_mu))


def _two_nearest(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(n,)`` euclidean distances of each row to its nearest and second-nearest other row."""
    squared = np.sum(X**2, axis=1)
    first, second = np.empty(len(X)), np.empty(len(X))
    for start in range(0, len(X), _BLOCK):
        rows = slice(start, start + _BLOCK)
        distances = squared[rows, None] + squared[None, :] - 2.0 * (X[rows] @ X.T)
        np.maximum(distances, 0.0, out=distances)
        distances[np.arange(len(distances)), np.arange(start, start + len(distances))] = np.inf
        nearest = np.partition(distances, 1, axis=1)[:, :2]
        first[rows], second[rows] = np.sqrt(nearest[:, 0]), np.sqrt(nearest[:, 1])
    return first, second


def continuity(X: np.ndarray, Z: np.ndarray, n_neighbors: int = 10) -> float:
    """Continuity (Venna and Kaski 2001), trustworthiness' twin: whether neighbours in the
    input stay neighbours in the code. It penalises each input neighbour missing from an
    item's code neighbourhood by how far down the code's ranking it fell, which is
    trustworthiness with the roles of ``X`` and ``Z`` exchanged."""
    return trustworthiness(Z, X, n_neighbors=n_neighbors)


def factor_r2(Z: np.ndarray, factors: Sequence[Factor], test_mask: np.ndarray) -> float | None:
    """How well a linear read-out of the code recovers the numeric factors (the coordinate
    along a manifold): the test R² of a least-squares fit of each on ``Z``, trained on
    the other items, averaged. A code that has unfolded the manifold scores near 1; one
    that keeps it curled up scores low. ``None`` when no factor is numeric."""
    numeric = [factor for factor in factors if factor.values is not None]
    if not numeric:
        return None
    Z = np.asarray(Z, np.float64)
    train = ~test_mask
    scores = []
    for factor in numeric:
        assert factor.values is not None
        fit = LinearRegression().fit(Z[train], factor.values[train])
        scores.append(fit.score(Z[test_mask], factor.values[test_mask]))
    return float(np.mean(scores))
