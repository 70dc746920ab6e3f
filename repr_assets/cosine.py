"""Cosine similarity, the one implementation that search and the metrics share: rows of
unit length, the top k of each row of scores, and exact top-k search by blocks of queries.

NumPy only, so that ``repr-assets search`` never pays for torch. On two CPU cores the torch
top-k that the metrics used before took 1.2x to 1.9x its time, from 8 queries against a
million 16-d keys to 5,000 against 50,000 64-d ones (``python -m benchmarks.topk``).
"""

from __future__ import annotations

import numpy as np

# Most similarity scores held at once, (queries in a block) x (rows): 2^23 float32 is
# 32 MiB. At a million rows a block still has 8 queries, so the product stays a
# matrix-matrix one; 2^25 made the report's recall search the peak of a million-item run.
SCORE_BUDGET = 1 << 23


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """``(n, d)`` float32 rows scaled to unit length, in place when already float32 and
    writable (pass a copy to keep the original); a read-only array is copied.

    A zero row stays zero: its cosine similarity to anything is taken as 0 (distance 1),
    since it has no direction.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if not vectors.flags.writeable:  # read from Arrow, say
        vectors = vectors.copy()
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    vectors /= norms
    return vectors


# Columns per chunk in ``top_k``: the k-th largest chunk maximum bounds the k-th largest
# value, so only about k chunks of a row need a closer look.
CHUNK = 512


def top_k(scores: np.ndarray, k: int, chunk: int = CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """The columns and values of the ``k`` largest of each row of ``(b, n)`` ``scores``,
    largest first, equal scores in column order (so that a search repeats exactly); a NaN
    counts as -inf.

    Each row's maximum per ``chunk`` columns is taken first (one vectorised pass); the
    chunks whose maximum reaches the k-th largest of them hold every one of the row's k
    largest values, so only about ``k * chunk`` candidates are ranked. On 41 rows of
    200,000 that took 4.3 ms, against 12.9 ms for ``argpartition`` over each row.
    """
    b, n = scores.shape
    k = min(k, n)
    if np.isnan(scores).any():  # a NaN is no similarity: never chosen over a number
        scores = np.where(np.isnan(scores), -np.inf, scores)
    columns = np.broadcast_to(np.arange(n), (b, n))
    if k == 0 or n <= 4 * k * chunk:
        return _ranked(scores, columns, k)
    full = n - n % chunk
    maxima = scores[:, :full].reshape(b, -1, chunk).max(axis=2)
    if full < n:
        maxima = np.concatenate([maxima, scores[:, full:].max(axis=1, keepdims=True)], axis=1)
    chunks = maxima.shape[1]
    bound = np.partition(maxima, chunks - k, axis=1)[:, chunks - k]
    # Chunks tied at the bound may hold tied values that column order must choose among.
    needed = int((maxima >= bound[:, None]).sum(axis=1).max())
    if needed * chunk * 2 >= n:
        return _ranked(scores, columns, k)
    chosen = np.sort(np.argpartition(maxima, chunks - needed, axis=1)[:, chunks - needed :])
    candidates = (chosen[:, :, None] * chunk + np.arange(chunk)).reshape(b, -1)
    past_end = candidates >= n  # the short last chunk's missing columns
    values = np.take_along_axis(scores, np.minimum(candidates, n - 1), axis=1)
    values[past_end] = -np.inf
    candidates = np.where(past_end, n + np.arange(candidates.shape[1]), candidates)
    return _ranked(values, candidates, k)


def _ranked(values: np.ndarray, columns: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest ``values`` of each row with their ``columns``, largest first and
    equal values by column. The k-th largest value comes from a partition of the values
    alone; the few entries at or above it are then sorted."""
    b, n = values.shape
    if k == 0:
        return np.empty((b, 0), np.int64), np.empty((b, 0), values.dtype)
    if k < n:
        kth = np.partition(values, n - k, axis=1)[:, n - k]
        rows, positions = np.nonzero(values >= kth[:, None])  # ties may add a few
    else:
        rows, positions = np.divmod(np.arange(b * n), n)
    chosen_values, chosen_columns = values[rows, positions], columns[rows, positions]
    order = np.lexsort((chosen_columns, -chosen_values, rows))
    counts = np.bincount(rows, minlength=b)
    take = order[(np.cumsum(counts) - counts)[:, None] + np.arange(k)]
    return chosen_columns[take].astype(np.int64, copy=False), chosen_values[take]


