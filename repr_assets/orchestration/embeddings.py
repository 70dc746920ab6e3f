"""The embeddings asset of one encoder: one step, or a graph of item shards.

With ``embed_shards`` above 1 the asset is a graph: a plan fixes the source version and
the model version, each shard step encodes its range of items into a staging table (the
multiprocess executor runs them at once), and one write step upserts them all in a single
commit. Either way the table holds the same rows (see ``repr_assets.shards``).
"""

import warnings
from typing import Any

import dagster as dg

from repr_assets.datasets import DatasetSpec
from repr_assets.embed import embed_items, embed_shard, encoded_table
from repr_assets.encoders.registry import EncoderKind
from repr_assets.orchestration import metadata
from repr_assets.orchestration.pool import STORE_POOL
from repr_assets.orchestration.progress import row_logger
from repr_assets.orchestration.resources import LanceDBResource, ModelStoreResource
from repr_assets.orchestration.retry import IO_RETRY
from repr_assets.orchestration.versions import encoder_code_version
from repr_assets.search import ensure_vector_index
from repr_assets.shards import ShardPlan, drop_staging, plan_shards, staging_runs, write_shards
from repr_assets.stores.lance import LanceStore, WriteResult
from repr_assets.tables import embeddings_table


def build_embeddings_asset(
    spec: DatasetSpec, kind: EncoderKind, model: dg.AssetsDefinition
) -> dg.AssetsDefinition:
    if spec.embed_shards > 1:
        return _sharded_embeddings_asset(spec, kind, model)
    return _embeddings_asset(spec, kind, model)


def _asset_fields(spec: DatasetSpec, kind: EncoderKind) -> dict[str, Any]:
    table = embeddings_table(spec.name, kind.name)
    how = (
        f"in {spec.embed_shards} item shards run at once, written in one commit"
        if spec.embed_shards > 1
        else "in batches"
    )
    return {
        "key": dg.AssetKey([spec.name, f"{kind.name}_embeddings"]),
        "code_version": encoder_code_version(spec, kind.name),
        "group_name": spec.name,
        "kinds": {"lancedb"},
        "owners": list(spec.owners),
        "description": (
            f"Every item encoded by the {kind.name} model, {how}, upserted into the LanceDB "
            f"table ``{table}`` with its model version and run id."
        ),
    }


def _embeddings_asset(
    spec: DatasetSpec, kind: EncoderKind, model: dg.AssetsDefinition
) -> dg.AssetsDefinition:
    name, encoder_name = spec.name, kind.name

    @dg.asset(
        **_asset_fields(spec, kind),
        deps=[model, dg.AssetKey([name, "features"])],
        retry_policy=IO_RETRY,
        pool=STORE_POOL,
    )
    def embeddings(
        context: dg.AssetExecutionContext,
        lancedb: LanceDBResource,
        model_store: ModelStoreResource,
    ) -> dg.MaterializeResult:
        store = lancedb.get_store()
        encoder, saved = model_store.get_store().load(name, encoder_name)
        written = embed_items(
            store,
            name,
            encoder_name,
            encoder,
            saved.version,
            context.run_id,
            progress=row_logger(context, "encoded"),
            reads=kind.reads,
        )
        version, meta = _written(context, store, written, saved.version, encoder.latent_dim)
        return dg.MaterializeResult(data_version=version, metadata=meta)

    return embeddings


