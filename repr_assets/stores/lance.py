"""LanceDB tables keyed on ``item_id``: streamed, validated, single-commit writes."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import lancedb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

KEY = "item_id"
T = TypeVar("T")


@dataclass(frozen=True)
class WriteResult:
    table: str
    rows_written: int
    inserted: int
    updated: int
    total_rows: int
    version: int


class LanceStore:
    """The tables of one LanceDB database.

    Every write streams its batches into one Lance commit, so a reader sees either the old
    table or the new one, never a half-written one. Batches are validated on the way in:
    an ``item_id`` must be present and unique, a ``vector`` finite. A bad batch aborts the
    write before the commit, leaving the table as it was.
    """

    def __init__(self, uri: str | Path) -> None:
        self.uri = str(uri)
        self.db = lancedb.connect(self.uri)

    def table_names(self) -> list[str]:
        names: list[str] = []
        page_token = None
        while True:
            page = self.db.list_tables(page_token=page_token, limit=1000)
            names.extend(page.tables)
            page_token = page.page_token
            if not page_token:
                return sorted(names)

    def exists(self, name: str) -> bool:
        return name in self.table_names()

    def open(self, name: str) -> lancedb.table.Table:
        if not self.exists(name):
            raise KeyError(f"no LanceDB table {name!r} in {self.uri}")
        return self.db.open_table(name)

    def count(self, name: str) -> int:
        return self.open(name).count_rows()

    def upsert(
        self, name: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
    ) -> WriteResult:
        """Insert new ``item_id`` s and replace the rows of known ones, in one commit.

        A table whose schema differs from ``schema`` (say, a new vector width) is replaced
        instead, since its old rows could not be compared with the new ones. No rows to
        write make no commit, so the table keeps its version.
        """
        if self.exists(name):
            table = self.db.open_table(name)
            if table.schema.equals(schema):
                pending = _non_empty(batches)
                if pending is None:
                    return self._unchanged(table, name)
                validated = _ValidatedReader(schema, pending)
                result = validated.write(
                    table.merge_insert(KEY)
                    .when_matched_update_all()
                    .when_not_matched_insert_all()
                    .execute
                )
                return WriteResult(
                    name,
                    result.num_inserted_rows + result.num_updated_rows,
                    result.num_inserted_rows,
                    result.num_updated_rows,
                    table.count_rows(),
                    table.version,
                )
        return self._overwrite(name, _ValidatedReader(schema, batches))

    def insert_new(
        self, name: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
    ) -> WriteResult | None:
        """Append rows whose ``item_id`` s the caller knows to be new, in one commit.

        Creates the table on first use. With no rows at all, nothing is written (not even
        an empty table) and the result is ``None``.
        """
        pending = _non_empty(batches)
        if pending is None:
            return None
        if not self.exists(name):
            return self._overwrite(name, _ValidatedReader(schema, pending))
        table = self.db.open_table(name)
        if not table.schema.equals(schema):
            raise ValueError(
                f"table {name!r} has the columns {table.schema.names}, but the new rows have "
                f"{schema.names}; nothing was written"
            )
        before = table.count_rows()
        _ValidatedReader(schema, pending).write(table.add)
        rows = table.count_rows()
        return WriteResult(name, rows - before, rows - before, 0, rows, table.version)

    def _unchanged(self, table: lancedb.table.Table, name: str) -> WriteResult:
        return WriteResult(name, 0, 0, 0, table.count_rows(), table.version)

    def replace(
        self, name: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
    ) -> WriteResult:
        """Write ``batches`` as the table's new content, in one commit."""
        return self._overwrite(name, _ValidatedReader(schema, batches))

    def _overwrite(self, name: str, validated: _ValidatedReader) -> WriteResult:
        existed = self.exists(name)
        try:
            table = validated.write(
                # "create" for a new table: "overwrite" logs a warning when there is none.
                lambda reader: self.db.create_table(
                    name, reader, mode="overwrite" if existed else "create"
                )
            )
        except Exception:
            # A failed first write leaves a data folder with no manifest, which LanceDB
            # would still list as a table.
            if not existed and name in self.table_names():
                self.db.drop_table(name)
            raise
        rows = table.count_rows()
        return WriteResult(name, rows, rows, 0, rows, table.version)

    def read_batches(
        self, name: str, columns: list[str] | None = None, batch_size: int = 8192
    ) -> Iterator[pa.RecordBatch]:
        """Stream a table's rows in batches of at most ``batch_size``."""
        dataset = self.open(name).to_lance()
        yield from dataset.to_batches(columns=columns, batch_size=batch_size)

    def head(self, name: str, rows: int, columns: list[str] | None = None) -> pa.Table:
        """The first ``rows`` rows, in storage order, without reading the rest."""
        return self.open(name).to_lance().head(rows, columns=columns)

    def take(self, name: str, item_ids: list[str], columns: list[str] | None = None) -> pa.Table:
        """The rows of ``item_ids`` (an Arrow filter expression, never an SQL string)."""
        dataset = self.open(name).to_lance()
        return dataset.to_table(columns=columns, filter=pc.field(KEY).isin(item_ids))

    def read_table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """A whole table, sorted by ``item_id`` so that row order is reproducible."""
        table = self.open(name).to_lance().to_table(columns=columns)
        return table.sort_by(KEY) if KEY in table.column_names else table


