"""Exact cosine search: brute force over a cached matrix of unit-length float32 rows."""

from __future__ import annotations

import numpy as np

# Most similarity scores held at once, (queries in a block) x (rows): 2^23 float32 is
# 32 MiB, and the partial selection adds an int64 position per score (64 MiB). At a
# million rows a block still has 8 queries, so the product stays a matrix-matrix one;
# 2^25 made the report's recall search the peak of a million-item run (400 MiB a block).
SCORE_BUDGET = 1 << 23


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """``(n, d)`` float32 rows scaled to unit length, in place when already float32.

    A zero row stays zero: its cosine similarity to anything is taken as 0 (distance 1),
    since it has no direction.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    vectors /= norms
    return vectors


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
        if width == 0:
            return rows, similarities
        blocked = None if allowed is None else ~allowed
        block = max(1, self.score_budget // n)
        for start in range(0, len(unit_queries), block):
            stop = min(start + block, len(unit_queries))
            scores = unit_queries[start:stop] @ self.unit_vectors.T
            if blocked is not None:
                scores[:, blocked] = -np.inf
            if exclude is not None:
                _exclude_rows(scores, exclude[start:stop])
            block_rows, block_scores = _top_k(scores, width)
            rows[start:stop] = block_rows
            similarities[start:stop] = block_scores
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
        if candidates.shape[1] == 0:
            empty = np.empty((len(candidates), 0))
            return empty.astype(np.int64), empty.astype(np.float32)
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
        order, similarities = _top_k(scores, min(k, scores.shape[1]))
        rows = np.take_along_axis(rows, order, axis=1)
        rows[~np.isfinite(similarities)] = -1
        return rows, similarities


def _exclude_rows(scores: np.ndarray, exclude: np.ndarray) -> None:
    queries = np.flatnonzero(exclude >= 0)
    scores[queries, exclude[queries]] = -np.inf


def _top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest of each row of ``(b, n)`` ``scores``, largest first."""
    if k < scores.shape[1]:
        # A linear-time partial selection, then a sort of only the k chosen.
        candidates = np.argpartition(scores, -k, axis=1)[:, -k:]
    else:
        candidates = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
    candidate_scores = np.take_along_axis(scores, candidates, axis=1)
    # Most similar first; equal scores in row order, so that a search repeats exactly.
    order = np.lexsort((candidates, -candidate_scores), axis=1)
    return (
        np.take_along_axis(candidates, order, axis=1),
        np.take_along_axis(candidate_scores, order, axis=1),
    )
