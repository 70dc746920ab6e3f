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
from dataclasses import dataclass
from typing import Literal

import lancedb
from lancedb.index import IvfSq

from repr_assets.stores.lance import LanceStore

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
    """

    min_rows: int = 250_000
    partition_size: int = 8192
    probe_fraction: float = 0.12
    min_probes: int = 8
    refine_factor: int = 3
    rebuild_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.min_rows < IVF_MIN_ROWS:
            raise ValueError(f"min_rows must be at least {IVF_MIN_ROWS}, got {self.min_rows}")
        if not 0 < self.probe_fraction <= 1:
            raise ValueError(f"probe_fraction must be in (0, 1], got {self.probe_fraction}")

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


def vector_index_state(table: lancedb.table.Table) -> VectorIndexState | None:
    """The table's cosine index on ``vector``; ``None`` when there is none.

    An index under another distance would rank by the wrong measure, so it counts as none.
    """
    for config in table.list_indices():
        if config.columns == [VECTOR_COLUMN]:
            stats = table.index_stats(config.name)
            if stats is not None and stats.distance_type == "cosine":
                return VectorIndexState(
                    stats.index_type, stats.num_indexed_rows, stats.num_unindexed_rows
                )
    return None


@dataclass(frozen=True)
class IndexReport:
    """What ``ensure_vector_index`` did to one table, and why."""

    table: str
    action: IndexAction
    rows: int
    indexed_rows: int
    unindexed_rows: int
    reason: str


def ensure_vector_index(
    store: LanceStore, table_name: str, settings: IndexSettings = DEFAULT_INDEX_SETTINGS
) -> IndexReport:
    """Give a large embeddings table a current ANN index; leave a small one alone.

    Call it right after the table is written. It builds the index when the table has
    reached ``settings.min_rows`` rows and has none; after upserts it adds the new rows
    to the index (``optimize``), or retrains the index when most rows are new (a new
    model version rewrites every vector, and the old partitions no longer fit them).
    Until then LanceDB scans unindexed rows by brute force, so results stay correct.
    """
    table = store.open(table_name)
    rows = table.count_rows()
    state = vector_index_state(table)
    if rows < settings.min_rows:
        # Brute force is as fast as the index here; an index left from a larger
        # version of the table is not used by search and is not worth updating.
        return IndexReport(
            table_name, "none", rows, 0, rows, f"{rows} rows < {settings.min_rows}: brute force"
        )
    if state is None:
        store.commit(table_name, "index", lambda: _build(store.open(table_name), rows, settings))
        return _report(table_name, store.open(table_name), "built", "no cosine vector index yet")
    if state.unindexed_rows == 0:
        return IndexReport(table_name, "current", rows, state.indexed_rows, 0, "index is current")
    if state.unindexed_rows > settings.rebuild_fraction * rows:
        store.commit(table_name, "index", lambda: _build(store.open(table_name), rows, settings))
        return _report(
            table_name,
            store.open(table_name),
            "rebuilt",
            f"{state.unindexed_rows} of {rows} rows are new since the index was trained",
        )
    store.commit(table_name, "index", lambda: store.open(table_name).optimize())
    return _report(
        table_name,
        store.open(table_name),
        "optimized",
        f"added {state.unindexed_rows} new rows to the index",
    )


def _build(table: lancedb.table.Table, rows: int, settings: IndexSettings) -> None:
    config = IvfSq(distance_type="cosine", num_partitions=settings.partitions(rows))
    table.create_index(VECTOR_COLUMN, config=config, replace=True, name=INDEX_NAME)


def _report(
    table_name: str, table: lancedb.table.Table, action: IndexAction, reason: str
) -> IndexReport:
    state = vector_index_state(table)
    if state is None:
        raise RuntimeError(f"LanceDB reports no vector index on {table_name!r} after {action}")
    rows = table.count_rows()
    return IndexReport(table_name, action, rows, state.indexed_rows, state.unindexed_rows, reason)
