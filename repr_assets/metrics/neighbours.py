"""Chunked nearest-neighbour search under cosine similarity, on the metric device."""

from __future__ import annotations

import numpy as np
import torch

from repr_assets.metrics.device import metric_device

# Most similarities held at once: 2^24 float32 is 64 MiB, 16 queries against a million
# keys. Blocks of 16 or more queries make the product a matrix-matrix one (about 3x the
# speed per query of blocks of 4 on two cores).
MAX_BLOCK = 1 << 24


def cosine_topk(
    queries: np.ndarray,
    keys: np.ndarray,
    k: int,
    exclude: np.ndarray | None = None,
    max_block: int = MAX_BLOCK,
) -> np.ndarray:
    """Indices ``(m, k)`` of the ``k`` keys most cosine-similar to each query, nearest first.

    ``queries``: ``(m, d)``; ``keys``: ``(n, d)``; ``exclude``: optional ``(m,)`` key index
    per query that may not be returned (the query item itself). Similarities are computed
    one block of at most ``max_block`` entries at a time, so memory stays bounded however
    many keys there are.

    Similarities are float32 on every device: only their order is used, and float64 on
    the CPU doubled the memory read per query for no change beyond the order of
    neighbours tied to within 1e-7.
    """
    device = metric_device()
    chunk_size = max(1, max_block // max(len(keys), 1))
    # (d, n) contiguous: each block's product then streams the keys in memory order. The
    # copy is made in that layout, so no (n, d) copy is held beside it.
    keys_by_dimension = _unit_rows(np.asarray(keys).T, device, dim=0)
    k = min(k, len(keys) - (1 if exclude is not None else 0))
    result = np.zeros((len(queries), k), dtype=np.int64)
    if not len(queries):
        return result
    # One similarity buffer serves every block. With a fresh (chunk, keys) matrix per
    # block, the 1M scale run's report grew to 15 GB resident inside this loop, though
    # each was freed; a fixed buffer makes that allocation once.
    buffer = torch.empty((min(chunk_size, len(queries)), len(keys)), device=device)
    for start in range(0, len(queries), chunk_size):
        block = _unit_rows(queries[start : start + chunk_size], device)
        similarity = torch.matmul(block, keys_by_dimension, out=buffer[: len(block)])
        if exclude is not None:
            rows = torch.arange(len(block), device=device)
            own = torch.as_tensor(exclude[start : start + chunk_size], device=device)
            similarity[rows, own] = -torch.inf
        result[start : start + len(block)] = similarity.topk(k, dim=1).indices.cpu().numpy()
    return result


def _unit_rows(vectors: np.ndarray, device: torch.device, dim: int = 1) -> torch.Tensor:
    """A float32 copy of ``vectors`` with unit length along ``dim`` (1: rows, 0: columns).

    One copy, laid out C-contiguous (arrays read from Arrow are read-only, and the caller's
    are not ours to scale), then scaled in place as ``normalize`` scales (norms below 1e-12
    taken as 1e-12), without a second.
    """
    tensor = torch.from_numpy(np.array(vectors, dtype=np.float32, order="C")).to(device)
    return tensor.div_(tensor.norm(dim=dim, keepdim=True).clamp_min_(1e-12))
