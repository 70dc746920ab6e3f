"""Safe publish, as one step: each encoder's newest embeddings are served only when the
model that wrote them passed its checks in its quality report.

The decision reads the model version of the table's newest version (not of the version
served now), the newest report of that model, and the floors of the data set measured
against that report's baselines. A decision that moves the tag, or holds back a version
not held back before, is a row of the DuckDB table ``publications``; a run that changes
nothing adds none. After the decision old versions are removed, keeping the served one and
the last published ones (``repr_assets.pipeline.compact``); the embedding step compacted
the newest before it was reported on.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.names import embeddings_table
from repr_assets.pipeline import Connect
from repr_assets.pipeline.compact import retain_embeddings
from repr_assets.quality.thresholds import failed_checks, report_outcomes
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.publications import (
    Publication,
    last_publication,
    now,
    record_publication,
    rolled_back_over,
)
from repr_assets.stores.reports import latest_report_of_model, reported
from repr_assets.stores.retention import Retained
from repr_assets.stores.serving import PublishDecision, model_version_of, publish_if_passed


@dataclass(frozen=True)
class EncoderPublication:
    encoder: str
    model_version: str
    decision: PublishDecision
    retained: Retained


def failed_checks_of(
    connection: duckdb.DuckDBPyConnection, spec: DatasetSpec, encoder: str, model_version: str
) -> list[str] | None:
    """The checks that ``model_version`` of ``encoder`` failed in its newest report, judged
    by the floors of ``spec`` against that report's baselines; ``None`` when no report
    scored that model yet."""
    run_id = latest_report_of_model(connection, spec.name, encoder, model_version)
    if run_id is None:
        return None
    values = reported(connection, spec.name, run_id).values
    return failed_checks(report_outcomes(values, spec.thresholds, encoder))


def publish_encoders(
    spec: DatasetSpec, store: LanceStore, connect: Connect, run_id: str
) -> list[EncoderPublication]:
    """Decide, and record, the publication of every encoder's table of ``spec``; the
    reports are held while the decisions are made, so that they are made on one state."""
    with connect() as connection:
        return [_publish(spec, store, connection, run_id, encoder) for encoder in spec.encoders]


def _publish(
    spec: DatasetSpec,
    store: LanceStore,
    connection: duckdb.DuckDBPyConnection,
    run_id: str,
    encoder: str,
) -> EncoderPublication:
    """The decision for ``encoder``'s table, recorded unless it repeats the last one.

    It is made under the table's write lock, so that two publishers at once (two runs, two
    machines sharing the home) decide one after the other: the second finds the tag
    already moved and the decision recorded, and records nothing."""
    table = embeddings_table(spec.name, encoder)
    with store.writing(table):
        return _publish_locked(spec, store, connection, run_id, encoder, table)


def _publish_locked(
    spec: DatasetSpec,
    store: LanceStore,
    connection: duckdb.DuckDBPyConnection,
    run_id: str,
    encoder: str,
    table: str,
) -> EncoderPublication:
    model = model_version_of(store, table)  # the newest version's model
    failed = failed_checks_of(connection, spec, encoder, model)
    held_over = rolled_back_over(connection, spec.name, encoder)
    decision = publish_if_passed(store, table, failed, held_over)
    action = "publish" if decision.published else "hold"
    last = last_publication(connection, spec.name, encoder)
    if last is None or last[:2] != (decision.version, action):
        record_publication(
            connection,
            Publication(
                spec.name,
                encoder,
                table,
                decision.version,
                model,
                action,
                decision.reason,
                run_id,
                now(),
                newest_version=decision.version,
            ),
        )
    retained = retain_embeddings(
        store, connection, spec.name, encoder, spec.keep_published, spec.retention_grace
    )
    return EncoderPublication(encoder, model, decision, retained)
