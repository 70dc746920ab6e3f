"""Nearest-neighbour search over one embeddings table, by cosine distance."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import lance
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from repr_assets.cosine import ExactIndex, normalise_rows
from repr_assets.search.ann import DISTANCE, QUERY_BLOCK, ROW_ID, AnnIndex, RowIds
from repr_assets.search.filters import (
    Equals,
    bind_filters,
    filter_columns,
    filter_expression,
    filter_mask,
)
from repr_assets.search.hits import Hits
from repr_assets.search.index import (
    DEFAULT_INDEX_SETTINGS,
    VECTOR_COLUMN,
    IndexSettings,
    vector_index_state,
)
from repr_assets.search.tuning import AnnTuning, stored_tuning
from repr_assets.stores.lance import KEY, LanceStore
from repr_assets.stores.serving import served_version

LABEL = "label"
SearchPath = Literal["exact", "ann"]
Where = Mapping[str, Any] | Iterable[tuple[str, Any]]


class UnknownItemError(KeyError):
    """An ``item_id`` that the table does not hold (``item_id``, when known)."""

    def __init__(self, message: str, item_id: str | None = None) -> None:
        super().__init__(message)
        self.item_id = item_id

    def __str__(self) -> str:
        return str(self.args[0])


class Searcher:
    """Nearest neighbours in one table, pinned to the table version it opened.

    The path is chosen by table size: a table of at least ``settings.min_rows`` rows with
    a cosine vector index is searched through the index (``path == "ann"``); any other,
    or any when ``exact`` is set, by brute force over a cached matrix of unit-length rows
    (``path == "exact"``). The matrix is read on the first exact query, or by ``load``,
    and reused by every later query, so keep one ``Searcher`` per table for many queries.
    Once it is in memory the ANN path re-ranks the index's candidates there too, rather
    than have Lance read their vectors from disk; until then (a one-off query, as the CLI
    makes) the ANN path reads nothing but the index and the rows it returns.

    ``where`` filters are ``(column, value)`` pairs, ANDed, matched by equality; a value
    is data, cast to its column's type, never SQL. ``served=False`` searches the table's
    newest version instead of the served one.
    """

    def __init__(
        self,
        store: LanceStore,
        table_name: str,
        *,
        exact: bool = False,
        settings: IndexSettings = DEFAULT_INDEX_SETTINGS,
        served: bool = True,
    ) -> None:
        # The served version, what passed its quality checks (see repr_assets.stores.serving);
        # the quality report scores the newest one, which it is about to judge.
        newest = store.dataset(table_name)
        version = served_version(newest) if served else None
        self.table_name = table_name
        # A snapshot: the cached matrix and the index queries all see this one version.
        self.dataset: lance.LanceDataset = (
            newest if version is None else store.dataset(table_name, version)
        )
        self.schema: pa.Schema = self.dataset.schema
        if VECTOR_COLUMN not in self.schema.names:
            raise ValueError(f"table {table_name!r} has no {VECTOR_COLUMN!r} column to search")
        self.dim: int = self.schema.field(VECTOR_COLUMN).type.list_size
        self.rows: int = self.dataset.count_rows()
        index = None if exact or self.rows < settings.min_rows else vector_index_state(self.dataset)
        self.path: SearchPath = "exact" if index is None else "ann"
        self._ann: AnnIndex | None = None
        self.tuning: AnnTuning | None = None
        self.partitions = 0 if index is None else index.partitions
        if index is not None:
            # The depth tuned for this index when it was built (repr_assets.search.tuning),
            # else the settings' fixed share of the partitions.
            self.tuning = stored_tuning(self.dataset)
            if self.tuning is not None:
                probes, refine = self.tuning.nprobes, self.tuning.refine_factor
            else:
                probes, refine = settings.probes(index.indexed_rows), settings.refine_factor
            self._ann = AnnIndex(self.dataset, min(probes, index.partitions), refine)
        self._exact: ExactIndex | None = None
        self._columns: dict[str, pa.Array] = {}
        self._row_ids = RowIds(np.empty(0, np.uint64))

    @property
    def ann(self) -> AnnIndex | None:
        """The index this searcher probes, and how deep; ``None`` on the exact path."""
        return self._ann

    def load(self) -> Searcher:
        """Read every vector into the cached matrix now (it is read on first need anyway)."""
        self._exact_index()
        return self

    # -- queries ---------------------------------------------------------------------

    def search(self, vectors: np.ndarray, k: int = 10, where: Where = ()) -> list[Hits]:
        """The ``k`` nearest items to each of the ``(b, d)`` (or ``(d,)``) ``vectors``."""
        queries = self.unit_queries(vectors)
        filters = self._bind(where)
        if self._ann is not None:
            return self._ann_search(queries, k, filters, exclude_ids=None)
        return self._exact_search(queries, k, filters, exclude_rows=None)

    def search_ids(self, item_ids: Sequence[str], k: int = 10, where: Where = ()) -> list[Hits]:
        """The ``k`` nearest items to each item of ``item_ids``, leaving the item itself out."""
        filters = self._bind(where)
        if self._ann is not None:
            queries = self.unit_queries(self.vectors_of(item_ids))
            return self._ann_search(queries, k, filters, exclude_ids=list(item_ids))
        rows = self._rows_of(item_ids)
        queries = self._exact_index().unit_vectors[rows]
        return self._exact_search(queries, k, filters, exclude_rows=rows)

    def vectors_of(self, item_ids: Sequence[str]) -> np.ndarray:
        """The ``(len(item_ids), d)`` vectors of ``item_ids``, in that order, at unit length."""
        if self._exact is not None:
            return self._exact.unit_vectors[self._rows_of(item_ids)]
        found = self.dataset.to_table(
            columns=[KEY, VECTOR_COLUMN], filter=pc.field(KEY).isin(list(item_ids))
        )
        positions = pc.index_in(pa.array(item_ids, pa.string()), value_set=found.column(KEY))
        _check_found(item_ids, positions, self.table_name)
        vectors = found.column(VECTOR_COLUMN).combine_chunks().flatten().to_numpy()
        return normalise_rows(vectors.reshape(-1, self.dim)[positions.to_numpy()])

    def unit_matrix(self) -> tuple[np.ndarray, pa.Array]:
        """The cached ``(n, d)`` matrix of unit rows that the exact path searches (read on
        first use), and the ``item_id`` of each of its rows."""
        return self._exact_index().unit_vectors, self._column(KEY)

    # -- the two paths ----------------------------------------------------------------

    def _exact_search(
        self,
        queries: np.ndarray,
        k: int,
        filters: list[Equals],
        exclude_rows: np.ndarray | None,
    ) -> list[Hits]:
        allowed = self._allowed(filters)
        rows, similarities = self._exact_index().search(queries, k, allowed, exclude_rows)
        return self._hits(rows, similarities)

    def _allowed(self, filters: list[Equals]) -> np.ndarray | None:
        """``(n,)`` bool over the cached matrix's rows: those that match every filter."""
        if not filters:
            return None
        columns = {name: self._column(name) for name in filter_columns(filters)}
        return filter_mask(pa.table(columns), filters)

    def _hits(self, rows: np.ndarray, similarities: np.ndarray) -> list[Hits]:
        """Hits from ``(b, k)`` matrix rows (-1: none) and their cosine similarities."""
        found = rows >= 0
        flat_rows = pa.array(rows[found])
        item_ids = self._column(KEY).take(flat_rows).to_pylist()
        labels = self._column(LABEL).take(flat_rows).to_pylist()
        distances = _distances(similarities[found])
        hits = []
        start = 0
        for count in found.sum(axis=1):
            stop = start + int(count)
            hits.append(Hits(item_ids[start:stop], labels[start:stop], distances[start:stop]))
            start = stop
        return hits

    def _ann_search(
        self,
        queries: np.ndarray,
        k: int,
        filters: list[Equals],
        exclude_ids: list[str] | None,
    ) -> list[Hits]:
        assert self._ann is not None
        where = filter_expression(filters)
        probes = None
        if where is not None:
            # A filter keeps a fraction of each partition: probe that many times more
            # partitions, so a filtered query sees as many candidates as an unfiltered one.
            matching = self.dataset.count_rows(filter=where)
            if matching == 0:
                return [Hits([], [], np.empty(0, np.float32)) for _ in queries]
            probes = min(self.partitions, math.ceil(self._ann.probes * self.rows / matching))
        if self._exact is not None:
            exclude = None if exclude_ids is None else self._rows_of(exclude_ids)
            return self._rerank_in_memory(queries, k, filters, exclude, where, probes)
        return self._rerank_by_lance(queries, k, filters, exclude_ids, where, probes)

    def _rerank_by_lance(
        self,
        queries: np.ndarray,
        k: int,
        filters: list[Equals],
        exclude_ids: list[str] | None,
        where: pc.Expression | None,
        probes: int | None,
    ) -> list[Hits]:
        """The index's candidates, re-ranked by Lance from their stored vectors."""
        assert self._ann is not None
        columns = list(dict.fromkeys([KEY, LABEL, *filter_columns(filters)]))
        # One more than k, so that k remain once the query item itself is left out.
        wanted = k + 1 if exclude_ids is not None else k
        hits = []
        for position, found in enumerate(self._ann.search(queries, wanted, columns, where, probes)):
            keep = filter_mask(found, filters)  # Lance filtered already; never trust it blindly
            if exclude_ids is not None:
                not_self = pc.not_equal(found.column(KEY), exclude_ids[position])
                keep &= not_self.to_numpy(zero_copy_only=False)
            found = found.filter(pa.array(keep)).slice(0, k)
            distances = found.column(DISTANCE).to_numpy()
            hits.append(
                Hits(
                    found.column(KEY).to_pylist(),
                    found.column(LABEL).to_pylist(),
                    np.clip(distances, 0.0, 2.0).astype(np.float32),
                )
            )
        return hits

    def _rerank_in_memory(
        self,
        queries: np.ndarray,
        k: int,
        filters: list[Equals],
        exclude_rows: np.ndarray | None,
        where: pc.Expression | None,
        probes: int | None,
    ) -> list[Hits]:
        """The index's candidates, re-ranked from the cached matrix: no vector is read."""
        assert self._ann is not None and self._exact is not None
        wanted = k + 1 if exclude_rows is not None else k
        allowed = self._allowed(filters)  # Lance filtered already; never trust it blindly
        hits: list[Hits] = []
        # In blocks, so the gathered (queries x candidates x d) vectors stay small.
        for start in range(0, len(queries), QUERY_BLOCK):
            block = queries[start : start + QUERY_BLOCK]
            found = self._ann.candidates(block, wanted, where, probes)
            candidates = np.full((len(block), max(map(len, found), default=0)), -1, np.int64)
            for query, row_ids in enumerate(found):
                candidates[query, : len(row_ids)] = self._row_ids.positions(row_ids)
            excluded = None if exclude_rows is None else exclude_rows[start : start + len(block)]
            rows, similarities = self._exact.search_among(block, candidates, k, allowed, excluded)
            hits.extend(self._hits(rows, similarities))
        return hits

    # -- state read once per searcher ---------------------------------------------------

    def _exact_index(self) -> ExactIndex:
        """The unit-length matrix of every row, read in batches into one array, once."""
        if self._exact is None:
            matrix = np.empty((self.rows, self.dim), dtype=np.float32)
            row_ids = np.empty(self.rows, dtype=np.uint64)
            keys: dict[str, list[pa.Array]] = {KEY: [], LABEL: []}
            start = 0
            batches = self.dataset.to_batches(columns=[KEY, LABEL, VECTOR_COLUMN], with_row_id=True)
            for batch in batches:
                stop = start + batch.num_rows
                values = batch.column(VECTOR_COLUMN).flatten().to_numpy(zero_copy_only=False)
                matrix[start:stop] = values.reshape(-1, self.dim)
                normalise_rows(matrix[start:stop])
                row_ids[start:stop] = batch.column(ROW_ID).to_numpy()
                keys[KEY].append(batch.column(KEY))
                keys[LABEL].append(batch.column(LABEL))
                start = stop
            if start != self.rows:
                raise RuntimeError(f"read {start} rows of {self.table_name!r}, not {self.rows}")
            for name, chunks in keys.items():
                self._columns[name] = (
                    pa.concat_arrays(chunks)
                    if chunks
                    else pa.array([], self.schema.field(name).type)
                )
            self._row_ids = RowIds(row_ids)
            self._exact = ExactIndex(matrix)
        return self._exact

    def _column(self, name: str) -> pa.Array:
        """A scalar column in the cached matrix's row order (the snapshot's scan order)."""
        if name not in self._columns:
            self._columns[name] = (
                self.dataset.to_table(columns=[name]).column(name).combine_chunks()
            )
        return self._columns[name]

    def _rows_of(self, item_ids: Sequence[str]) -> np.ndarray:
        self._exact_index()
        positions = pc.index_in(pa.array(item_ids, pa.string()), value_set=self._column(KEY))
        _check_found(item_ids, positions, self.table_name)
        return positions.to_numpy().astype(np.int64)

    # -- input checks -----------------------------------------------------------------

    def _bind(self, where: Where) -> list[Equals]:
        if isinstance(where, str):
            raise TypeError("where takes (column, value) pairs or a mapping, not text")
        pairs = where.items() if isinstance(where, Mapping) else where
        return bind_filters(self.schema, pairs)

    def unit_queries(self, vectors: np.ndarray) -> np.ndarray:
        """``vectors`` as a ``(b, d)`` float32 array of unit rows; refuses what has no direction."""
        queries = np.array(vectors, dtype=np.float32, ndmin=2, copy=True)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(
                f"a query vector needs {self.dim} numbers for table {self.table_name!r}, "
                f"got shape {np.shape(vectors)}"
            )
        if not np.isfinite(queries).all():
            raise ValueError("a query vector holds NaN or Inf")
        if not np.linalg.norm(queries, axis=1).all():
            raise ValueError("a query vector is all zeros: cosine distance needs a direction")
        return normalise_rows(queries)


def _distances(similarities: np.ndarray) -> np.ndarray:
    """Cosine distances from cosine similarities, rounded into their range [0, 2]."""
    return np.clip(1.0 - similarities.astype(np.float32), 0.0, 2.0)


def _check_found(item_ids: Sequence[str], positions: pa.Array, table_name: str) -> None:
    if positions.null_count:
        missing = item_ids[positions.is_null().to_pylist().index(True)]
        raise UnknownItemError(f"no item {missing!r} in table {table_name!r}", missing)
