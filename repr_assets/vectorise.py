"""Turning each batch of one table into vectors of another: featurising and embedding."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np
import pyarrow as pa

from repr_assets.items import vector_array, vector_schema
from repr_assets.stores.lance import LanceStore, WriteResult

Progress = Callable[[int, int], None]
"""Called after each batch with ``(rows done, rows in all)``."""


def write_vectors(
    store: LanceStore,
    source: str,
    target: str,
    dim: int,
    compute: Callable[[pa.RecordBatch], np.ndarray],
    constants: Mapping[str, str] | None = None,
    batch_size: int = 8192,
    progress: Progress | None = None,
) -> WriteResult:
    """Upsert ``compute(batch)``, a ``(rows, dim)`` matrix per batch of ``source``, into
    ``target`` with the source's ``item_id``, ``label`` and ``split`` and the string
    ``constants`` (such as the model version) as extra columns. One batch in memory at a
    time; one commit."""
    constants = dict(constants or {})
    schema = vector_schema(dim, [pa.field(name, pa.string()) for name in constants])
    total = store.count(source)

    def batches() -> Iterator[pa.RecordBatch]:
        done = 0
        for batch in store.read_batches(source, batch_size=batch_size):
            vectors = compute(batch)
            rows = batch.num_rows
            yield pa.RecordBatch.from_arrays(
                [
                    batch.column("item_id"),
                    batch.column("label"),
                    batch.column("split"),
                    vector_array(vectors),
                    *(pa.array([value] * rows, pa.string()) for value in constants.values()),
                ],
                schema=schema,
            )
            done += rows
            if progress is not None:
                progress(done, total)

    return store.upsert(target, schema, batches())
