"""How much a classifier gets out of an embedding: a linear probe and a kNN vote."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


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
    chunk_size: int = 4096,
) -> np.ndarray:
    """Majority vote of the ``k`` nearest training items under cosine distance.

    ``train_Z``: ``(n, d)``; ``train_y``: ``(n,)`` integer labels in ``[0, C)``;
    ``query_Z``: ``(m, d)``. Returns ``(m,)`` predictions. Ties go to the smallest label,
    as in scikit-learn's ``KNeighborsClassifier``. Queries are processed in chunks so the
    distance block stays ``(chunk_size, n)``; runs on the GPU when there is one.
    """
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    k = min(k, len(train_Z))
    n_classes = int(train_y.max()) + 1
    keys = torch.nn.functional.normalize(torch.as_tensor(train_Z, dtype=torch.float32), dim=1)
    keys = keys.to(device)
    labels = torch.as_tensor(train_y, dtype=torch.long, device=device)
    predictions = []
    for start in range(0, len(query_Z), chunk_size):
        queries = torch.as_tensor(query_Z[start : start + chunk_size], dtype=torch.float32)
        queries = torch.nn.functional.normalize(queries.to(device), dim=1)
        neighbours = (queries @ keys.T).topk(k, dim=1).indices
        votes = torch.zeros(len(queries), n_classes, device=device)
        votes.scatter_add_(1, labels[neighbours], torch.ones_like(neighbours, dtype=votes.dtype))
        # argmax returns the first maximum, i.e. the smallest label among tied classes.
        predictions.append(votes.argmax(dim=1).cpu())
    if not predictions:
        return np.zeros(0, dtype=np.int64)
    return torch.cat(predictions).numpy()


def knn_accuracy(Z: np.ndarray, y: np.ndarray, test_mask: np.ndarray, k: int = 10) -> float:
    """Test accuracy of the ``k``-nearest-neighbour cosine vote on the probe's split."""
    train = ~test_mask
    predicted = knn_predict(Z[train], y[train], Z[test_mask], k=k)
    return float((predicted == y[test_mask]).mean())
