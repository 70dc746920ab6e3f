"""Dropping a data set: its tables, models, stored spec and run options go; its history
(``quality_metrics``, ``publications``, ``models``) stays, for the record."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from repr_assets.catalog import Catalog
from repr_assets.encoders.registry import encoder_kinds
from repr_assets.shards import drop_staging, staging_runs
from repr_assets.stores.lance import LanceStore
from repr_assets.tables import embeddings_table, features_table, items_table

# Rows that describe the data set's current items and reports, not its history: a later
# run of the same name must start afresh (re-read what was set aside, report again).
FORGOTTEN_ROWS = ("quarantine", "report_runs")


@dataclass
class Dropped:
    tables: list[str] = field(default_factory=list)
    models: bool = False
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def anything(self) -> bool:
        return bool(self.tables or self.models or any(self.rows.values()))


def drop_dataset(catalog: Catalog, name: str) -> Dropped:
    """Remove what ``name`` has under the catalog's home; what was removed."""
    home = catalog.home
    dropped = Dropped()
    if home.lancedb.is_dir():
        store = LanceStore(home.lancedb)
        names = set(store.table_names())
        tables = [items_table(name), features_table(name)]
        tables += [embeddings_table(name, kind) for kind in encoder_kinds()]
        for table in tables:
            if table in names:
                for run in staging_runs(store, table):
                    drop_staging(store, table, run)
                store.db.drop_table(table)
                dropped.tables.append(table)
    dropped.models = catalog.drop_models(name)
    if home.reports.exists():
        dropped.rows = _forget_rows(home.reports, name)
    return dropped


def _forget_rows(reports: Path, name: str) -> dict[str, int]:
    counts = {}
    with duckdb.connect(str(reports)) as connection:
        listed = connection.execute("SELECT table_name FROM information_schema.tables")
        present = {row[0] for row in listed.fetchall()}
        for table in FORGOTTEN_ROWS:
            if table in present:
                found = connection.execute(
                    f"DELETE FROM {table} WHERE dataset = ? RETURNING 1", [name]
                ).fetchall()
                counts[table] = len(found)
    return counts
