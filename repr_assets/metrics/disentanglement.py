"""Disentanglement: does each dimension of the code capture one factor, and each factor
live in one dimension?

Three families, each comparing a code ``Z`` ``(n, d)`` with the data set's factors
(``repr_assets.metrics.factors``):

- ``mig``: the mutual information gap (Chen et al. 2018);
- ``dci_disentanglement``, ``dci_completeness``, ``dci_informativeness`` (Eastwood and
  Williams 2018), from a seeded random forest of each factor on the code;
- ``sap``: the separated attribute predictability (Kumar et al. 2018).

A code that copies the factors scores about 1 on each; a random rotation of it scores low.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from repr_assets.items.sampling import seeded_sample
from repr_assets.metrics.factors import BINS, Factor, bin_levels

DCI_MAX_TRAIN = 4_000
DCI_TREES = 30
DCI_DEPTH = 8


def mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """Mutual information, in nats, of two ``(n,)`` arrays of integer levels (the value of
    ``sklearn.metrics.mutual_info_score``), from their joint histogram."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    width = int(b.max()) + 1
    joint = np.bincount(a * width + b, minlength=(int(a.max()) + 1) * width).astype(np.float64)
    joint = joint.reshape(-1, width) / len(a)
    outer = joint.sum(axis=1, keepdims=True) * joint.sum(axis=0, keepdims=True)
    seen = joint > 0
    return float(np.sum(joint[seen] * np.log(joint[seen] / outer[seen])))


def entropy(levels: np.ndarray) -> float:
    """Entropy in nats of ``(n,)`` integer levels."""
    p = np.bincount(np.asarray(levels, np.int64)) / len(levels)
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))


def mig(Z: np.ndarray, factors: Sequence[Factor], bins: int = BINS) -> float:
    """Mutual information gap: for each factor, the gap between the code dimensions that
    share the most and the second-most information with it, over the factor's entropy;
    averaged over factors. Each dimension is cut into ``bins`` equal-width bins. A code of
    one dimension has no second dimension: its gap is its information share."""
    codes = [bin_levels(column, bins) for column in np.asarray(Z, np.float64).T]
    gaps = []
    for factor in factors:
        information = sorted(
            (mutual_information(code, factor.levels) for code in codes), reverse=True
        )
        second = information[1] if len(information) > 1 else 0.0
        gaps.append((information[0] - second) / entropy(factor.levels))
    return float(np.mean(gaps))


def sap(Z: np.ndarray, factors: Sequence[Factor]) -> float:
    """Separated attribute predictability: for each factor, the gap between the two code
    dimensions that predict it best, averaged over factors. A dimension's score for a
    numeric factor is its squared correlation with it; for a categorical factor, the share
    of the dimension's variance that the factor's classes explain (the correlation ratio
    η²). Both are the R² of a one-dimensional linear fit; a constant dimension scores 0."""
    Z = np.asarray(Z, np.float64)
    centred = Z - Z.mean(axis=0)
    total = np.sum(centred**2, axis=0)
    gaps = []
    for factor in factors:
        scores = _explained_shares(centred, total, factor)
        top = np.sort(scores)[::-1]
        gaps.append(top[0] - (top[1] if len(top) > 1 else 0.0))
    return float(np.mean(gaps))


def _explained_shares(centred: np.ndarray, total: np.ndarray, factor: Factor) -> np.ndarray:
    """``(d,)`` R² of each centred code dimension under ``factor`` (see ``sap``)."""
    varying = total > 0
    if factor.values is not None:
        target = factor.values - factor.values.mean()
        covariance = target @ centred
        denominator = np.where(varying, total * np.sum(target**2), 1.0)
        return np.where(varying, covariance**2 / denominator, 0.0)
    counts = np.bincount(factor.levels)
    means = (
        np.stack([np.bincount(factor.levels, weights=column) for column in centred.T], axis=1)
        / counts[:, None]
    )
    between = np.sum(counts[:, None] * means**2, axis=0)
    return np.where(varying, between / np.where(varying, total, 1.0), 0.0)


def dci(
    Z: np.ndarray, factors: Sequence[Factor], test_mask: np.ndarray, seed: int
) -> dict[str, float]:
    """DCI: ``dci_disentanglement``, ``dci_completeness`` and ``dci_informativeness``.

    A seeded random forest per factor (a regressor of a numeric factor, a classifier of a
    categorical one) is fitted on at most ``DCI_MAX_TRAIN`` training items of the code and
    scored on the test items. Its impurity importances make the ``(d, factors)`` matrix
    ``R``. Disentanglement is ``1 −`` the entropy (base = number of factors) of each
    dimension's row of ``R``, weighted by the row's share of ``R``; completeness is ``1 −``
    the entropy (base ``d``) of each factor's column, averaged; informativeness is the
    mean test score (R² floored at 0 for numeric factors, accuracy for categorical ones).
    """
    Z = np.asarray(Z, np.float64)
    train = np.flatnonzero(~test_mask)
    train = train[seeded_sample(len(train), DCI_MAX_TRAIN, seed)]
    test = np.flatnonzero(test_mask)
    if len(train) < 2 or len(test) == 0:
        raise ValueError("DCI needs training and test items")
    importance = np.zeros((Z.shape[1], len(factors)))
    scores = []
    for j, factor in enumerate(factors):
        forest_type = RandomForestClassifier if factor.categorical else RandomForestRegressor
        # Every dimension is a candidate at every split (``max_features=None``): with a
        # random subset, splits forced onto dimensions that know nothing of the factor
        # take importance, and a code that copies the factors scores 0.78, not 1.
        forest = forest_type(
            n_estimators=DCI_TREES,
            max_depth=DCI_DEPTH,
            max_features=None,
            random_state=seed,
            n_jobs=1,
        )
        target = factor.levels if factor.values is None else factor.values
        forest.fit(Z[train], target[train])
        importance[:, j] = forest.feature_importances_
        score = forest.score(Z[test], target[test])
        scores.append(score if factor.categorical else max(0.0, score))
    return {
        "dci_disentanglement": _dci_disentanglement(importance),
        "dci_completeness": _dci_completeness(importance),
        "dci_informativeness": float(np.mean(scores)),
    }


def _dci_disentanglement(importance: np.ndarray) -> float:
    """From the ``(d, factors)`` importance matrix: each code dimension's ``1 − H_K``,
    weighted by its share of all importance."""
    if importance.shape[1] < 2:
        return 1.0  # one factor: every dimension that matters captures only it
    per_dimension = 1.0 - _entropies(importance, base=importance.shape[1])
    total = importance.sum()
    weights = importance.sum(axis=1) / total if total > 0 else np.zeros(len(importance))
    return float(np.sum(per_dimension * weights))


def _dci_completeness(importance: np.ndarray) -> float:
    """From the ``(d, factors)`` importance matrix: each factor's ``1 − H_d``, averaged."""
    if importance.shape[0] < 2:
        return 1.0
    return float(np.mean(1.0 - _entropies(importance.T, base=importance.shape[0])))


def _entropies(matrix: np.ndarray, base: int) -> np.ndarray:
    """Entropy, in base ``base``, of each row of ``matrix`` normalised to sum 1 (a zero row
    counts as spread evenly: entropy 1)."""
    sums = matrix.sum(axis=1, keepdims=True)
    p = np.where(sums > 0, matrix / np.where(sums > 0, sums, 1.0), 1.0 / matrix.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=1) / np.log(base)
