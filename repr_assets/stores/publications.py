"""The DuckDB table ``publications``: every move of a table's served version, and why.

Rows are ``publish``, ``hold``, ``rollback`` and ``drop``. A ``drop`` (``repr-assets drop``)
ends a table's history as far as decisions go: a table made again under the name starts
its versions at 1, so nothing recorded before the drop speaks of it. The reads below see
only the rows after the table's last drop.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from repr_assets.stores.duckdb_file import has_table

if TYPE_CHECKING:
    import duckdb

PUBLICATIONS_DDL = """
CREATE TABLE IF NOT EXISTS publications (
    dataset        VARCHAR   NOT NULL,
    encoder        VARCHAR   NOT NULL,
    table_name     VARCHAR   NOT NULL,
    table_version  BIGINT    NOT NULL,
    model_version  VARCHAR,
    action         VARCHAR   NOT NULL,  -- publish, hold, rollback or drop
    reason         VARCHAR   NOT NULL,
    run_id         VARCHAR,
    published_at   TIMESTAMP NOT NULL,
    newest_version BIGINT               -- the table's newest version when it was decided
)
"""
# Tables made by an earlier version lack the last column.
ADD_NEWEST = "ALTER TABLE publications ADD COLUMN IF NOT EXISTS newest_version BIGINT"
COLUMNS = (
    "dataset, encoder, table_name, table_version, model_version, action, reason, run_id, "
    "published_at, newest_version"
)
SINCE_DROP = """
    dataset = $dataset AND encoder = $encoder AND published_at >= coalesce((
        SELECT max(published_at) FROM publications
        WHERE dataset = $dataset AND encoder = $encoder AND action = 'drop'
    ), TIMESTAMP '1970-01-01')
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
    newest_version: int | None = None


def ensure_publications(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(PUBLICATIONS_DDL)
    connection.execute(ADD_NEWEST)


def record_publication(connection: duckdb.DuckDBPyConnection, publication: Publication) -> None:
    ensure_publications(connection)
    connection.execute(
        f"INSERT INTO publications ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        astuple(publication),
    )


def _since_drop(
    connection: duckdb.DuckDBPyConnection, dataset: str, encoder: str, columns: str, where: str
) -> list[tuple[object, ...]]:
    """``columns`` of the table's rows since its last drop that match ``where``, oldest
    first. Reads only, so it works on a read-only connection."""
    if not has_table(connection, "publications"):
        return []
    return connection.execute(
        f"SELECT {columns} FROM publications WHERE {SINCE_DROP} AND ({where}) "
        "ORDER BY published_at, rowid",
        {"dataset": dataset, "encoder": encoder},
    ).fetchall()


def published_versions(
    connection: duckdb.DuckDBPyConnection, dataset: str, encoder: str
) -> dict[int, str | None]:
    """``{table version: model version}`` of every version published since the table's
    last drop (whose checks passed)."""
    rows = _since_drop(
        connection, dataset, encoder, "table_version, model_version", "action = 'publish'"
    )
    return {int(str(version)): None if model is None else str(model) for version, model in rows}


def last_publication(
    connection: duckdb.DuckDBPyConnection, dataset: str, encoder: str
) -> tuple[int, str, str] | None:
    """``(table_version, action, reason)`` of the newest decision since the last drop."""
    rows = _since_drop(connection, dataset, encoder, "table_version, action, reason", "true")
    if not rows or rows[-1][1] == "drop":
        return None
    version, action, reason = rows[-1]
    return int(str(version)), str(action), str(reason)


def rolled_back_over(
    connection: duckdb.DuckDBPyConnection, dataset: str, encoder: str
) -> int | None:
    """The table's newest version when it was last rolled back, if no publication has
    followed: versions up to it stay unserved until a run writes a newer one."""
    rows = _since_drop(connection, dataset, encoder, "action, newest_version", "action <> 'hold'")
    if not rows or rows[-1][0] != "rollback":
        return None
    newest = rows[-1][1]
    return None if newest is None else int(str(newest))


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
