"""Integrity of a vector table: finite vectors, exactly one row per item."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow.compute as pc

from repr_assets.items.schemas import vectors_of
from repr_assets.stores.lance import LanceStore


def count_non_finite_vectors(store: LanceStore, table: str) -> tuple[int, int]:
    """``(rows, rows whose vector holds a NaN or Inf)``, read in batches."""
    rows = bad = 0
    for batch in store.read_batches(table, columns=["vector"]):
        vectors = vectors_of(batch.column("vector"))
        rows += len(vectors)
        bad += int((~np.isfinite(vectors).all(axis=1)).sum())
    return rows, bad


def distinct_labels(store: LanceStore, table: str) -> list[str]:
    """The table's labels, sorted, without nulls; only the label column is read."""
    labels = store.read_columns(table, ["label"]).column("label")
    return sorted(pc.unique(labels.drop_null()).to_pylist())


@dataclass(frozen=True)
class Coverage:
    rows: int
    distinct_ids: int
    items: int
    missing: int
    extra: int

    @property
    def one_row_per_item(self) -> bool:
        return self.rows == self.distinct_ids == self.items and not self.missing and not self.extra


COVERAGE_SQL = """
SELECT
    (SELECT count(*) FROM vectors) AS rows,
    (SELECT count(DISTINCT item_id) FROM vectors) AS distinct_ids,
    (SELECT count(*) FROM items) AS items,
    (SELECT count(*) FROM items ANTI JOIN vectors USING (item_id)) AS missing,
    (SELECT count(*) FROM vectors ANTI JOIN items USING (item_id)) AS extra
"""


def coverage(store: LanceStore, table: str, items_table: str) -> Coverage:
    """Compare a vector table's ids with the items' ids, in DuckDB over the Lance files in place."""
    with duckdb.connect() as connection:
        # A Lance dataset is an Arrow dataset: DuckDB scans its files in place, pushing the
        # column projection down, with no copy into DuckDB.
        connection.register("vectors", store.dataset(table))
        connection.register("items", store.dataset(items_table))
        row = connection.execute(COVERAGE_SQL).fetchone()
    assert row is not None
    return Coverage(*(int(value) for value in row))
