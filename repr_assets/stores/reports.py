"""The DuckDB report tables: ``quality_metrics`` is an append-only history of metric values."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from repr_assets.stores.duckdb_file import has_table

if TYPE_CHECKING:
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


# The newest value of each metric per model version: a version reported by several runs
# counts once, with its latest value.
QUALITY_BY_VERSION_VIEW = """
CREATE OR REPLACE VIEW quality_by_version AS
SELECT dataset, encoder, model_version, metric,
       arg_max(value, computed_at) AS value,
       arg_max(run_id, computed_at) AS run_id,
       max(computed_at) AS computed_at
FROM quality_metrics
GROUP BY dataset, encoder, model_version, metric
"""

LATEST_QUALITY_VIEW = """
CREATE OR REPLACE VIEW latest_quality AS
SELECT dataset, encoder, model_version, metric, value, run_id, computed_at
FROM quality_metrics
QUALIFY row_number() OVER (
    PARTITION BY dataset, encoder, metric ORDER BY computed_at DESC, run_id DESC
) = 1
"""

# The metrics of each encoder's latest model version, next to those of the version
# before it. Versions are ordered by when they were last reported, so a metric the latest
# version no longer reports is not shown with an older version's value.
QUALITY_CHANGES_VIEW = """
CREATE OR REPLACE VIEW quality_changes AS
WITH versions AS (
    SELECT dataset, encoder, model_version,
           row_number() OVER (
               PARTITION BY dataset, encoder ORDER BY max(computed_at) DESC, model_version
           ) AS recency
    FROM quality_metrics
    GROUP BY dataset, encoder, model_version
),
ranked AS (
    SELECT q.*, v.recency
    FROM quality_by_version AS q JOIN versions AS v USING (dataset, encoder, model_version)
    WHERE v.recency <= 2
)
SELECT current.dataset, current.encoder, current.metric,
       current.model_version, current.value,
       previous.model_version AS previous_model_version,
       previous.value AS previous_value,
       current.value - previous.value AS delta,
       current.run_id, current.computed_at
FROM ranked AS current
LEFT JOIN ranked AS previous
    ON previous.dataset = current.dataset AND previous.encoder = current.encoder
   AND previous.metric = current.metric AND previous.recency = 2
WHERE current.recency = 1
"""

# SELECT * FROM compare_model_versions('digits', 'pca', 'old', 'new')
COMPARE_MACRO = """
CREATE OR REPLACE MACRO compare_model_versions(ds, enc, old_version, new_version) AS TABLE
SELECT coalesce(new.metric, old.metric) AS metric,
       old.value AS old_value, new.value AS new_value, new.value - old.value AS delta
FROM (SELECT * FROM quality_by_version
      WHERE dataset = ds AND encoder = enc AND model_version = old_version) AS old
FULL OUTER JOIN (SELECT * FROM quality_by_version
      WHERE dataset = ds AND encoder = enc AND model_version = new_version) AS new
    ON new.metric = old.metric
ORDER BY metric
"""


def ensure_report_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create ``quality_metrics`` and the views over it (``latest_quality``,
    ``quality_by_version``, ``quality_changes``) and the ``compare_model_versions`` macro."""
    connection.execute(QUALITY_METRICS_DDL)
    connection.execute(REPORT_RUNS_DDL)
    for statement in (QUALITY_BY_VERSION_VIEW, LATEST_QUALITY_VIEW, QUALITY_CHANGES_VIEW):
        connection.execute(statement)
    connection.execute(COMPARE_MACRO)


def append_metrics(connection: duckdb.DuckDBPyConnection, rows: Sequence[MetricValue]) -> int:
    """Append ``rows`` to ``quality_metrics`` in one transaction; refuse any non-finite value."""
    return _insert(connection, rows, None)


def _check_finite(rows: Sequence[MetricValue]) -> None:
    for row in rows:
        if not math.isfinite(row.value):
            raise ValueError(
                f"metric {row.metric!r} of {row.dataset}/{row.encoder} is {row.value}; "
                "nothing was written"
            )


@dataclass(frozen=True)
class MetricChange:
    """A row of the view ``quality_changes``: the newest value of one metric of one encoder,
    and the change since that encoder's previous model version (``None`` when there was
    none)."""

    dataset: str
    encoder: str
    metric: str
    model_version: str
    value: float
    previous_model_version: str | None
    previous_value: float | None
    delta: float | None
    run_id: str
    computed_at: datetime


QUALITY_CHANGES_COLUMNS = tuple(MetricChange.__dataclass_fields__)


