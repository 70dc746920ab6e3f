"""How much a classifier gets out of an embedding: a linear probe and a kNN vote."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from repr_assets.metrics.neighbourhood import seeded_sample
from repr_assets.metrics.neighbours import cosine_topk

KNN_MAX_QUERIES = 20_000


def linear_probe_accuracy(
    Z: np.ndarray, y: np.ndarray, test_mask: np.ndarray, max_iter: int = 2000
) -> float:
    """Test accuracy of multinomial logistic regression on standardised ``Z``.

    ``Z``: ``(n, d)`` embeddings; ``y``: ``(n,)`` integer labels; ``test_mask``: ``(n,)``
    booleans, the rest being the training side. The scaler is fitted on the training side.
    """
    train = ~test_mask
    scaler = StandardScaler().fit(Z[train])
    probe = LogisticRegression(max_iter=max_iter)
    probe.fit(scaler.transform(Z[train]), y[train])
    return float(probe.score(scaler.transform(Z[test_mask]), y[test_mask]))


def knn_predict(
    train_Z: np.ndarray,
    train_y: np.ndarray,
    query_Z: np.ndarray,
    k: int = 10,
) -> np.ndarray:
    """Majority vote of the ``k`` nearest training items under cosine distance.

    ``train_Z``: ``(n, d)``; ``train_y``: ``(n,)`` integer labels in ``[0, C)``;
    ``query_Z``: ``(m, d)``. Returns ``(m,)`` predictions. Ties go to the smallest label,
    as in scikit-learn's ``KNeighborsClassifier``.
    """
    neighbours = cosine_topk(query_Z, train_Z, k)
    n_classes = int(train_y.max()) + 1
    votes = np.zeros((len(query_Z), n_classes), dtype=np.int64)
    np.add.at(votes, (np.arange(len(query_Z))[:, None], train_y[neighbours]), 1)
    # argmax returns the first maximum, i.e. the smallest label among tied classes.
    return votes.argmax(axis=1)


def knn_accuracy(
    Z: np.ndarray,
    y: np.ndarray,
    test_mask: np.ndarray,
    k: int = 10,
    max_queries: int = KNN_MAX_QUERIES,
    seed: int = 0,
) -> float:
    """Test accuracy of the ``k``-nearest-neighbour cosine vote on the probe's split.

    Every training item is a candidate neighbour. The test items voted on are all of them
    when there are at most ``max_queries``, else a seeded sample of ``max_queries``: the
    work grows with the number of items, not with its square (a million items would
    otherwise take 200,000 x 800,000 distances).
    """
    train = ~test_mask
    test = np.flatnonzero(test_mask)
    test = test[seeded_sample(len(test), max_queries, seed)]
    predicted = knn_predict(Z[train], y[train], Z[test], k=k)
    return float((predicted == y[test]).mean())
