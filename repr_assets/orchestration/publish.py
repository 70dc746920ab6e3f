"""The ``served_embeddings`` asset: each encoder's table is served only once its checks pass."""

import json
from collections.abc import Sequence

import dagster as dg
import duckdb as duckdb_module
from dagster_duckdb import DuckDBResource

from repr_assets.datasets import DatasetSpec
from repr_assets.orchestration.pool import STORE_POOL
from repr_assets.orchestration.resources import LanceDBResource
from repr_assets.orchestration.retry import IO_RETRY
from repr_assets.orchestration.versions import report_code_version
from repr_assets.search.raw import table_model_version
from repr_assets.serving import SERVED_TAG, publish_if_passed
from repr_assets.stores.publications import Publication, now, record_publication
from repr_assets.tables import embeddings_table


def build_publish_asset(
    spec: DatasetSpec, encoders: Sequence[str], quality_report: dg.AssetsDefinition
) -> dg.AssetsDefinition:
    name = spec.name

    @dg.asset(
        key=dg.AssetKey([name, "served_embeddings"]),
        deps=[quality_report],
        group_name=name,
        kinds={"lancedb"},
        retry_policy=IO_RETRY,
        code_version=report_code_version(spec),
        owners=list(spec.owners),
        pool=STORE_POOL,
        description=(
            f"Moves the LanceDB tag ``{SERVED_TAG}`` of each embeddings table of {name} to "
            "its newest version when the quality checks of the model that wrote it pass; "
            "otherwise the tag, and so what `repr-assets search` and `sql` read, stays where "
            "it was. Every decision is recorded in the DuckDB table ``publications``; "
            "`repr-assets rollback` moves the tag back."
        ),
    )
    def served_embeddings(
        context: dg.AssetExecutionContext, lancedb: LanceDBResource, duckdb: DuckDBResource
    ) -> dg.MaterializeResult:
        store = lancedb.get_store()
        decisions = {}
        with duckdb.get_connection() as connection:
            for encoder in encoders:
                table = embeddings_table(name, encoder)
                model = table_model_version(store, table)
                metrics = _reported(connection, name, encoder, model)
                decision = publish_if_passed(store, table, metrics, spec.thresholds)
                action = "publish" if decision.published else "hold"
                record_publication(
                    connection,
                    Publication(
                        name,
                        encoder,
                        table,
                        decision.version,
                        model,
                        action,
                        decision.reason,
                        context.run_id,
                        now(),
                    ),
                )
                log = context.log.info if decision.published else context.log.warning
                served = decision.version if decision.published else decision.previous
                log(
                    f"{table}: {action} version {decision.version} ({decision.reason}); "
                    f"served: {served}"
                )
                decisions[encoder] = (decision, served)
        served_versions = {e: s for e, (_, s) in decisions.items()}
        return dg.MaterializeResult(
            data_version=dg.DataVersion(json.dumps(served_versions, sort_keys=True)),
            metadata={
                "served": dg.MetadataValue.md(
                    "| encoder | newest | served | decision |\n|---|---|---|---|\n"
                    + "\n".join(
                        f"| {e} | {d.version} | {s if s is not None else 'none'} | "
                        f"{'published' if d.published else 'held back'}: {d.reason} |"
                        for e, (d, s) in decisions.items()
                    )
                ),
                "held_back": [e for e, (d, _) in decisions.items() if not d.published],
            },
        )

    return served_embeddings


def _reported(
    connection: duckdb_module.DuckDBPyConnection, dataset: str, encoder: str, model: str
) -> dict[str, float] | None:
    """The newest value of each metric reported for this model version, if any."""
    found = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'quality_metrics'"
    ).fetchone()
    if not found or not found[0]:
        return None
    rows = connection.execute(
        "SELECT metric, arg_max(value, computed_at) FROM quality_metrics "
        "WHERE dataset = ? AND encoder = ? AND model_version = ? GROUP BY metric",
        [dataset, encoder, model],
    ).fetchall()
    return {metric: float(value) for metric, value in rows} or None
