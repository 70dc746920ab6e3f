"""The DuckDB table ``quarantine``: items a source could not read, and why."""

from __future__ import annotations

from collections.abc import Sequence
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
    PRIMARY KEY (dataset, ref)
)
"""


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
    connection.execute(QUARANTINE_DDL)
    if not items:
        return 0
    now = datetime.now(UTC).replace(tzinfo=None)
    unique = {item.ref: item for item in items}
    before = _count(connection, dataset)
    connection.execute("BEGIN TRANSACTION")
    try:
        connection.executemany(
            "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(dataset, source, item.ref, item.reason, run_id, now) for item in unique.values()],
        )
        connection.execute("COMMIT")
    except Exception:
        connection.execute("ROLLBACK")
        raise
    return _count(connection, dataset) - before


def quarantined_refs(connection: duckdb.DuckDBPyConnection, dataset: str) -> frozenset[str]:
    """The refs of ``dataset`` already set aside, which a later run need not read again."""
    connection.execute(QUARANTINE_DDL)
    rows = connection.execute("SELECT ref FROM quarantine WHERE dataset = ?", [dataset]).fetchall()
    return frozenset(ref for (ref,) in rows)


def _count(connection: duckdb.DuckDBPyConnection, dataset: str) -> int:
    row = connection.execute(
        "SELECT count(*) FROM quarantine WHERE dataset = ?", [dataset]
    ).fetchone()
    return int(row[0]) if row else 0
