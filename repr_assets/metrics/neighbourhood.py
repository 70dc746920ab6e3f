"""Trustworthiness: whether neighbours in the embedding were neighbours in the input."""

from __future__ import annotations

import numpy as np
import torch

from repr_assets.metrics.device import as_tensor, metric_device

TRUSTWORTHINESS_MAX_ITEMS = 2_000


def seeded_sample(n: int, max_items: int, seed: int) -> np.ndarray:
    """Indices of all ``n`` items, or of a seeded sample of ``max_items`` of them."""
    if n <= max_items:
        return np.arange(n)
    return np.sort(np.random.RandomState(seed).permutation(n)[:max_items])


def trustworthiness(X: np.ndarray, Z: np.ndarray, n_neighbors: int = 10) -> float:
    """Trustworthiness (Venna & Kaski, 2001) of codes ``Z`` ``(n, d)`` for inputs ``X`` ``(n, f)``.

    Equal to ``sklearn.manifold.trustworthiness(X, Z, n_neighbors)``; quadratic in ``n``,
    so callers pass a sample (``seeded_sample``).
    """
    n = len(X)
    if not n_neighbors < n / 2:
        raise ValueError(f"n_neighbors ({n_neighbors}) must be less than n_items / 2 ({n / 2})")
    device = metric_device()
    input_distance = torch.cdist(as_tensor(X, device), as_tensor(X, device))
    input_distance.fill_diagonal_(torch.inf)
    # rank[i, j]: position (1-based) of j among i's neighbours in the input space.
    order = input_distance.argsort(dim=1)
    rank = torch.empty_like(order)
    positions = torch.arange(1, n + 1, device=device).expand(n, n)
    rank.scatter_(1, order, positions)
    code_distance = torch.cdist(as_tensor(Z, device), as_tensor(Z, device))
    code_distance.fill_diagonal_(torch.inf)
    code_neighbours = code_distance.topk(n_neighbors, dim=1, largest=False).indices
    excess = rank.gather(1, code_neighbours) - n_neighbors
    penalty = float(excess[excess > 0].sum())
    k = n_neighbors
    return 1.0 - penalty * (2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)))
