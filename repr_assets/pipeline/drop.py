"""Dropping a data set: its tables, models, stored spec and run options go; its history
(``quality_metrics``, ``publications``, ``models``) stays, for the record.

``reports.duckdb`` is opened first, so that a file held by a running report refuses the
drop before anything is removed. Each embeddings table dropped gets a ``drop`` row in
``publications``: a table made again under its name starts its versions at 1, and no
decision recorded before may speak for them (``repr_assets.stores.publications``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb

from repr_assets.datasets.catalog import Catalog
from repr_assets.encoders.registry import encoder_kinds
from repr_assets.names import embeddings_table, features_table, items_table, shared_tables
from repr_assets.pipeline.shards import drop_staging, staging_runs
from repr_assets.stores.duckdb_file import connect, has_table
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.publications import Publication, now, record_publication

# Rows that describe the data set's current items and reports, not its history: a later
# run of the same name must start afresh (re-read what was set aside, report again).
FORGOTTEN_ROWS = ("quarantine", "report_runs")


@dataclass
class Dropped:
    tables: list[str] = field(default_factory=list)
    models: bool = False
    rows: dict[str, int] = field(default_factory=dict)
    shared: dict[str, str] = field(default_factory=dict)  # kept: the name of another's table

    @property
    def anything(self) -> bool:
        return bool(self.tables or self.models or any(self.rows.values()))


def drop_dataset(catalog: Catalog, name: str) -> Dropped:
    """Remove what ``name`` has under the catalog's home; what was removed. Raises
    ``duckdb.IOException`` before removing anything when the reports cannot be opened."""
    home = catalog.home
    dropped = Dropped()
    with _reports(catalog) as connection:
        if home.has_lancedb():
            store = LanceStore.of(home)
            names = set(store.table_names())
            encoders = {embeddings_table(name, kind): kind for kind in encoder_kinds()}
            # A table whose name another data set's tables can take too is not this one's
            # to remove: it is kept, and said so.
            shared = shared_tables(name, catalog.names(), encoder_kinds())
            dropped.shared = {table: other for table, other in shared.items() if table in names}
            for table in [items_table(name), features_table(name), *encoders]:
                if table not in names or table in dropped.shared:
                    continue
                for run in staging_runs(store, table):
                    drop_staging(store, table, run)
                version = store.dataset(table).version
                store.drop(table)
                dropped.tables.append(table)
                if table in encoders and connection is not None:
                    record_publication(
                        connection,
                        Publication(
                            name,
                            encoders[table],
                            table,
                            version,
                            None,
                            "drop",
                            "the data set was dropped",
                            None,
                            now(),
                        ),
                    )
        dropped.models = catalog.drop_models(name)
        if connection is not None:
            dropped.rows = _forget_rows(connection, name)
    return dropped


@contextlib.contextmanager
def _reports(catalog: Catalog) -> Iterator[duckdb.DuckDBPyConnection | None]:
    if not catalog.home.reports.exists():
        yield None
        return
    with connect(catalog.home.reports, read_only=False) as connection:
        yield connection


def _forget_rows(connection: duckdb.DuckDBPyConnection, name: str) -> dict[str, int]:
    counts = {}
    for table in FORGOTTEN_ROWS:
        if has_table(connection, table):
            found = connection.execute(
                f"DELETE FROM {table} WHERE dataset = ? RETURNING 1", [name]
            ).fetchall()
            counts[table] = len(found)
    return counts