class _ValidatedReader:
    """Validates batches as LanceDB pulls them; keeps the first error to re-raise it cleanly.

    LanceDB reports an exception raised inside a reader as a ``RuntimeError`` wrapping a
    traceback; ``write`` turns that back into the validation error that caused it.
    """

    def __init__(self, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> None:
        self.schema = schema
        self.batches = batches
        self.error: ValueError | None = None

    def reader(self) -> pa.RecordBatchReader:
        return pa.RecordBatchReader.from_batches(self.schema, self._validate())

    def write(self, write: Callable[[pa.RecordBatchReader], T]) -> T:
        try:
            return write(self.reader())
        except Exception:
            if self.error is not None:
                raise self.error from None
            raise

    def _validate(self) -> Iterator[pa.RecordBatch]:
        try:
            yield from _validate(self.schema, self.batches)
        except ValueError as error:
            self.error = error
            raise


def _validate(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    seen: set[str] = set()
    for batch in batches:
        if not batch.schema.equals(schema):
            raise ValueError(f"batch schema {batch.schema} does not match the table's {schema}")
        ids = batch.column(KEY)
        if ids.null_count:
            raise ValueError(f"{ids.null_count} rows have no {KEY}")
        id_list = ids.to_pylist()
        batch_ids = set(id_list)
        if len(batch_ids) != len(id_list) or not seen.isdisjoint(batch_ids):
            raise ValueError(
                f"duplicate {KEY} {_first_repeat(id_list, seen)!r} in the data to write; "
                "nothing was written"
            )
        seen |= batch_ids
        if "vector" in schema.names:
            vectors = batch.column("vector")
            if vectors.null_count:
                example = id_list[vectors.is_null().to_pylist().index(True)]
                raise ValueError(f"item {example!r} has no vector; nothing was written")
            values = batch.column("vector").flatten().to_numpy(zero_copy_only=False)
            if not np.isfinite(values).all():
                bad_rows = ~np.isfinite(values.reshape(batch.num_rows, -1)).all(axis=1)
                example = id_list[int(np.argmax(bad_rows))]
                raise ValueError(
                    f"vector of item {example!r} holds NaN or Inf; nothing was written"
                )
        yield batch


def _non_empty(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch] | None:
    """``batches`` from the first one with rows, or ``None`` when none has any.

    Batches are pulled lazily up to the first row, so a streaming source stays streaming.
    """
    iterator = iter(batches)
    for batch in iterator:
        if batch.num_rows:
            return itertools.chain([batch], iterator)
    return None


def _first_repeat(ids: list[str], seen: set[str]) -> str:
    local: set[str] = set()
    for item_id in ids:
        if item_id in seen or item_id in local:
            return item_id
        local.add(item_id)
    raise AssertionError("no repeated id")
