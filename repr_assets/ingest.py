"""Ingest: read a data set's source and upsert its items into LanceDB."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from repr_assets.datasets import DatasetSpec
from repr_assets.items import IMAGE_ITEMS_SCHEMA
from repr_assets.sources.digits import read_digits
from repr_assets.stores.lance import LanceStore, WriteResult
from repr_assets.tables import items_table


def read_items(
    spec: DatasetSpec, batch_size: int = 1024
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The schema and item batches of ``spec``'s source."""
    if spec.name == "digits" and spec.builtin:
        return IMAGE_ITEMS_SCHEMA, read_digits(batch_size)
    raise ValueError(
        f"data set {spec.name!r} has no reader: only the built-in digits data set is "
        "supported by this version"
    )


def ingest_items(spec: DatasetSpec, store: LanceStore, batch_size: int = 1024) -> WriteResult:
    """Upsert every item of ``spec``'s source into ``{dataset}_items``, keyed on ``item_id``."""
    schema, batches = read_items(spec, batch_size)
    return store.upsert(items_table(spec.name), schema, batches)
