"""How much a classifier gets out of an embedding: a linear probe and a kNN vote."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from repr_assets.cosine import cosine_topk
from repr_assets.items.sampling import seeded_sample

KNN_MAX_QUERIES = 20_000
PROBE_MAX_TRAIN = 100_000
KNN_MAX_NEIGHBOURS = 100_000
"""Above these many training items, the probe is fitted on, and the kNN vote drawn from, a
seeded sample of this many: at a million items the fit of 800,000 rows and the distances
of 20,000 queries to 800,000 items took 23 s of a report's 41 s per encoder, and 100,000
rows estimate an accuracy to well within its spread between seeds. Below them every
training item is used, as the metrics' definitions say."""


def linear_probe_accuracy(
    Z: np.ndarray,
    y: np.ndarray,
    test_mask: np.ndarray,
    max_iter: int = 2000,
    max_train: int = PROBE_MAX_TRAIN,
    seed: int = 0,
) -> float:
    """Test accuracy of multinomial logistic regression on standardised ``Z``.

    ``Z``: ``(n, d)`` embeddings; ``y``: ``(n,)`` integer labels; ``test_mask``: ``(n,)``
    booleans, the rest being the training side, of which a seeded sample of ``max_train``
    is fitted on when there are more. The scaler is fitted on the rows the probe is.
    """
    train = bounded_training_rows(test_mask, max_train, seed)
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
    max_neighbours: int = KNN_MAX_NEIGHBOURS,
) -> float:
    """Test accuracy of the ``k``-nearest-neighbour cosine vote on the probe's split.

    The candidate neighbours are the training items, or a seeded sample of
    ``max_neighbours`` of them when there are more. The test items voted on are all of
    them when there are at most ``max_queries``, else a seeded sample of ``max_queries``:
    the work stays bounded whatever the number of items (a million items would otherwise
    take 200,000 x 800,000 distances).
    """
    train = bounded_training_rows(test_mask, max_neighbours, seed)
    test = np.flatnonzero(test_mask)
    test = test[seeded_sample(len(test), max_queries, seed)]
    predicted = knn_predict(Z[train], y[train], Z[test], k=k)
    return float((predicted == y[test]).mean())


def bounded_training_rows(test_mask: np.ndarray, max_items: int, seed: int) -> np.ndarray:
    """The rows outside ``test_mask``, in order, or a seeded sample of ``max_items`` of them."""
    train = np.flatnonzero(~test_mask)
    return train[seeded_sample(len(train), max_items, seed)]


RAW_PROBE_MAX_TRAIN = 5_000
RAW_PROBE_MAX_ITER = 300
"""The baseline probe on the raw features reads every feature (4,096 for text, 784 for
MNIST), so it is fitted on a seeded sample of at most this many training rows, with at
most this many L-BFGS iterations: a yardstick for the codes' probe, not a model."""


def majority_class_share(y: np.ndarray, test_mask: np.ndarray) -> float:
    """Test accuracy of always answering the most frequent training class: chance level.

    ``y``: ``(n,)`` integer labels; ``test_mask``: ``(n,)`` booleans. Ties between equally
    frequent training classes go to the smallest label, as scikit-learn's
    ``DummyClassifier(strategy="most_frequent")`` does.
    """
    majority = int(np.bincount(y[~test_mask]).argmax())
    return float((y[test_mask] == majority).mean())


def raw_probe_accuracy(X: np.ndarray, y: np.ndarray, test_mask: np.ndarray, seed: int) -> float:
    """``linear_probe_accuracy`` of the raw features ``X`` ``(n, f)``, fitted on a seeded
    sample of at most ``RAW_PROBE_MAX_TRAIN`` training rows and scored on every test row."""
    train = np.flatnonzero(~test_mask)
    train = train[seeded_sample(len(train), RAW_PROBE_MAX_TRAIN, seed)]
    test = np.flatnonzero(test_mask)
    rows = np.concatenate([train, test])
    mask = np.zeros(len(rows), bool)
    mask[len(train) :] = True
    with warnings.catch_warnings():
        # Stopping at the iteration cap is the point of the cap, not a problem to report.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return linear_probe_accuracy(X[rows], y[rows], mask, max_iter=RAW_PROBE_MAX_ITER)
