"""The DuckDB table ``publications``: every move of a table's served version, and why."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import UTC, datetime

import duckdb

PUBLICATIONS_DDL = """
CREATE TABLE IF NOT EXISTS publications (
    dataset        VARCHAR   NOT NULL,
    encoder        VARCHAR   NOT NULL,
    table_name     VARCHAR   NOT NULL,
    table_version  BIGINT    NOT NULL,
    model_version  VARCHAR,
    action         VARCHAR   NOT NULL,  -- publish, hold or rollback
    reason         VARCHAR   NOT NULL,
    run_id         VARCHAR,
    published_at   TIMESTAMP NOT NULL
)
"""


@dataclass(frozen=True)
class Publication:
    dataset: str
    encoder: str
    table_name: str
    table_version: int
    model_version: str | None
    action: str
    reason: str
    run_id: str | None
    published_at: datetime


def record_publication(connection: duckdb.DuckDBPyConnection, publication: Publication) -> None:
    connection.execute(PUBLICATIONS_DDL)
    connection.execute(
        "INSERT INTO publications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", astuple(publication)
    )


def published_versions(
    connection: duckdb.DuckDBPyConnection, dataset: str, encoder: str, publish_only: bool = False
) -> list[int]:
    """The table versions that were served, oldest first: published ones, and rolled back
    to unless ``publish_only``."""
    connection.execute(PUBLICATIONS_DDL)
    actions = ["publish"] if publish_only else ["publish", "rollback"]
    rows = connection.execute(
        "SELECT table_version FROM publications WHERE dataset = ? AND encoder = ? "
        "AND list_contains(?, action) ORDER BY published_at, rowid",
        [dataset, encoder, actions],
    ).fetchall()
    return [int(version) for (version,) in rows]


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def last_publication(
    connection: duckdb.DuckDBPyConnection, dataset: str, encoder: str
) -> tuple[int, str, str] | None:
    """``(table_version, action, reason)`` of the newest decision recorded for the table.
    Reads only, so it works on a read-only connection."""
    found = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'publications'"
    ).fetchone()
    if not found or not found[0]:
        return None
    row = connection.execute(
        "SELECT table_version, action, reason FROM publications WHERE dataset = ? AND "
        "encoder = ? ORDER BY published_at DESC, rowid DESC LIMIT 1",
        [dataset, encoder],
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]), str(row[2]))