class ExactIndex:
    """Top-k cosine similarity by one matrix product per block of queries.

    ``unit_vectors``: ``(n, d)`` float32, rows of unit length (see ``normalise_rows``),
    kept as given, so a caller can load it once and query it many times.
    """

    def __init__(self, unit_vectors: np.ndarray, score_budget: int = SCORE_BUDGET) -> None:
        if unit_vectors.ndim != 2 or unit_vectors.dtype != np.float32:
            raise ValueError(f"expected an (n, d) float32 matrix, got {unit_vectors.dtype}")
        self.unit_vectors = unit_vectors
        self.score_budget = score_budget

    def __len__(self) -> int:
        return len(self.unit_vectors)

    @property
    def dim(self) -> int:
        return int(self.unit_vectors.shape[1])

    def search(
        self,
        unit_queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None = None,
        exclude: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` rows most similar to each query, most similar first.

        ``unit_queries``: ``(b, d)`` float32 of unit length. ``allowed``: ``(n,)`` bool,
        the rows that may be returned (``None``: all). ``exclude``: ``(b,)`` int, one row
        to leave out per query, or -1 for none (a query item itself).

        Returns ``(rows, similarities)``, both ``(b, min(k, n))``; where fewer rows are
        allowed than asked for, the tail holds row -1 and similarity -inf.
        """
        n = len(self.unit_vectors)
        width = min(k, n)
        rows = np.full((len(unit_queries), width), -1, dtype=np.int64)
        similarities = np.full((len(unit_queries), width), -np.inf, dtype=np.float32)
        if width == 0 or not len(unit_queries):
            return rows, similarities
        blocked = None if allowed is None else ~allowed
        block = max(1, self.score_budget // n)
        # One score buffer for every block: a fresh (block, n) matrix per block grew the
        # million-item run's report to 15 GB resident, though each was freed.
        buffer = np.empty((min(block, len(unit_queries)), n), dtype=np.float32)
        for start in range(0, len(unit_queries), block):
            stop = min(start + block, len(unit_queries))
            scores = np.matmul(
                unit_queries[start:stop], self.unit_vectors.T, out=buffer[: stop - start]
            )
            if blocked is not None:
                scores[:, blocked] = -np.inf
            if exclude is not None:
                _exclude_rows(scores, exclude[start:stop])
            rows[start:stop], similarities[start:stop] = top_k(scores, width)
        rows[~np.isfinite(similarities)] = -1
        return rows, similarities

    def search_among(
        self,
        unit_queries: np.ndarray,
        candidates: np.ndarray,
        k: int,
        allowed: np.ndarray | None = None,
        exclude: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """As ``search``, but each query ranks only its own candidate rows.

        ``candidates``: ``(b, c)`` int rows, -1 where a query has fewer than ``c``. This
        re-ranks an index's candidates by their exact similarity, from memory. Returns
        ``(rows, similarities)``, both ``(b, min(k, c))``, padded as ``search`` pads them.
        """
        present = candidates >= 0
        rows = np.where(present, candidates, 0)
        # (b, c, d) gathered rows times (b, d) queries: c similarities per query.
        scores = np.einsum("bcd,bd->bc", self.unit_vectors[rows], unit_queries)
        blocked = ~present
        if allowed is not None:
            blocked |= ~allowed[rows]
        if exclude is not None:
            blocked |= rows == exclude[:, None]
        scores[blocked] = -np.inf
        order, similarities = top_k(scores, k)
        rows = np.take_along_axis(rows, order, axis=1)
        rows[~np.isfinite(similarities)] = -1
        return rows, similarities


def cosine_topk(
    queries: np.ndarray, keys: np.ndarray, k: int, exclude: np.ndarray | None = None
) -> np.ndarray:
    """Indices ``(m, k)`` of the ``k`` keys most cosine-similar to each query, nearest first.

    ``queries``: ``(m, d)``; ``keys``: ``(n, d)``; ``exclude``: optional ``(m,)`` key index
    per query that may not be returned (the query item itself), so ``k`` is at most
    ``n - 1`` then. Neither input is changed; read-only ones (from Arrow) are fine.
    """
    k = min(k, len(keys) - (1 if exclude is not None else 0))
    index = ExactIndex(normalise_rows(np.array(keys, dtype=np.float32)))
    unit_queries = normalise_rows(np.array(queries, dtype=np.float32))
    rows, _ = index.search(unit_queries, k, exclude=exclude)
    return rows


def _exclude_rows(scores: np.ndarray, exclude: np.ndarray) -> None:
    queries = np.flatnonzero(exclude >= 0)
    scores[queries, exclude[queries]] = -np.inf
