"""The answer to one query: neighbours, nearest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Hits:
    """The neighbours of one query, nearest first.

    ``distances``: ``(len(item_ids),)`` float32 cosine distances, 1 − cosine similarity,
    in [0, 2]. There are fewer than ``k`` when fewer rows match the query's filters.
    """

    item_ids: list[str]
    labels: list[str | None]
    distances: np.ndarray

    def __len__(self) -> int:
        return len(self.item_ids)

    def take(self, positions: list[int]) -> Hits:
        """The hits at ``positions``, in that order."""
        return Hits(
            [self.item_ids[i] for i in positions],
            [self.labels[i] for i in positions],
            self.distances[np.asarray(positions, dtype=np.int64)],
        )

    def records(self) -> list[dict[str, Any]]:
        """One ``{"item_id", "label", "distance"}`` dict per neighbour, nearest first."""
        return [
            {"item_id": item_id, "label": label, "distance": float(distance)}
            for item_id, label, distance in zip(
                self.item_ids, self.labels, self.distances, strict=True
            )
        ]


def recall_at_k(found: Sequence[Hits], exact: Sequence[Hits]) -> float:
    """Mean over queries of the fraction of each query's exact neighbours found.

    Neighbours are matched by ``item_id``; when two items tie at the k-th distance either
    one is exact, so ties can only make this understate. Queries with no exact neighbour
    (a filter that matches nothing) are left out; with none left, recall is 1.
    """
    if len(found) != len(exact):
        raise ValueError(f"{len(found)} results for {len(exact)} queries")
    fractions = [
        len(set(f.item_ids) & set(e.item_ids)) / len(e)
        for f, e in zip(found, exact, strict=True)
        if len(e)
    ]
    return float(np.mean(fractions)) if fractions else 1.0
