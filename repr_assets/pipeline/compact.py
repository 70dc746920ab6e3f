"""``repr-assets compact``, as a step: the retention that follows each publication, run by
hand on every table of a data set, with the number of published versions to keep and the
grace period given (``repr_assets.stores.retention``).

Embeddings tables keep their served version and their last published ones. The items and
features tables have no published versions: they keep their newest and any version
younger than the grace period, which a run still reading one (an embedding plan pins its
source's version) needs.
"""

from __future__ import annotations

import duckdb

from repr_assets.encoders.registry import encoder_kinds
from repr_assets.names import embeddings_table, features_table, items_table
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.publications import last_publication, published_versions, rolled_back_over
from repr_assets.stores.retention import Retained, retain


def undecided(newest: int, last: tuple[int, str, str] | None, rolled_back_over: int | None) -> bool:
    """Whether no publish decision was made on ``newest`` yet, nor does a rollback hold it
    back: only such a version may be compacted, so that no decided version is rewritten
    behind its decision."""
    if rolled_back_over is not None and newest <= rolled_back_over:
        return False
    return last is None or newest > last[0]


def retain_embeddings(
    store: LanceStore,
    connection: duckdb.DuckDBPyConnection | None,
    dataset: str,
    encoder: str,
    keep: int,
    grace: float,
    compacted: bool = False,
) -> Retained:
    """Retention of ``encoder``'s table, keeping its last ``keep`` published versions."""
    published = [] if connection is None else published_versions(connection, dataset, encoder)
    table = embeddings_table(dataset, encoder)
    return retain(store, table, sorted(published), keep, grace, compacted)


def compact_dataset(
    store: LanceStore,
    connection: duckdb.DuckDBPyConnection | None,
    dataset: str,
    keep: int,
    grace: float,
) -> list[Retained]:
    """Compact and clean up every table ``dataset`` has; what was done to each."""
    done = []
    for table in (items_table(dataset), features_table(dataset)):
        if store.exists(table):
            compacted = store.compact(table)
            done.append(retain(store, table, [], keep, grace, compacted))
    for encoder in encoder_kinds():
        table = embeddings_table(dataset, encoder)
        if not store.exists(table):
            continue
        with store.writing(table):  # a publisher at the same time decides before or after
            compacted = False
            if connection is None or undecided(
                store.dataset(table).version,
                last_publication(connection, dataset, encoder),
                rolled_back_over(connection, dataset, encoder),
            ):
                compacted = store.compact(table)
            done.append(
                retain_embeddings(store, connection, dataset, encoder, keep, grace, compacted)
            )
    return done
