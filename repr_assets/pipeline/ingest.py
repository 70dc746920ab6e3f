"""Ingest, as one step: a data set's new items into LanceDB, what cannot be read into the
DuckDB ``quarantine`` table, every entry of the source accounted for once."""

from __future__ import annotations

from repr_assets.datasets import DatasetSpec
from repr_assets.ingest import IngestResult, ingest_items
from repr_assets.names import items_table
from repr_assets.pipeline import Connect
from repr_assets.sources import SourceError, open_source
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.quarantine import record_quarantined, set_aside
from repr_assets.vectorise import Progress


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
