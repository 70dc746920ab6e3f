"""The DuckDB table ``models``: one row per fitted model version, with what made it."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from repr_assets.stores.publications import now

MODELS_DDL = """
CREATE TABLE IF NOT EXISTS models (
    dataset        VARCHAR   NOT NULL,
    encoder        VARCHAR   NOT NULL,
    model_version  VARCHAR   NOT NULL,
    parameters     JSON      NOT NULL,
    fitted_at      TIMESTAMP NOT NULL,
    items          BIGINT    NOT NULL,
    run_id         VARCHAR   NOT NULL,
    PRIMARY KEY (dataset, encoder, model_version)
)
"""


def record_model(
    connection: duckdb.DuckDBPyConnection,
    dataset: str,
    encoder: str,
    model_version: str,
    parameters: dict[str, Any],
    items: int,
    run_id: str,
) -> None:
    """Add a fitted model; fitting the same version again updates its time, items and run."""
    connection.execute(MODELS_DDL)
    connection.execute(
        "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
        "fitted_at = excluded.fitted_at, items = excluded.items, run_id = excluded.run_id",
        [dataset, encoder, model_version, json.dumps(parameters), now(), items, run_id],
    )
