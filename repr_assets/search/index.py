"""The ANN index of an embeddings table: built once a table is large enough, kept current.

The index is LanceDB's IVF_SQ under cosine distance. On 1M x 128 vectors of low intrinsic
dimension (``benchmarks/search.py``, two cores) it builds in 15-30 s and, probing 12% of
its partitions with 3 x k candidates re-ranked exactly, reaches recall@10 of 0.98 at
four to seven times the single-query throughput of brute force. IVF_PQ with 8 sub-vectors topped
out near 0.88 recall; with 32 it took over four minutes to build, and IVF_HNSW_SQ had not
finished building after five. Below about 250k rows brute force over a cached matrix
answers a single query faster than the index (at 100k: about twice as fast).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import lance

from repr_assets.datasets.specs import DEFAULT_TARGET_RECALL

if TYPE_CHECKING:
    import lancedb

VECTOR_COLUMN = "vector"
INDEX_NAME = "vector_idx"
# IVF clusters fewer than this many rows into one partition; lower counts give empty
# or useless indices (LanceDB's IVF training needs at least 256 rows).
IVF_MIN_ROWS = 256

IndexAction = Literal["none", "built", "rebuilt", "optimized", "current"]


@dataclass(frozen=True)
class IndexSettings:
    """When to index and how to probe the index.

    ``min_rows``: a table smaller than this is searched by brute force, which is then
    faster than the index for single queries (measured: 2x at 100k, 0.9x at 300k rows of
    128 floats) and exact. ``partition_size``:
    rows per IVF partition. ``probe_fraction`` of the partitions are searched (at least
    ``min_probes``), and ``refine_factor`` x k candidates are re-ranked by their exact
    cosine distance. ``rebuild_fraction``: when more of the table than this is new since
    the index was trained, its partitions are retrained rather than extended.
    ``target_recall``: the recall@10 against exact search that the probe depth is tuned
    to reach when the index is built (``repr_assets.search.tuning``); the fixed
    ``probe_fraction`` and ``refine_factor`` serve an index that was never tuned.
    """

    min_rows: int = 250_000
    partition_size: int = 8192
    probe_fraction: float = 0.12
    min_probes: int = 8
    refine_factor: int = 3
    rebuild_fraction: float = 0.5
    target_recall: float = DEFAULT_TARGET_RECALL

    def __post_init__(self) -> None:
        if self.min_rows < IVF_MIN_ROWS:
            raise ValueError(f"min_rows must be at least {IVF_MIN_ROWS}, got {self.min_rows}")
        if not 0 < self.probe_fraction <= 1:
            raise ValueError(f"probe_fraction must be in (0, 1], got {self.probe_fraction}")
        if not 0 < self.target_recall <= 1:
            raise ValueError(f"target_recall must be in (0, 1], got {self.target_recall}")

    def partitions(self, rows: int) -> int:
        return max(1, math.ceil(rows / self.partition_size))

    def probes(self, indexed_rows: int) -> int:
        """Partitions to search in an index over ``indexed_rows`` rows."""
        partitions = self.partitions(indexed_rows)
        return min(partitions, max(self.min_probes, math.ceil(self.probe_fraction * partitions)))


DEFAULT_INDEX_SETTINGS = IndexSettings()


@dataclass(frozen=True)
class VectorIndexState:
    """The cosine vector index on a table's ``vector`` column, as LanceDB reports it."""

    index_type: str
    indexed_rows: int
    unindexed_rows: int
    partitions: int


def vector_index_state(dataset: lance.LanceDataset) -> VectorIndexState | None:
    """The dataset's cosine index on ``vector``; ``None`` when there is none.

    An index under another distance would rank by the wrong measure, so it counts as none.
    """
    # Lance warns, on stderr, that its statistics will leave the centroids out: opt in.
    os.environ.setdefault("LANCE_INCLUDE_VECTOR_CENTROIDS", "false")
    for config in dataset.list_indices():
        if config["fields"] == [VECTOR_COLUMN]:
            stats = dataset.stats.index_stats(config["name"])
            segments = stats.get("indices", [])
            if {segment.get("metric_type") for segment in segments} == {"cosine"}:
                return VectorIndexState(
                    stats["index_type"],
                    stats["num_indexed_rows"],
                    stats["num_unindexed_rows"],
                    max(int(segment.get("num_partitions", 1)) for segment in segments),
                )
    return None


def build_index(table: lancedb.table.Table, rows: int, settings: IndexSettings) -> None:
    """Train the table's cosine IVF_SQ index on ``vector`` anew (one commit)."""
    from lancedb.index import IvfSq

    config = IvfSq(distance_type="cosine", num_partitions=settings.partitions(rows))
    table.create_index(VECTOR_COLUMN, config=config, replace=True, name=INDEX_NAME)
