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
    entry_key       VARCHAR   NOT NULL,  -- what a later run knows it by (Quarantined.key)
    PRIMARY KEY (dataset, entry_key)
)
"""
# Tables made by an earlier version were keyed on (dataset, ref): a row's line, which
# another row takes when one is inserted above. They are remade with the key, each row's
# key its item id or its ref (their content was not kept).
REKEY = """
BEGIN TRANSACTION;
ALTER TABLE quarantine RENAME TO quarantine_by_ref;
{ddl};
INSERT INTO quarantine
SELECT dataset, source, ref, reason, run_id, quarantined_at, item_id, coalesce(item_id, ref)
FROM quarantine_by_ref;
DROP TABLE quarantine_by_ref;
COMMIT;
"""


@dataclass(frozen=True)
class SetAside:
    """What a data set's earlier runs set aside: the keys of every entry
    (``Quarantined.key``), and the refs of the files among them, which a later run need
    not open again."""

    keys: frozenset[str] = frozenset()
    refs: frozenset[str] = frozenset()


def ensure_quarantine(connection: duckdb.DuckDBPyConnection) -> None:
    columns = connection.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'quarantine'"
    ).fetchall()
    if columns and ("entry_key",) not in columns:
        if ("item_id",) not in columns:
            connection.execute("ALTER TABLE quarantine ADD COLUMN item_id VARCHAR")
        connection.execute(REKEY.format(ddl=QUARANTINE_DDL.strip()))
    else:
        connection.execute(QUARANTINE_DDL)


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
    unique = {item.key: item for item in items}
    before = _count(connection, dataset)
    rows = [
        (dataset, source, item.ref, item.reason, run_id, now, item.item_id, item.key)
        for item in unique.values()
    ]
    connection.execute("BEGIN TRANSACTION")
    try:
        connection.executemany(
            "INSERT INTO quarantine (dataset, source, ref, reason, run_id, quarantined_at, "
            "item_id, entry_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
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
        "SELECT entry_key, ref FROM quarantine WHERE dataset = ?", [dataset]
    ).fetchall()
    return SetAside(
        keys=frozenset(key for key, _ in rows),
        refs=frozenset(ref for key, ref in rows if key == ref),  # files: known by path
    )


def _count(connection: duckdb.DuckDBPyConnection, dataset: str) -> int:
    row = connection.execute(
        "SELECT count(*) FROM quarantine WHERE dataset = ?", [dataset]
    ).fetchone()
    return int(row[0]) if row else 0
