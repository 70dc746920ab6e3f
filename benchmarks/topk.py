"""The one cosine top-k (``repr_assets.cosine``) against the alternatives, in one run.

For each shape (queries x keys x dimensions) it prints the best of several rounds of:
- ``cosine_topk``: NumPy, the chunked top-k that search and the metrics share;
- ``argpartition``: the same product, then ``np.argpartition`` over each whole row;
- ``torch``: the product and ``torch.topk`` on the CPU (what the metrics used before).
and each one's time as a multiple of ``cosine_topk``'s, with the share of neighbours all
three agree on (below 1 only where float32 products from other kernels reorder near-ties).
Timings on a shared machine are noisy: compare the ratios, taken within one run.

    python -m benchmarks.topk           # three shapes, about a minute on 2 cores
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from repr_assets.cosine import cosine_topk, normalise_rows

SHAPES = [(8, 1_000_000, 16), (2_000, 200_000, 16), (5_000, 50_000, 64)]
K = 10


def argpartition_topk(queries: np.ndarray, keys: np.ndarray, k: int) -> np.ndarray:
    unit_keys = normalise_rows(keys.copy())
    block = max(1, (1 << 23) // len(keys))
    result = []
    for start in range(0, len(queries), block):
        scores = normalise_rows(queries[start : start + block].copy()) @ unit_keys.T
        chosen = np.argpartition(scores, -k, axis=1)[:, -k:]
        values = np.take_along_axis(scores, chosen, axis=1)
        order = np.lexsort((chosen, -values), axis=1)
        result.append(np.take_along_axis(chosen, order, axis=1))
    return np.concatenate(result)


def torch_topk(queries: np.ndarray, keys: np.ndarray, k: int) -> np.ndarray:
    import torch

    unit_keys = torch.nn.functional.normalize(torch.from_numpy(keys), dim=1).T.contiguous()
    block = max(1, (1 << 24) // len(keys))
    result = []
    for start in range(0, len(queries), block):
        unit = torch.nn.functional.normalize(torch.from_numpy(queries[start : start + block]))
        result.append((unit @ unit_keys).topk(k, dim=1).indices.numpy())
    return np.concatenate(result)


def best_of(
    topk: Callable[[np.ndarray, np.ndarray, int], np.ndarray],
    queries: np.ndarray,
    keys: np.ndarray,
    rounds: int = 3,
) -> tuple[float, np.ndarray]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = topk(queries, keys, K)
        times.append(time.perf_counter() - start)
    assert result is not None
    return min(times), result


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'shape':>24}  {'cosine_topk':>12}  {'argpartition':>12}  {'torch':>12}  agree")
    for m, n, d in SHAPES:
        keys = rng.standard_normal((n, d), dtype=np.float32)
        queries = rng.standard_normal((m, d), dtype=np.float32)
        ours, expected = best_of(cosine_topk, queries, keys)
        others = {
            "argpartition": best_of(argpartition_topk, queries, keys),
            "torch": best_of(torch_topk, queries, keys),
        }
        agree = min(float((result == expected).mean()) for _, result in others.values())
        shown = "  ".join(f"{seconds / ours:>11.2f}x" for seconds, _ in others.values())
        print(f"{f'{m} x {n:,} x {d}':>24}  {ours * 1e3:>9.1f} ms  {shown}  {agree:.4f}")


if __name__ == "__main__":
    main()
