"""Ingest, as one step: a data set's new items into LanceDB, each exactly once; what
cannot be read into the DuckDB ``quarantine`` table; every entry of the source accounted
for once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.items.ids import IdSet
from repr_assets.memory import release_free_memory
from repr_assets.names import items_table
from repr_assets.pipeline import Connect, Progress
from repr_assets.sources import Quarantined, Source, SourceError, open_source
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.quarantine import SetAside, record_quarantined, set_aside


def ingest(
    spec: DatasetSpec,
    store: LanceStore,
    connect: Connect,
    run_id: str,
    progress: Progress | None = None,
) -> IngestResult:
    """Add the source's new items; record the unreadable ones, once each. Entries set
    aside by an earlier run are not taken again (they count as ``set_aside_before``).
    A data set too small to fit is refused first (``check_enough_items``), whoever runs
    it: the command line, a schedule or the UI."""
    check_enough_items(spec, store)
    with connect() as connection:
        before = set_aside(connection, spec.name)
    result = ingest_items(spec, store, before, progress=progress)
    with connect() as connection:
        record_quarantined(connection, spec.name, result.source, result.quarantined, run_id)
    return result


MIN_ITEMS = 10
"""The fewest distinct items a data set can be fitted and reported on: the split holds out
a fifth, and the autoencoder then needs rows to train and to stop early on."""


def check_enough_items(spec: DatasetSpec, store: LanceStore | None) -> None:
    """Refuse, before anything is written, a data set that cannot be fitted: one whose
    table and source together hold fewer than ``MIN_ITEMS`` distinct readable items. The
    source is read only until that many are found."""
    table = items_table(spec.name)
    if store is not None and store.exists(table) and store.count(table) >= MIN_ITEMS:
        return
    source = open_source(spec)
    found: set[str] = set()
    for read in source.read(1024, known_refs=frozenset()):
        found.update(read.items.column("item_id").to_pylist())
        if len(found) >= MIN_ITEMS:
            return
    raise SourceError(
        f"{source.description} holds {len(found)} distinct readable item"
        f"{'' if len(found) == 1 else 's'}: fitting needs at least {MIN_ITEMS}; nothing was written"
    )


NOTHING_SET_ASIDE = SetAside()


@dataclass
class IngestResult:
    """What one ingest did, every entry of the source counted once:
    ``entries == new_items + already_ingested + duplicates_dropped + len(quarantined)
    + set_aside_before``. ``not_items`` counts the files that are no items of the source
    (by suffix); ``total_items`` counts the table after the ingest."""

    table: str
    source: str
    new_items: int = 0
    already_ingested: int = 0
    duplicates_dropped: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)
    set_aside_before: int = 0
    not_items: dict[str, int] = field(default_factory=dict)
    total_items: int = 0
    version: int | None = None

    @property
    def entries(self) -> int:
        return (
            self.new_items
            + self.already_ingested
            + self.duplicates_dropped
            + len(self.quarantined)
            + self.set_aside_before
        )

    def summary(self) -> str:
        """One line: where each entry went."""
        line = (
            f"{self.source}: {self.entries:,} entries read: {self.new_items:,} new, "
            f"{self.already_ingested:,} ingested before, {self.duplicates_dropped:,} "
            f"duplicates dropped, {len(self.quarantined):,} set aside"
        )
        if self.set_aside_before:
            line += f", {self.set_aside_before:,} set aside before"
        if self.not_items:
            skipped = ", ".join(f"{n:,} {suffix}" for suffix, n in sorted(self.not_items.items()))
            line += (
                f"; {sum(self.not_items.values()):,} files that are not items skipped ({skipped})"
            )
        return line


def known_item_refs(store: LanceStore, dataset: str) -> frozenset[str]:
    """The refs of items already in ``{dataset}_items`` (for sources that record them)."""
    table = items_table(dataset)
    if not store.exists(table) or "ref" not in store.dataset(table).schema.names:
        return frozenset()
    refs = store.read_columns(table, ["ref"]).column("ref")
    return frozenset(refs.drop_null().to_pylist())


LABEL_BLIND_SAMPLE = 16


def _refuse_label_blind_ids(source: Source, store: LanceStore, dataset: str) -> None:
    """Refuse a table whose ids were made by earlier versions, which left the label out
    of a row's content id: the source's rows would all come in again under new ids.

    A sample of rows is enough: a table is written by one version or the other.
    """
    label_blind = getattr(source, "holds_label_blind_ids", None)
    table = items_table(dataset)
    if label_blind is not None and label_blind(store.head(table, LABEL_BLIND_SAMPLE)):
        raise SourceError(
            f"the table {table!r} was ingested by an earlier version whose item ids leave "
            f"out the label; drop the data set (repr-assets drop --dataset {dataset}) and "
            "run again"
        )


def ingest_items(
    spec: DatasetSpec,
    store: LanceStore,
    before: SetAside = NOTHING_SET_ASIDE,
    batch_size: int = 4096,
    progress: Progress | None = None,
) -> IngestResult:
    """Add every item of ``spec``'s source that ``{dataset}_items`` does not hold yet.

    Items are read in batches and written in one commit. An item whose id is already in
    the table is not written again; a second item with the same id in this read is an
    exact duplicate and is dropped. Unreadable items are returned in ``quarantined``, for
    the caller to record, unless an earlier run set them aside (``before``, by their
    ``Quarantined.key``: a file by its ref, a row by its content, an item it could not
    featurise by its id); those count as ``set_aside_before``. Sources whose items are
    files skip the files of refs known (ingested or set aside) unread; the rows of a file
    are known by their content, since a row's line is no identity (a row inserted above
    moves every line after it).

    Raises ``SourceError`` when the source holds no readable item at all, or when the
    table's ids were made by an earlier scheme (``_refuse_label_blind_ids``); then nothing
    is written.
    """
    source = open_source(spec)
    table = items_table(spec.name)
    result = IngestResult(table, source.description)
    existing: IdSet | None = None
    if store.exists(table):
        current = store.dataset(table)
        if not current.schema.equals(source.schema):
            raise SourceError(
                f"the source's items have the columns {source.schema.names}, but the table "
                f"{table!r} has {current.schema.names}: ingest it as a new data set"
            )
        _refuse_label_blind_ids(source, store, spec.name)
        current_ids = store.read_columns(table, ["item_id"]).column("item_id")
        existing = IdSet(current_ids.combine_chunks()) if len(current_ids) else None
    skip = before.refs | known_item_refs(store, spec.name)
    seen: set[str] = set()

    def new_batches() -> Iterator[pa.RecordBatch]:
        for read in source.read(batch_size, known_refs=skip):
            for item in read.quarantined:
                if item.key in before.keys:
                    result.set_aside_before += 1
                else:
                    result.quarantined.append(item)
            again = sum(ref in before.refs for ref in read.skipped)
            result.set_aside_before += again
            result.already_ingested += len(read.skipped) - again
            for suffix, count in read.not_items.items():
                result.not_items[suffix] = result.not_items.get(suffix, 0) + count
            keep = []
            ids = read.items.column("item_id")
            known = np.zeros(len(ids), bool) if existing is None else existing.contains(ids)
            result.already_ingested += int(known.sum())
            unknown = np.flatnonzero(~known)
            for row, item_id in zip(unknown.tolist(), ids.take(unknown).to_pylist(), strict=True):
                if item_id in before.keys:  # read, but not featurised, by an earlier run
                    result.set_aside_before += 1
                elif item_id in seen:
                    result.duplicates_dropped += 1
                else:
                    seen.add(item_id)
                    keep.append(row)
            if keep:
                batch = read.items.take(pa.array(keep, pa.int64()))
                result.new_items += batch.num_rows
                yield batch
                if progress is not None:
                    progress(result.new_items, 0)

    write = store.insert_new(table, source.schema, new_batches())
    if progress is not None:
        progress(result.new_items, result.new_items)  # the last line gives the final count
    if write is None and existing is None:
        examples = "; ".join(f"{q.ref}: {q.reason}" for q in result.quarantined[:3])
        raise SourceError(
            f"{source.description} holds no readable item"
            + (f" ({len(result.quarantined)} set aside, e.g. {examples})" if examples else "")
        )
    result.version = write.version if write else store.dataset(table).version
    result.total_items = write.total_rows if write else store.count(table)
    existing = None
    seen.clear()
    release_free_memory(result.new_items)  # what the stream through Arrow and LanceDB left
    return result
