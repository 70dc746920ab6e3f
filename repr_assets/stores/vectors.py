"""What encoders and reports read: a features or embeddings table whole, as one matrix in
``item_id`` order, and the raw texts of items."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from repr_assets.items.hashing import short_hash
from repr_assets.items.schemas import vectors_of
from repr_assets.memory import release_free_memory
from repr_assets.names import features_table, items_table
from repr_assets.stores.lance import LanceStore


@dataclass(frozen=True)
class FeatureMatrix:
    """Every item's features, ordered by ``item_id``.

    ``X``: ``(n_items, n_features)`` float32.
    """

    item_ids: list[str]
    labels: list[str | None]
    splits: list[str | None]
    X: np.ndarray

    @property
    def data_version(self) -> str:
        """A content hash of ids and features: equal data, equal version (the bytes of
        ``X`` are hashed in place, not copied)."""
        X = np.ascontiguousarray(self.X)
        return short_hash("\n".join(self.item_ids), X.reshape(-1).view(np.uint8).data)


def load_features(store: LanceStore, dataset: str) -> FeatureMatrix:
    return load_vectors(store, features_table(dataset))


def load_vectors(store: LanceStore, table: str, batch_size: int = 65_536) -> FeatureMatrix:
    """Read a features or embeddings table whole, sorted by ``item_id``.

    The vectors are read batch by batch straight into their sorted rows of one
    preallocated float32 matrix, so the only copy of them held is the result (reading
    the table whole, sorting it and stacking it would hold three). Labels equal to each
    other share one string object.
    """
    release_free_memory(store.count(table))  # make room before the one big allocation
    matrix = _read_sorted(store, table, batch_size)
    # What the read freed stays cached by Arrow and malloc until released: 100-120 MiB
    # after a million rows, held under whatever the caller computes next. Its buffers
    # are freed by reference counting: no cycle collection needed.
    release_free_memory()
    return matrix


def load_vectors_at(store: LanceStore, table: str, version: int) -> FeatureMatrix:
    """``load_vectors`` of the table as it was at ``version`` (the one served, say)."""
    return _read_sorted(store, table, 65_536, version)


def _read_sorted(
    store: LanceStore, table: str, batch_size: int, version: int | None = None
) -> FeatureMatrix:
    dataset = store.dataset(table, version)  # one version for both passes
    keys = dataset.to_table(columns=["item_id", "label", "split"])
    order = pc.sort_indices(keys.column("item_id")).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    X = np.empty((len(order), dataset.schema.field("vector").type.list_size), np.float32)
    start = 0
    ids = keys.column("item_id")
    for batch in dataset.to_batches(columns=["item_id", "vector"], batch_size=batch_size):
        rows = batch.num_rows
        if not batch.column("item_id").equals(ids.slice(start, rows).combine_chunks()):
            raise RuntimeError(f"the rows of {table!r} came back in another order; read again")
        X[rank[start : start + rows]] = vectors_of(batch.column("vector"))
        start += rows
    if start != len(order):
        raise RuntimeError(f"{table!r} changed while it was read; read again")
    return FeatureMatrix(
        item_ids=ids.take(order).to_pylist(),
        labels=_shared_strings(keys.column("label").take(order)),
        splits=_shared_strings(keys.column("split").take(order)),
        X=X,
    )


def _shared_strings(column: pa.ChunkedArray) -> list[str | None]:
    """``column.to_pylist()``, with one ``str`` object per distinct value."""
    encoded = column.combine_chunks().dictionary_encode()
    values = encoded.dictionary.to_pylist()
    indices = pc.fill_null(encoded.indices, 0).to_numpy(zero_copy_only=False)
    valid = encoded.indices.is_valid().to_numpy(zero_copy_only=False)
    return [
        values[i] if ok else None for i, ok in zip(indices.tolist(), valid.tolist(), strict=True)
    ]


def read_item_columns(
    store: LanceStore, dataset: str, item_ids: list[str], columns: Sequence[str]
) -> dict[str, list[Any]]:
    """``columns`` of the items ``item_ids``, in that order (a factor column, say)."""
    found = store.take(items_table(dataset), list(item_ids), columns=["item_id", *columns])
    row_of = {item_id: row for row, item_id in enumerate(found.column("item_id").to_pylist())}
    order = pa.array([row_of[item_id] for item_id in item_ids], pa.int64())
    return {name: found.column(name).take(order).to_pylist() for name in columns}


def read_texts(store: LanceStore, dataset: str, item_ids: list[str]) -> np.ndarray:
    """The raw texts of ``item_ids``, in that order, as an object array."""
    return np.array(store.values_of(items_table(dataset), item_ids, "text"), dtype=object)
