"""The DuckDB table ``quarantine``: items a source could not read, and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from repr_assets.sources.base import Quarantined

QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS quarantine (
    dataset         VARCHAR   NOT NULL,
    source          VARCHAR   NOT NULL,
    ref             VARCHAR   NOT NULL,
    reason          VARCHAR   NOT NULL,
    run_id          VARCHAR   NOT NULL,
    quarantined_at  TIMESTAMP NOT NULL,
    item_id         VARCHAR,  -- an item read but not featurised: its row's content id
    PRIMARY KEY (dataset, ref)
)
"""
# Tables made by an earlier version lack the last column.
ADD_ITEM_ID = "ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS item_id VARCHAR"


@dataclass(frozen=True)
class SetAside:
    """What a data set's earlier runs set aside: the refs, and the ids of items read but
    not featurised (a row of a file is known by its content, not by where it stood)."""

    refs: frozenset[str] = frozenset()
    item_ids: frozenset[str] = frozenset()


def ensure_quarantine(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(QUARANTINE_DDL)
    connection.execute(ADD_ITEM_ID)


def record_quarantined(
    connection: duckdb.DuckDBPyConnection,
    dataset: str,
    source: str,
    items: Sequence[Quarantined],
    run_id: str,
) -> int:
    """Add the items not set aside before; an item keeps the run that first set it aside.

    Returns how many rows were added.
    """
    ensure_quarantine(connection)
    if not items:
        return 0
    now = datetime.now(UTC).replace(tzinfo=None)
    unique = {item.ref: item for item in items}
    before = _count(connection, dataset)
    rows = [
        (dataset, source, item.ref, item.reason, run_id, now, item.item_id)
        for item in unique.values()
    ]
    connection.execute("BEGIN TRANSACTION")
    try:
        connection.executemany(
            "INSERT INTO quarantine (dataset, source, ref, reason, run_id, quarantined_at, "
            "item_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            rows,
        )
        connection.execute("COMMIT")
    except Exception:
        connection.execute("ROLLBACK")
        raise
    return _count(connection, dataset) - before


def set_aside(connection: duckdb.DuckDBPyConnection, dataset: str) -> SetAside:
    """What ``dataset``'s earlier runs set aside, which a later run need not take again."""
    ensure_quarantine(connection)
    rows = connection.execute(
        "SELECT ref, item_id FROM quarantine WHERE dataset = ?", [dataset]
    ).fetchall()
    return SetAside(
        frozenset(ref for ref, _ in rows), frozenset(i for _, i in rows if i is not None)
    )


def _count(connection: duckdb.DuckDBPyConnection, dataset: str) -> int:
    row = connection.execute(
        "SELECT count(*) FROM quarantine WHERE dataset = ?", [dataset]
    ).fetchone()
    return int(row[0]) if row else 0
