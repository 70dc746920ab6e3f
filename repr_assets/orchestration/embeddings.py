"""The embeddings asset of one encoder: one step, or a graph of item shards.

With ``embed_shards`` above 1 the asset is a graph: a plan fixes the source version and
the model version, each shard step encodes its range of items into a staging table (the
multiprocess executor runs them at once), and one write step upserts them all in a single
commit. Either way the table holds the same rows (see ``repr_assets.pipeline.shards``).
"""

import warnings
from typing import Any

import dagster as dg

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.encoders.kind import EncoderKind
from repr_assets.names import FEATURES, embeddings_asset, embeddings_table, step_key
from repr_assets.orchestration import metadata
from repr_assets.orchestration.common import asset_fields, asset_key
from repr_assets.orchestration.pool import STORE_POOL
from repr_assets.orchestration.progress import row_logger
from repr_assets.orchestration.resources import LanceDBResource, ModelStoreResource
from repr_assets.orchestration.retry import IO_RETRY
from repr_assets.orchestration.versions import encoder_code_version
from repr_assets.pipeline.embed import (
    Embedded,
    EmbeddingPlan,
    ModelChangedError,
    embed,
    embed_one_shard,
    plan_embedding,
    write_embedding_shards,
)


def build_embeddings_asset(
    spec: DatasetSpec, kind: EncoderKind, model: dg.AssetsDefinition
) -> dg.AssetsDefinition:
    if spec.embed_shards > 1:
        return _sharded_embeddings_asset(spec, kind, model)
    return _embeddings_asset(spec, kind, model)


def _fields(spec: DatasetSpec, kind: EncoderKind, writes: bool) -> dict[str, Any]:
    how = (
        f"in {spec.embed_shards} item shards run at once, written in one commit"
        if spec.embed_shards > 1
        else "in batches"
    )
    return asset_fields(
        spec,
        embeddings_asset(kind.name),
        kinds={"lancedb"},
        code_version=encoder_code_version(spec, kind.name),
        description=(
            f"Every item encoded by the {kind.name} model, {how}, upserted into the LanceDB "
            f"table ``{embeddings_table(spec.name, kind.name)}`` with its model version and "
            "run id."
        ),
        writes=writes,
    )


def _embeddings_asset(
    spec: DatasetSpec, kind: EncoderKind, model: dg.AssetsDefinition
) -> dg.AssetsDefinition:
    @dg.asset(
        **_fields(spec, kind, writes=True),
        deps=[model, asset_key(spec, FEATURES)],
        retry_policy=IO_RETRY,
    )
    def embeddings(
        context: dg.AssetExecutionContext,
        lancedb: LanceDBResource,
        model_store: ModelStoreResource,
    ) -> dg.MaterializeResult:
        embedded = embed(
            spec,
            kind,
            lancedb.get_store(),
            model_store.get_store(),
            context.run_id,
            progress=row_logger(context, "encoded"),
        )
        _log(context, embedded)
        return dg.MaterializeResult(
            data_version=_data_version(embedded), metadata=metadata.embedded_metadata(embedded)
        )

    return embeddings


def _sharded_embeddings_asset(
    spec: DatasetSpec, kind: EncoderKind, model: dg.AssetsDefinition
) -> dg.AssetsDefinition:
    step = step_key(spec.name, embeddings_asset(kind.name))
    shards = range(spec.embed_shards)

    @dg.op(name=f"{step}_plan", ins={"model": dg.In(dg.Nothing), "features": dg.In(dg.Nothing)})
    def plan(
        context: dg.OpExecutionContext,
        lancedb: LanceDBResource,
        model_store: ModelStoreResource,
    ) -> EmbeddingPlan:
        """Fixes what every shard reads: the source version and the model version."""

        def finished(run: str) -> bool:
            other = context.instance.get_run_by_id(run)
            return other is not None and other.is_finished

        planned = plan_embedding(
            spec, kind, lancedb.get_store(), model_store.get_store(), context.run_id, finished
        )
        cut = planned.shards
        context.log.info(
            f"{cut.rows:,} items of {cut.source}@{cut.version} in {cut.shards} shards, "
            f"model {planned.model_version}"
        )
        return planned

    def shard_op(shard: int) -> dg.OpDefinition:
        @dg.op(name=f"{step}_shard_{shard}", retry_policy=IO_RETRY)
        def encode_shard(
            context: dg.OpExecutionContext,
            planned: EmbeddingPlan,
            lancedb: LanceDBResource,
            model_store: ModelStoreResource,
        ) -> None:
            store, models = lancedb.get_store(), model_store.get_store()
            progress = row_logger(context, f"shard {shard}: encoded")
            staged = embed_one_shard(
                spec, kind, planned, shard, store, models, context.run_id, progress
            )
            start, stop = planned.shards.bounds(shard)
            context.log.info(f"shard {shard} (items {start:,}-{stop:,}): {staged:,} rows staged")

        return encode_shard

    @dg.op(
        name=f"{step}_write",
        ins={"planned": dg.In(), **{f"shard_{k}": dg.In(dg.Nothing) for k in shards}},
        out=dg.Out(dg.Nothing),
        retry_policy=IO_RETRY,
        pool=STORE_POOL,
    )
    def write(
        context: dg.OpExecutionContext,
        planned: EmbeddingPlan,
        lancedb: LanceDBResource,
        model_store: ModelStoreResource,
    ) -> Any:
        try:
            embedded = write_embedding_shards(
                spec, kind, planned, lancedb.get_store(), model_store.get_store()
            )
        except ModelChangedError as error:
            raise dg.Failure(str(error)) from None
        _log(context, embedded)
        meta = {**metadata.embedded_metadata(embedded), "shards": spec.embed_shards}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.BetaWarning)  # Output's data_version
            yield dg.Output(None, data_version=_data_version(embedded), metadata=meta)

    @dg.graph_asset(
        **_fields(spec, kind, writes=False),
        ins={
            "model": dg.AssetIn(model.key, dagster_type=dg.Nothing),
            "features": dg.AssetIn(asset_key(spec, FEATURES), dagster_type=dg.Nothing),
        },
    )
    def embeddings(model: Any, features: Any) -> Any:
        planned = plan(model=model, features=features)
        staged = {f"shard_{k}": shard_op(k)(planned) for k in shards}
        return write(planned=planned, **staged)

    return embeddings


def _log(context: dg.OpExecutionContext | dg.AssetExecutionContext, embedded: Embedded) -> None:
    table, index = embedded.write.table, embedded.index
    context.log.info(f"wrote {embedded.write.rows_written} embeddings to {table}")
    context.log.info(f"vector index of {table}: {index.describe()}")


def _data_version(embedded: Embedded) -> dg.DataVersion:
    return dg.DataVersion(f"{embedded.model_version}@{embedded.write.version}")
