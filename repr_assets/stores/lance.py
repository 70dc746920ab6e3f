"""LanceDB tables keyed on ``item_id``: streamed, validated, single-commit writes."""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import lancedb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from repr_assets.ids import hash_strings

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
            yield from _ahead(_validate(self.schema, _rechunk(self.schema, self.batches)))
        except ValueError as error:
            self.error = error
            raise


WRITE_BATCH_ROWS = 65_536
"""Lance writes a stream of large batches markedly faster than many small ones (about
1.5x for 8k-row batches against 64k-row ones), so small batches are joined up to this."""

WRITE_BATCH_BYTES = 32 * 2**20
"""...unless the joined batch would hold more than this, to keep wide rows (pixels,
features) from piling up in memory."""


def _ahead(batches: Iterator[T]) -> Generator[T, None, None]:
    """``batches``, produced one ahead in a worker thread.

    Lance pulls a batch only when it has written the previous one, so producing the next
    batch (reading, encoding, joining and checking it) would otherwise wait for the write,
    and the write for it; this way they overlap. Memory holds three batches at most: one
    being written, one waiting, one being made.
    """
    handoff: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(message: tuple[str, object]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(message, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not offer(("batch", batch)):
                    return
            offer(("end", None))
        except BaseException as error:  # handed to the reader, which re-raises it
            offer(("error", error))
        finally:
            if isinstance(batches, Generator):
                batches.close()

    worker = threading.Thread(target=produce, name="lance-write-ahead", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        # Lance stopped early (an error on its side), or the stream ended: let the
        # worker go without waiting for it to finish a batch no one will read.
        stop.set()


def _rechunk(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``batches`` joined into batches of about ``WRITE_BATCH_ROWS`` rows, in order.

    Each batch's schema is checked before it is joined, as concatenating needs equal ones.
    """
    pending: list[pa.RecordBatch] = []
    rows = size = 0
    for batch in batches:
        if not batch.schema.equals(schema):
            raise ValueError(f"batch schema {batch.schema} does not match the table's {schema}")
        if not batch.num_rows:
            continue
        pending.append(batch)
        rows += batch.num_rows
        size += batch.nbytes
        if rows >= WRITE_BATCH_ROWS or size >= WRITE_BATCH_BYTES:
            yield _concat(pending)
            pending, rows, size = [], 0, 0
    if pending:
        yield _concat(pending)


def _concat(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    return batches[0] if len(batches) == 1 else pa.concat_batches(batches)


def _validate(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Check each batch (of the schema: ``_rechunk`` saw to that) without a Python object
    per row. A repeated ``item_id`` is found by sorting 64-bit hashes of all ids once every
    batch has passed, but before the stream ends, so such a write still makes no commit.
    """
    id_chunks: list[pa.Array] = []
    hash_chunks: list[np.ndarray] = []
    for batch in batches:
        ids = batch.column(KEY)
        if ids.null_count:
            raise ValueError(f"{ids.null_count} rows have no {KEY}")
        id_chunks.append(ids)
        hash_chunks.append(hash_strings(ids))
        if "vector" in schema.names:
            _check_vectors(ids, batch.column("vector"))
        yield batch
    if id_chunks:
        _check_unique(id_chunks, np.concatenate(hash_chunks))


def _check_vectors(ids: pa.Array, vectors: pa.Array) -> None:
    if vectors.null_count:
        example = ids[pc.index(vectors.is_null(), True).as_py()].as_py()
        raise ValueError(f"item {example!r} has no vector; nothing was written")
    values = vectors.flatten().to_numpy(zero_copy_only=False)
    finite = np.isfinite(values)
    if not finite.all():
        bad_rows = ~finite.reshape(len(vectors), -1).all(axis=1)
        example = ids[int(np.argmax(bad_rows))].as_py()
        raise ValueError(f"vector of item {example!r} holds NaN or Inf; nothing was written")


def _check_unique(id_chunks: list[pa.Array], hashes: np.ndarray) -> None:
    ordered = np.sort(hashes)
    clashing = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(clashing):
        return
    # Equal hashes: find the first id, in write order, that repeats an earlier one.
    ids = pa.chunked_array(id_chunks).combine_chunks()
    suspects = ids.filter(pa.array(np.isin(hashes, clashing))).to_pylist()
    seen: set[str] = set()
    for item_id in suspects:
        if item_id in seen:
            raise ValueError(
                f"duplicate {KEY} {item_id!r} in the data to write; nothing was written"
            )
        seen.add(item_id)


def _non_empty(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch] | None:
    """``batches`` from the first one with rows, or ``None`` when none has any.

    Batches are pulled lazily up to the first row, so a streaming source stays streaming.
    """
    iterator = iter(batches)
    for batch in iterator:
        if batch.num_rows:
            return itertools.chain([batch], iterator)
    return None
