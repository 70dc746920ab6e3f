"""Chunked nearest-neighbour search under cosine similarity, on the metric device."""

from __future__ import annotations

import numpy as np
import torch

from repr_assets.metrics.device import as_tensor, metric_device


def cosine_topk(
    queries: np.ndarray,
    keys: np.ndarray,
    k: int,
    exclude: np.ndarray | None = None,
    max_block: int = 1 << 22,
) -> np.ndarray:
    """Indices ``(m, k)`` of the ``k`` keys most cosine-similar to each query, nearest first.

    ``queries``: ``(m, d)``; ``keys``: ``(n, d)``; ``exclude``: optional ``(m,)`` key index
    per query that may not be returned (the query item itself). Similarities are computed
    one block of at most ``max_block`` entries at a time, so memory stays bounded however
    many keys there are.
    """
    device = metric_device()
    chunk_size = max(1, max_block // max(len(keys), 1))
    key_tensor = torch.nn.functional.normalize(as_tensor(keys, device), dim=1)
    k = min(k, len(keys) - (1 if exclude is not None else 0))
    out = []
    for start in range(0, len(queries), chunk_size):
        block = torch.nn.functional.normalize(
            as_tensor(queries[start : start + chunk_size], device), dim=1
        )
        similarity = block @ key_tensor.T
        if exclude is not None:
            rows = torch.arange(len(block), device=device)
            own = torch.as_tensor(exclude[start : start + chunk_size], device=device)
            similarity[rows, own] = -torch.inf
        out.append(similarity.topk(k, dim=1).indices.cpu())
    if not out:
        return np.zeros((0, k), dtype=np.int64)
    return torch.cat(out).numpy()
