"""Embedding, as one step: every item without a vector of the current model, encoded in
batches and upserted into ``{dataset}_{encoder}``, whose vector index is then kept
current; or, for large data sets, in item shards that run at once and one write.

Either way the table holds the same rows (see ``repr_assets.shards``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from repr_assets.datasets import DatasetSpec
from repr_assets.embed import embed_items, embed_shard, encoded_table
from repr_assets.encoders.kind import EncoderKind
from repr_assets.encoders.registry import load_encoder
from repr_assets.names import embeddings_table
from repr_assets.search import IndexReport, ensure_vector_index
from repr_assets.shards import ShardPlan, drop_staging, plan_shards, staging_runs, write_shards
from repr_assets.stores.lance import LanceStore, WriteResult
from repr_assets.stores.models import ModelStore
from repr_assets.vectorise import Progress

PREVIEW_COLUMNS = ["item_id", "label", "vector", "model_version"]


@dataclass(frozen=True)
class Embedded:
    """What an embedding step wrote: the write, the model, the index, a preview."""

    write: WriteResult
    model_version: str
    latent_dim: int
    index: IndexReport
    preview: pa.Table


class ModelChangedError(RuntimeError):
    """Another run refitted the model between a sharded run's plan and its write."""


def embed(
    spec: DatasetSpec,
    kind: EncoderKind,
    store: LanceStore,
    models: ModelStore,
    run_id: str,
    progress: Progress | None = None,
) -> Embedded:
    """Encode every item without a vector of the latest ``kind`` model, in one commit."""
    encoder, saved = load_encoder(models, spec.name, kind.name)
    written = embed_items(
        store,
        spec.name,
        kind.name,
        encoder,
        saved.version,
        run_id,
        progress=progress,
        reads=kind.reads,
    )
    return _indexed(store, written, saved.version, encoder.latent_dim)


@dataclass(frozen=True)
class EmbeddingPlan:
    """What every shard of one run reads: a cut of the source and one model version."""

    shards: ShardPlan
    model_version: str


def plan_embedding(
    spec: DatasetSpec,
    kind: EncoderKind,
    store: LanceStore,
    models: ModelStore,
    run_id: str,
    finished: Callable[[str], bool],
) -> EmbeddingPlan:
    """Fix the source version and the model version for ``spec.embed_shards`` shards,
    once the staging tables of runs that are over (``finished``) are dropped."""
    table = embeddings_table(spec.name, kind.name)
    for run in staging_runs(store, table) - {run_id}:
        if finished(run):  # a failed run's leftovers
            drop_staging(store, table, run)
    cut = plan_shards(store, encoded_table(spec.name, kind.reads), spec.embed_shards, run_id)
    return EmbeddingPlan(cut, models.record(spec.name, kind.name).version)


def embed_one_shard(
    spec: DatasetSpec,
    kind: EncoderKind,
    plan: EmbeddingPlan,
    shard: int,
    store: LanceStore,
    models: ModelStore,
    run_id: str,
    progress: Progress | None = None,
) -> int:
    """Encode shard ``shard`` of ``plan`` into its staging table; the rows staged."""
    encoder, saved = load_encoder(models, spec.name, kind.name, plan.model_version)
    return embed_shard(
        store,
        plan.shards,
        shard,
        spec.name,
        kind.name,
        encoder,
        saved.version,
        run_id,
        progress=progress,
        reads=kind.reads,
    )


def write_embedding_shards(
    spec: DatasetSpec, kind: EncoderKind, plan: EmbeddingPlan, store: LanceStore, models: ModelStore
) -> Embedded:
    """Upsert every shard of ``plan`` in one commit, unless the model changed since the
    plan (``ModelChangedError``: nothing is written). Called under the store pool's slot,
    so that no other run can refit in between."""
    latest = models.latest_version(spec.name, kind.name)
    if latest != plan.model_version:
        raise ModelChangedError(
            f"{kind.name} was refit ({latest}) by another run after this run's plan "
            f"({plan.model_version}); nothing was written: run it again"
        )
    table = embeddings_table(spec.name, kind.name)
    written = write_shards(store, plan.shards, table)
    latent_dim = store.open(table).schema.field("vector").type.list_size
    return _indexed(store, written, latest, latent_dim)


def _indexed(store: LanceStore, written: WriteResult, version: str, latent_dim: int) -> Embedded:
    """The write, once the table's vector index is current."""
    index = ensure_vector_index(store, written.table)
    preview = store.head(written.table, 5, columns=PREVIEW_COLUMNS)
    return Embedded(written, version, latent_dim, index, preview)
