"""The write path of ``LanceStore``: batches joined, validated and produced one ahead as
Lance pulls them, so that a bad batch aborts the write before its commit."""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from repr_assets.items.ids import hash_strings

KEY = "item_id"
T = TypeVar("T")


class ValidatedReader:
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


def non_empty(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch] | None:
    """``batches`` from the first one with rows, or ``None`` when none has any.

    Batches are pulled lazily up to the first row, so a streaming source stays streaming.
    """
    iterator = iter(batches)
    for batch in iterator:
        if batch.num_rows:
            return itertools.chain([batch], iterator)
    return None
