"""The ``served_embeddings`` asset: each encoder's table is served only once its checks pass."""

import json
from collections.abc import Sequence

import dagster as dg
from dagster_duckdb import DuckDBResource

from repr_assets.datasets import DatasetSpec
from repr_assets.orchestration import metadata
from repr_assets.orchestration.pool import STORE_POOL
from repr_assets.orchestration.resources import LanceDBResource
from repr_assets.orchestration.retry import IO_RETRY
from repr_assets.orchestration.versions import report_code_version
from repr_assets.pipeline.publish import publish_encoders
from repr_assets.serving import SERVED_TAG


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
        with duckdb.get_connection() as connection:
            published = publish_encoders(spec, lancedb.get_store(), connection, context.run_id)
        for item in published:
            d = item.decision
            log = context.log.info if d.published else context.log.warning
            served = "never published" if d.served is None else f"served: {d.served}"
            action = "publish" if d.published else "hold"
            log(f"{d.table}: {action} version {d.version} ({d.reason}); {served}")
        return dg.MaterializeResult(
            data_version=dg.DataVersion(
                json.dumps({p.encoder: p.decision.served for p in published}, sort_keys=True)
            ),
            metadata={
                "served": dg.MetadataValue.md(
                    "| encoder | model | newest | served | decision |\n|---|---|---|---|---|\n"
                    + "\n".join(
                        f"| {p.encoder} | {p.model_version} | {p.decision.version} | "
                        f"{'none' if p.decision.served is None else p.decision.served} | "
                        f"{'published' if p.decision.published else 'held back'}: "
                        f"{p.decision.reason} |"
                        for p in published
                    )
                ),
                metadata.HELD_BACK: [p.encoder for p in published if not p.decision.published],
                metadata.NEVER_SERVED: [p.encoder for p in published if p.decision.served is None],
            },
        )

    return served_embeddings
