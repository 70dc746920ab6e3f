"""The ``served_embeddings`` asset: each encoder's table is served only once its checks pass."""

import json
from collections.abc import Sequence

import dagster as dg
from dagster_duckdb import DuckDBResource

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.names import SERVED_EMBEDDINGS
from repr_assets.orchestration import metadata
from repr_assets.orchestration.common import asset_fields
from repr_assets.orchestration.resources import LanceDBResource
from repr_assets.orchestration.retry import IO_RETRY
from repr_assets.orchestration.versions import report_code_version
from repr_assets.pipeline.publish import publish_encoders
from repr_assets.stores.serving import SERVED_TAG


def build_publish_asset(
    spec: DatasetSpec, encoders: Sequence[str], quality_report: dg.AssetsDefinition
) -> dg.AssetsDefinition:
    @dg.asset(
        **asset_fields(
            spec,
            SERVED_EMBEDDINGS,
            kinds={"lancedb"},
            code_version=report_code_version(spec),
            description=(
                f"Moves the LanceDB tag ``{SERVED_TAG}`` of each embeddings table of "
                f"{spec.name} to its newest version when the quality checks of the model "
                "that wrote it pass; otherwise the tag, and so what `repr-assets search` and "
                "`sql` read, stays where it was. Every decision is recorded in the DuckDB "
                "table ``publications``; `repr-assets rollback` moves the tag back."
            ),
        ),
        deps=[quality_report],
        retry_policy=IO_RETRY,
    )
    def served_embeddings(
        context: dg.AssetExecutionContext, lancedb: LanceDBResource, duckdb: DuckDBResource
    ) -> dg.MaterializeResult:
        published = publish_encoders(
            spec, lancedb.get_store(), duckdb.get_connection, context.run_id
        )
        for item in published:
            d = item.decision
            log = context.log.info if d.published else context.log.warning
            served = "never published" if d.served is None else f"served: {d.served}"
            action = "publish" if d.published else "hold"
            log(f"{d.table}: {action} version {d.version} ({d.reason}); {served}")
        served_versions = {p.encoder: p.decision.served for p in published}
        return dg.MaterializeResult(
            data_version=dg.DataVersion(json.dumps(served_versions, sort_keys=True)),
            metadata=metadata.publish_metadata(published),
        )

    return served_embeddings
