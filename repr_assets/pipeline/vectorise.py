"""Turning each batch of one table into vectors of another: featurising and embedding."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from repr_assets.items.ids import IdSet
from repr_assets.items.schemas import vector_array, vector_schema
from repr_assets.pipeline import Progress
from repr_assets.stores.lance import LanceStore, WriteResult

Compute = Callable[[pa.RecordBatch], np.ndarray]
"""A ``(rows, dim)`` matrix for one batch of the source table."""


def vectors_schema(dim: int, constants: Mapping[str, str]) -> pa.Schema:
    """The target's schema: the source's ids, labels and splits, the vector, the constants."""
    return vector_schema(dim, [pa.field(name, pa.string()) for name in constants])


def write_vectors(
    store: LanceStore,
    source: str,
    target: str,
    dim: int,
    compute: Compute,
    constants: Mapping[str, str] | None = None,
    batch_size: int = 8192,
    progress: Progress | None = None,
    current_by: str | None = None,
) -> WriteResult:
    """Upsert ``compute(batch)``, a ``(rows, dim)`` matrix per batch of ``source``, into
    ``target`` with the source's ``item_id``, ``label`` and ``split`` and the string
    ``constants`` (such as the model version) as extra columns. One batch in memory at a
    time; one commit.

    With ``current_by`` (the name of one of the constants), rows that ``target`` already
    holds with that constant's value are current and are neither computed nor written:
    new items are added, and nothing is written when nothing is new.
    """
    constants = dict(constants or {})
    schema = vectors_schema(dim, constants)
    current = current_ids(store, target, schema, current_by, constants)
    total = store.count(source) - len(current)
    batches = store.read_batches(source, batch_size=batch_size)
    return store.upsert(
        target,
        schema,
        vector_batches(batches, schema, compute, constants, current, progress, total),
    )


def vector_batches(
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    compute: Compute,
    constants: Mapping[str, str],
    current: pa.Array,
    progress: Progress | None = None,
    total: int = 0,
) -> Iterator[pa.RecordBatch]:
    """The target rows of ``batches``, leaving out the ``current`` ids."""
    done = 0
    for batch in without_ids(batches, current):
        vectors = compute(batch)
        rows = batch.num_rows
        yield pa.RecordBatch.from_arrays(
            [
                batch.column("item_id"),
                batch.column("label"),
                batch.column("split"),
                vector_array(vectors),
                # One Arrow call per column: a Python list of rows cost ~0.2 s a million.
                *(pa.repeat(pa.scalar(value, pa.string()), rows) for value in constants.values()),
            ],
            schema=schema,
        )
        done += rows
        if progress is not None:
            progress(done, total)


def without_ids(batches: Iterable[pa.RecordBatch], ids: pa.Array) -> Iterator[pa.RecordBatch]:
    """The rows of ``batches`` whose ``item_id`` is not among ``ids``; empty batches left out."""
    known = IdSet(ids) if len(ids) else None
    for batch in batches:
        if known is not None:
            batch = batch.filter(pa.array(~known.contains(batch.column("item_id"))))
        if batch.num_rows:
            yield batch


def current_ids(
    store: LanceStore,
    target: str,
    schema: pa.Schema,
    current_by: str | None,
    constants: Mapping[str, str],
) -> pa.Array:
    """Ids of ``target`` rows whose ``current_by`` column holds that constant's value;
    none without ``current_by``, or when the table is absent or has other columns (it is
    then rewritten whole)."""
    if (
        current_by is None
        or not store.exists(target)
        or not store.dataset(target).schema.equals(schema)
    ):
        return pa.array([], pa.string())
    where = pc.field(current_by) == constants[current_by]
    return store.read_columns(target, ["item_id"], where).column("item_id").combine_chunks()