def latest_metrics(
    connection: duckdb.DuckDBPyConnection, dataset: str | None = None
) -> list[MetricChange]:
    """The newest value of each metric per data set and encoder, with the change since the
    encoder's previous model version, sorted by data set, encoder and metric.

    Plain records, not a data frame: ``repr-assets report`` prints them, and pandas alone
    would take longer to import than the report takes to read."""
    import duckdb

    try:
        rows = connection.execute(
            f"SELECT {', '.join(QUALITY_CHANGES_COLUMNS)} FROM quality_changes "
            "WHERE $dataset IS NULL OR dataset = $dataset ORDER BY dataset, encoder, metric",
            {"dataset": dataset},
        ).fetchall()
    except duckdb.CatalogException:  # a file no report has written to yet
        return []
    return [MetricChange(*row) for row in rows]


def compare_model_versions(
    connection: duckdb.DuckDBPyConnection, dataset: str, encoder: str, old: str, new: str
) -> pd.DataFrame:
    """Metric by metric: ``old_value``, ``new_value`` and ``delta`` of two model versions."""
    return connection.execute(
        "SELECT * FROM compare_model_versions(?, ?, ?, ?)", [dataset, encoder, old, new]
    ).df()


REPORT_RUNS_DDL = """
CREATE TABLE IF NOT EXISTS report_runs (
    dataset      VARCHAR   NOT NULL,
    report_key   VARCHAR   NOT NULL,  -- what the report read: tables, models, settings
    run_id       VARCHAR   NOT NULL,
    computed_at  TIMESTAMP NOT NULL
)
"""


@dataclass(frozen=True)
class ReportRun:
    dataset: str
    report_key: str
    run_id: str
    computed_at: datetime


def record_report(
    connection: duckdb.DuckDBPyConnection, run: ReportRun, rows: Sequence[MetricValue]
) -> int:
    """Append a report's metric ``rows`` and its ``report_runs`` row in one transaction."""
    return _insert(connection, rows, run)


def _insert(
    connection: duckdb.DuckDBPyConnection, rows: Sequence[MetricValue], run: ReportRun | None
) -> int:
    """``rows`` (and ``run``'s row) in one transaction, once every value is known finite."""
    _check_finite(rows)
    ensure_report_tables(connection)
    if not rows and run is None:
        return 0
    connection.execute("BEGIN TRANSACTION")
    try:
        if rows:
            connection.executemany(
                "INSERT INTO quality_metrics VALUES (?, ?, ?, ?, ?, ?, ?)",
                [astuple(row) for row in rows],
            )
        if run is not None:
            connection.execute("INSERT INTO report_runs VALUES (?, ?, ?, ?)", astuple(run))
        connection.execute("COMMIT")
    except Exception:
        connection.execute("ROLLBACK")
        raise
    return len(rows)


def last_report(connection: duckdb.DuckDBPyConnection, dataset: str) -> ReportRun | None:
    """The newest report computed for ``dataset``, if any."""
    if not has_table(connection, "report_runs"):
        return None
    row = connection.execute(
        "SELECT * FROM report_runs WHERE dataset = ? ORDER BY computed_at DESC LIMIT 1",
        [dataset],
    ).fetchone()
    return None if row is None else ReportRun(*row)


@dataclass(frozen=True)
class StoredReport:
    """What one report wrote: ``values[encoder][metric]`` and each encoder's model version."""

    values: dict[str, dict[str, float]]
    versions: dict[str, str]


def reported(connection: duckdb.DuckDBPyConnection, dataset: str, run_id: str) -> StoredReport:
    """The report of ``run_id`` as it wrote it."""
    rows = connection.execute(
        "SELECT encoder, model_version, metric, value FROM quality_metrics "
        "WHERE dataset = ? AND run_id = ? ORDER BY encoder, metric",
        [dataset, run_id],
    ).fetchall()
    values: dict[str, dict[str, float]] = {}
    versions: dict[str, str] = {}
    for encoder, version, metric, value in rows:
        values.setdefault(encoder, {})[metric] = float(value)
        versions[encoder] = str(version)
    return StoredReport(values, versions)


def latest_report_of_model(
    connection: duckdb.DuckDBPyConnection, dataset: str, encoder: str, model_version: str
) -> str | None:
    """The run id of the newest report that scored ``model_version`` of ``encoder``."""
    if not has_table(connection, "quality_metrics"):
        return None
    row = connection.execute(
        "SELECT arg_max(run_id, computed_at) FROM quality_metrics "
        "WHERE dataset = ? AND encoder = ? AND model_version = ?",
        [dataset, encoder, model_version],
    ).fetchone()
    return None if row is None or row[0] is None else str(row[0])