def _sharded_embeddings_asset(
    spec: DatasetSpec, kind: EncoderKind, model: dg.AssetsDefinition
) -> dg.AssetsDefinition:
    name, encoder_name, shards = spec.name, kind.name, spec.embed_shards
    table = embeddings_table(name, encoder_name)
    step = f"{name}__{encoder_name}_embeddings"

    @dg.op(name=f"{step}_plan", ins={"model": dg.In(dg.Nothing), "features": dg.In(dg.Nothing)})
    def plan(
        context: dg.OpExecutionContext,
        lancedb: LanceDBResource,
        model_store: ModelStoreResource,
    ) -> dict[str, Any]:
        """Fixes what every shard reads: the source version and the model version."""
        store = lancedb.get_store()
        for run in staging_runs(store, table) - {context.run_id}:
            other = context.instance.get_run_by_id(run)
            if other is not None and other.is_finished:  # a failed run's leftovers
                drop_staging(store, table, run)
        cut = plan_shards(store, encoded_table(name, kind.reads), shards, context.run_id)
        saved = model_store.get_store().record(name, encoder_name)
        context.log.info(
            f"{cut.rows:,} items of {cut.source}@{cut.version} in {shards} shards, "
            f"model {saved.version}"
        )
        return {"plan": cut, "model_version": saved.version}

    def shard_op(shard: int) -> dg.OpDefinition:
        @dg.op(name=f"{step}_shard_{shard}", retry_policy=IO_RETRY)
        def encode_shard(
            context: dg.OpExecutionContext,
            planned: dict[str, Any],
            lancedb: LanceDBResource,
            model_store: ModelStoreResource,
        ) -> None:
            cut: ShardPlan = planned["plan"]
            encoder, saved = model_store.get_store().load(
                name, encoder_name, planned["model_version"]
            )
            start, stop = cut.bounds(shard)
            staged = embed_shard(
                lancedb.get_store(),
                cut,
                shard,
                name,
                encoder_name,
                encoder,
                saved.version,
                context.run_id,
                progress=row_logger(context, f"shard {shard}: encoded"),
                reads=kind.reads,
            )
            context.log.info(f"shard {shard} (items {start:,}-{stop:,}): {staged:,} rows staged")

        return encode_shard

    @dg.op(
        name=f"{step}_write",
        ins={"planned": dg.In(), **{f"shard_{k}": dg.In(dg.Nothing) for k in range(shards)}},
        out=dg.Out(dg.Nothing),
        retry_policy=IO_RETRY,
        pool=STORE_POOL,
    )
    def write(
        context: dg.OpExecutionContext,
        planned: dict[str, Any],
        lancedb: LanceDBResource,
        model_store: ModelStoreResource,
    ) -> Any:
        cut: ShardPlan = planned["plan"]
        models = model_store.get_store()
        latest = models.latest_version(name, encoder_name)
        if latest != planned["model_version"]:
            # Checked under the pool's slot: no other run can refit in between.
            raise dg.Failure(
                f"{encoder_name} was refit ({latest}) by another run after this run's plan "
                f"({planned['model_version']}); nothing was written: run it again"
            )
        store = lancedb.get_store()
        written = write_shards(store, cut, table)
        latent_dim = store.open(table).schema.field("vector").type.list_size
        version, meta = _written(context, store, written, latest, latent_dim)
        meta["shards"] = shards
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.BetaWarning)  # Output's data_version
            yield dg.Output(None, data_version=version, metadata=meta)

    @dg.graph_asset(
        **_asset_fields(spec, kind),
        ins={
            "model": dg.AssetIn(model.key, dagster_type=dg.Nothing),
            "features": dg.AssetIn(dg.AssetKey([name, "features"]), dagster_type=dg.Nothing),
        },
    )
    def embeddings(model: Any, features: Any) -> Any:
        planned = plan(model=model, features=features)
        staged = {f"shard_{k}": shard_op(k)(planned) for k in range(shards)}
        return write(planned=planned, **staged)

    return embeddings


def _written(
    context: dg.OpExecutionContext | dg.AssetExecutionContext,
    store: LanceStore,
    written: WriteResult,
    model_version: str,
    latent_dim: int,
) -> tuple[dg.DataVersion, dict[str, Any]]:
    """Index the table as it now stands; the data version and metadata of the write."""
    table = written.table
    context.log.info(f"wrote {written.rows_written} embeddings to {table}")
    index = ensure_vector_index(store, table)
    context.log.info(f"vector index of {table}: {index.action} ({index.reason})")
    preview = store.head(table, 5, columns=["item_id", "label", "vector", "model_version"])
    return dg.DataVersion(f"{model_version}@{written.version}"), {
        "table": table,
        "dagster/row_count": written.total_rows,
        "dimensions": latent_dim,
        "model_version": model_version,
        "lance_version": written.version,
        "vector_index": f"{index.action}: {index.reason}",
        "preview": metadata.preview(preview),
    }
