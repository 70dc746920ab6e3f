"""Effective rank (RankMe) of an embedding: how many dimensions it really uses."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def singular_values(batches: Iterable[np.ndarray]) -> np.ndarray:
    """Singular values of the centred matrix stacked from ``(rows, d)`` batches.

    They are the square roots of the eigenvalues of the centred Gram matrix, accumulated
    batch by batch in float64, so memory is ``d x d`` however many rows there are.
    """
    count, total, gram = 0, None, None
    for batch in batches:
        Z = np.asarray(batch, dtype=np.float64)
        if total is None or gram is None:
            total, gram = np.zeros(Z.shape[1]), np.zeros((Z.shape[1], Z.shape[1]))
        count += len(Z)
        total += Z.sum(axis=0)
        gram += Z.T @ Z
    if total is None or gram is None or count == 0:
        raise ValueError("effective rank needs at least one row")
    centred_gram = gram - np.outer(total, total) / count
    eigenvalues = np.linalg.eigvalsh(centred_gram)[::-1]
    return np.sqrt(np.clip(eigenvalues, 0.0, None))


def effective_rank(Z: np.ndarray) -> float:
    """RankMe (Garrido et al., 2023): ``exp`` of the entropy of the normalised singular values
    of the centred ``Z`` ``(n, d)``. A collapsed embedding (all rows equal) scores 0.
    """
    values = singular_values([Z])
    total = values.sum()
    if total <= 1e-12 * max(1.0, float(np.abs(Z).max(initial=0.0))):
        return 0.0
    p = values[values > 0] / total
    return float(np.exp(-np.sum(p * np.log(p))))
