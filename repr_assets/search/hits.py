"""The answer to one query: neighbours, nearest first."""

from __future__ import annotations

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
