"""The DuckDB report tables: ``quality_metrics`` is an append-only history of metric values."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from datetime import datetime

import duckdb
import pandas as pd

QUALITY_METRICS_DDL = """
CREATE TABLE IF NOT EXISTS quality_metrics (
    dataset       VARCHAR   NOT NULL,
    encoder       VARCHAR   NOT NULL,
    model_version VARCHAR   NOT NULL,
    metric        VARCHAR   NOT NULL,
    value         DOUBLE    NOT NULL,
    run_id        VARCHAR   NOT NULL,
    computed_at   TIMESTAMP NOT NULL
)
"""


@dataclass(frozen=True)
class MetricValue:
    dataset: str
    encoder: str
    model_version: str
    metric: str
    value: float
    run_id: str
    computed_at: datetime


def ensure_report_tables(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(QUALITY_METRICS_DDL)


def append_metrics(connection: duckdb.DuckDBPyConnection, rows: Sequence[MetricValue]) -> int:
    """Append ``rows`` to ``quality_metrics`` in one transaction; refuse any non-finite value."""
    for row in rows:
        if not math.isfinite(row.value):
            raise ValueError(
                f"metric {row.metric!r} of {row.dataset}/{row.encoder} is {row.value}; "
                "nothing was written"
            )
    ensure_report_tables(connection)
    if not rows:
        return 0
    connection.execute("BEGIN TRANSACTION")
    try:
        connection.executemany(
            "INSERT INTO quality_metrics VALUES (?, ?, ?, ?, ?, ?, ?)",
            [astuple(row) for row in rows],
        )
        connection.execute("COMMIT")
    except Exception:
        connection.execute("ROLLBACK")
        raise
    return len(rows)


LATEST_METRICS_SQL = """
SELECT dataset, encoder, model_version, metric, value, run_id, computed_at
FROM quality_metrics
WHERE ($dataset IS NULL OR dataset = $dataset)
QUALIFY row_number() OVER (
    PARTITION BY dataset, encoder, metric ORDER BY computed_at DESC, run_id DESC
) = 1
ORDER BY dataset, encoder, metric
"""


def latest_metrics(
    connection: duckdb.DuckDBPyConnection, dataset: str | None = None
) -> pd.DataFrame:
    """The newest value of each metric per data set and encoder."""
    if not _has_table(connection, "quality_metrics"):
        return pd.DataFrame(columns=[f.name for f in fields(MetricValue)])
    return connection.execute(LATEST_METRICS_SQL, {"dataset": dataset}).df()


def _has_table(connection: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(found and found[0])
