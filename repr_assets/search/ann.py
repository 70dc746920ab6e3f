"""Approximate search through a table's IVF index, with exact re-ranking of the candidates."""

from __future__ import annotations

import lance
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from repr_assets.search.index import VECTOR_COLUMN

DISTANCE = "_distance"
ROW_ID = "_rowid"
QUERY_INDEX = "query_index"
# Queries sent to Lance in one call: its batch search answers them together, and the
# block bounds the (queries x candidates) rows it holds at once.
QUERY_BLOCK = 256


class AnnIndex:
    """The IVF index of one Lance dataset snapshot, probed ``probes`` partitions deep.

    Each query takes ``refine_factor`` x k candidates by their quantised distance, and
    the candidates are re-ranked by their exact cosine distance: by Lance, which reads
    their stored vectors (``search``), or by the caller, from vectors it holds in memory
    (``candidates``). Either way only the candidate set is approximate.

    It calls the Lance dataset's scanner directly rather than LanceDB's query builder:
    the same index and refinement, with less work per query.
    """

    def __init__(self, dataset: lance.LanceDataset, probes: int, refine_factor: int) -> None:
        self.dataset = dataset
        self.probes = probes
        self.refine_factor = refine_factor

    def search(
        self,
        queries: np.ndarray,
        k: int,
        columns: list[str],
        where: pc.Expression | None = None,
        probes: int | None = None,
    ) -> list[pa.Table]:
        """The ``k`` nearest rows to each of the ``(b, d)`` float32 ``queries``, re-ranked
        by Lance.

        Returns one table per query with ``columns`` and ``_distance``, nearest first.
        ``where`` is applied before the search (a pre-filter), so a filtered query still
        gets ``k`` rows when that many match. ``probes`` overrides ``self.probes``.
        """
        return self._query(queries, k, columns, where, probes, self.refine_factor)

    def candidates(
        self,
        queries: np.ndarray,
        k: int,
        where: pc.Expression | None = None,
        probes: int | None = None,
    ) -> list[np.ndarray]:
        """The Lance row ids of ``refine_factor`` x ``k`` candidates per query, not re-ranked.

        Nothing but the index is read: the caller re-ranks the candidates by their exact
        distance from vectors it holds.
        """
        count = k * max(1, self.refine_factor)
        tables = self._query(queries, count, [], where, probes, refine_factor=None)
        return [table.column(ROW_ID).to_numpy() for table in tables]

    def _query(
        self,
        queries: np.ndarray,
        k: int,
        columns: list[str],
        where: pc.Expression | None,
        probes: int | None,
        refine_factor: int | None,
    ) -> list[pa.Table]:
        results: list[pa.Table] = []
        for start in range(0, len(queries), QUERY_BLOCK):
            block = queries[start : start + QUERY_BLOCK]
            found = self.dataset.to_table(
                columns=[*columns, DISTANCE],
                filter=where,
                prefilter=where is not None,
                with_row_id=not columns,
                nearest={
                    "column": VECTOR_COLUMN,
                    "q": block,
                    "k": k,
                    "nprobes": probes or self.probes,
                    "refine_factor": refine_factor,
                    "metric": "cosine",
                },
            )
            results.extend(_split_by_query(found, len(block)))
        return results


def _split_by_query(found: pa.Table, queries: int) -> list[pa.Table]:
    """A batch search's rows as one table per query, each sorted by distance."""
    found = found.sort_by([(QUERY_INDEX, "ascending"), (DISTANCE, "ascending")])
    owner = found.column(QUERY_INDEX).to_numpy()
    bounds = np.searchsorted(owner, np.arange(queries + 1))
    found = found.drop_columns([QUERY_INDEX])
    return [found.slice(bounds[i], bounds[i + 1] - bounds[i]) for i in range(queries)]


class RowIds:
    """Maps Lance row ids, which an index answers with, to rows of the cached matrix."""

    def __init__(self, row_ids: np.ndarray) -> None:
        self.order = np.argsort(row_ids)
        self.sorted = row_ids[self.order]

    def positions(self, row_ids: np.ndarray) -> np.ndarray:
        """The matrix rows of ``row_ids``, which must all be rows of the snapshot read."""
        if len(row_ids) == 0:
            return np.empty(0, np.int64)
        found = np.minimum(np.searchsorted(self.sorted, row_ids), len(self.sorted) - 1)
        if len(self.sorted) == 0 or (self.sorted[found] != row_ids).any():
            raise RuntimeError("the index returned a row that the cached matrix does not hold")
        return self.order[found]
