"""LanceDB tables keyed on ``item_id``: streamed, validated, single-commit writes."""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import lance
import pyarrow as pa
import pyarrow.compute as pc

from repr_assets.home import Home, local_path
from repr_assets.stores.lance_writes import KEY, ValidatedReader, non_empty
from repr_assets.stores.retrying import retrying
from repr_assets.stores.table_locks import default_lock_folder, table_lock
from repr_assets.stores.unavailable import StoreUnavailableError

if TYPE_CHECKING:
    import lancedb

T = TypeVar("T")

CONFLICT_WAIT_SECONDS = 120.0
"""How long a commit that keeps meeting conflicts is tried again before it fails."""

COMPACT_AT_FRAGMENTS = 8
"""A write compacts its table once the newest version has this many data files: each
incremental run appends one, and a compaction rewrites the small files into one, so
compacting at every write would rewrite the whole table each time."""

CONFLICT_RETRIES: Counter[str] = Counter()
"""Retries after a commit conflict in this process, by operation (tests and the bench
read it)."""


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
    write before the commit, leaving the table as it was. Writes of one table wait for
    each other (``repr_assets.stores.table_locks``, in ``locks``), and a commit that meets
    another's is tried again (``commit``).

    Reads go to Lance's datasets directly (``dataset``), without LanceDB: importing
    ``lancedb`` takes one to five seconds, most of a one-off search from the shell. A
    database on disk is connected to on the first write; one on object storage at once,
    where a wrong bucket or server shows before anything else is tried.
    """

    def __init__(self, uri: str | Path, locks: Path | None = None) -> None:
        self.uri = str(uri)
        self.locks = locks if locks is not None else default_lock_folder(self.uri)
        self.folder = local_path(self.uri)
        self._db: lancedb.DBConnection | None = None
        if self.folder is None:
            self._db = self._connect()

    @property
    def db(self) -> lancedb.DBConnection:
        """The LanceDB connection, which writes, indexes and tags go through."""
        if self._db is None:
            self._db = self._connect()
        return self._db

    def _connect(self) -> lancedb.DBConnection:
        import lancedb

        try:
            return lancedb.connect(self.uri)
        except (ValueError, OSError, RuntimeError) as error:
            raise StoreUnavailableError(self.uri, error) from None

    def _dataset_uri(self, name: str) -> str:
        """Where LanceDB keeps table ``name``: ``<database>/<name>.lance``."""
        return f"{self.uri.rstrip('/')}/{name}.lance"

    @classmethod
    def of(cls, home: Home) -> LanceStore:
        """The database of ``home``, wherever it lives, with the home's write locks."""
        return cls(home.lancedb, locks=home.lancedb_locks)

    def drop(self, name: str) -> None:
        with self.writing(name):
            self.db.drop_table(name)

    def writing(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Hold the write lock of table ``name``: what is read in the block stays true
        until it ends, as no write of ours can come between."""
        return table_lock(self.locks, name)

    def compact(self, name: str, at_fragments: int = 1) -> bool:
        """Rewrite the newest version's small or half-deleted data files into fewer, as a
        new version with the same rows, once it has ``at_fragments`` files or more;
        whether a new version was made."""

        def compact() -> bool:
            dataset = self.dataset(name)
            if len(dataset.get_fragments()) < at_fragments:
                return False
            before = dataset.version
            dataset.optimize.compact_files()
            return self.dataset(name).version != before

        return self.commit(name, "compact", compact)

    def _compacted(self, written: WriteResult) -> WriteResult:
        """``written``, its table compacted once appends have left enough files. Within
        the write, so that what reads the version a write reports (a report, a publish
        decision) never sees it rewritten later."""
        if written.rows_written and self.compact(written.table, COMPACT_AT_FRAGMENTS):
            return dataclasses.replace(written, version=self.dataset(written.table).version)
        return written

    def commit(self, name: str, operation: str, action: Callable[[], T]) -> T:
        """``action()`` (one commit to ``name``: a tag move, an index build, a compaction)
        under the table's write lock, tried again with back-off while it meets a commit
        conflict, which a writer outside this project (or Lance's own background work)
        can still cause."""

        def counted(error: Exception) -> None:
            CONFLICT_RETRIES[operation] += 1

        with self.writing(name):
            return retrying(action, _is_conflict, CONFLICT_WAIT_SECONDS, on_retry=counted)

    def table_names(self) -> list[str]:
        if self.folder is not None:
            # What LanceDB lists for a folder: its ``*.lance`` subfolders.
            if not self.folder.is_dir():
                return []
            return sorted(
                path.name.removesuffix(".lance")
                for path in self.folder.iterdir()
                if path.name.endswith(".lance") and path.is_dir()
            )
        names: list[str] = []
        page_token = None
        while True:
            page = self.db.list_tables(page_token=page_token, limit=1000)
            names.extend(page.tables)
            page_token = page.page_token
            if not page_token:
                return sorted(names)

    def exists(self, name: str) -> bool:
        try:
            self.dataset(name)
        except KeyError:
            return False
        return True

    def open(self, name: str) -> lancedb.table.Table:
        """The table ``name`` at its newest version (one lookup, no listing of the others)."""
        try:
            return self.db.open_table(name)
        except ValueError:
            raise KeyError(f"no LanceDB table {name!r} in {self.uri}") from None

    def dataset(self, name: str, version: int | None = None) -> lance.LanceDataset:
        """The Lance dataset of ``name`` at ``version`` (the newest when ``None``): what
        DuckDB scans in place and searches query. The one place a table becomes one."""
        try:
            return lance.dataset(self._dataset_uri(name), version=version)
        except ValueError as error:  # Lance: "Dataset at path ... was not found"
            if "was not found" not in str(error):
                raise
            if version is not None:
                raise ValueError(f"table {name!r} has no version {version}") from None
            raise KeyError(f"no LanceDB table {name!r} in {self.uri}") from None

    def read_columns(
        self, name: str, columns: list[str], where: pc.Expression | None = None
    ) -> pa.Table:
        """``columns`` of the rows of ``name`` that match ``where`` (an Arrow expression,
        never SQL text), in storage order."""
        return self.dataset(name).to_table(columns=columns, filter=where)

    def values_of(self, name: str, item_ids: Sequence[str], column: str) -> list[Any]:
        """``column`` of the rows of ``item_ids``, in that order."""
        found = self.take(name, list(item_ids), columns=[KEY, column])
        value_of = dict(
            zip(found.column(KEY).to_pylist(), found.column(column).to_pylist(), strict=True)
        )
        return [value_of[item_id] for item_id in item_ids]

    def delete(self, name: str, where: pc.Expression) -> None:
        """Delete the rows that match ``where`` (an Arrow expression), in one commit."""
        self.commit(name, "delete", lambda: self.dataset(name).delete(where))

    def count(self, name: str) -> int:
        return self.dataset(name).count_rows()

    def upsert(
        self, name: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
    ) -> WriteResult:
        """Insert new ``item_id`` s and replace the rows of known ones, in one commit.

        A table whose schema differs from ``schema`` (say, a new vector width) is replaced
        instead, since its old rows could not be compared with the new ones. No rows to
        write make no commit, so the table keeps its version.
        """
        with self.writing(name):
            return self._compacted(self._upsert(name, schema, batches))

    def _upsert(
        self, name: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
    ) -> WriteResult:
        if self.exists(name):
            table = self.db.open_table(name)
            if table.schema.equals(schema):
                pending = non_empty(batches)
                if pending is None:
                    return self._unchanged(table, name)
                validated = ValidatedReader(schema, pending)
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
        return self._overwrite(name, ValidatedReader(schema, batches))

    def insert_new(
        self, name: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
    ) -> WriteResult | None:
        """Append rows whose ``item_id`` s the caller knows to be new, in one commit.

        Creates the table on first use. With no rows at all, nothing is written (not even
        an empty table) and the result is ``None``.
        """
        with self.writing(name):
            written = self._insert_new(name, schema, batches)
            return None if written is None else self._compacted(written)

    def _insert_new(
        self, name: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
    ) -> WriteResult | None:
        pending = non_empty(batches)
        if pending is None:
            return None
        if not self.exists(name):
            return self._overwrite(name, ValidatedReader(schema, pending))
        table = self.db.open_table(name)
        if not table.schema.equals(schema):
            raise ValueError(
                f"table {name!r} has the columns {table.schema.names}, but the new rows have "
                f"{schema.names}; nothing was written"
            )
        before = table.count_rows()
        ValidatedReader(schema, pending).write(table.add)
        rows = table.count_rows()
        return WriteResult(name, rows - before, rows - before, 0, rows, table.version)

    def _unchanged(self, table: lancedb.table.Table, name: str) -> WriteResult:
        return WriteResult(name, 0, 0, 0, table.count_rows(), table.version)

    def replace(
        self, name: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
    ) -> WriteResult:
        """Write ``batches`` as the table's new content, in one commit."""
        with self.writing(name):
            return self._overwrite(name, ValidatedReader(schema, batches))

    def _overwrite(self, name: str, validated: ValidatedReader) -> WriteResult:
        """Called holding the table's lock (by ``replace``, ``upsert``, ``insert_new``)."""
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
        yield from self.dataset(name).to_batches(columns=columns, batch_size=batch_size)

    def head(self, name: str, rows: int, columns: list[str] | None = None) -> pa.Table:
        """The first ``rows`` rows, in storage order, without reading the rest."""
        return self.dataset(name).head(rows, columns=columns)

    def take(self, name: str, item_ids: list[str], columns: list[str] | None = None) -> pa.Table:
        """The rows of ``item_ids`` (an Arrow filter expression, never an SQL string)."""
        return self.dataset(name).to_table(columns=columns, filter=pc.field(KEY).isin(item_ids))

    def read_table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """A whole table, sorted by ``item_id`` so that row order is reproducible."""
        table = self.dataset(name).to_table(columns=columns)
        return table.sort_by(KEY) if KEY in table.column_names else table


def _is_conflict(error: Exception) -> bool:
    """Lance's commit conflicts ("Retryable commit conflict for version ...",
    "... was preempted by concurrent transaction ...") come as ``OSError`` or
    ``RuntimeError`` with nothing but their text to tell them."""
    text = str(error).lower()
    return isinstance(error, OSError | RuntimeError) and ("conflict" in text or "preempted" in text)
