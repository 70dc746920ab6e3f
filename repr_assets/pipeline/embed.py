"""Embedding, as one step: every item without a vector of the current model, encoded in
batches and upserted into ``{dataset}_{encoder}`` (each row with the model version and
run that wrote it), whose vector index is then kept current; or, for large data sets, in
item shards that run at once and one write.

Either way the table holds the same rows (see ``repr_assets.pipeline.shards``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.encoders.kind import RAW_INPUTS, Encoder, EncoderKind
from repr_assets.encoders.registry import load_encoder
from repr_assets.items.schemas import vector_schema, vectors_of
from repr_assets.names import embeddings_table, features_table, items_table
from repr_assets.pipeline import Progress
from repr_assets.pipeline.shards import (
    ShardPlan,
    compute_shard,
    drop_staging,
    plan_shards,
    staging_runs,
    write_shards,
)
from repr_assets.pipeline.vectorise import Compute, write_vectors
from repr_assets.search import DEFAULT_INDEX_SETTINGS, IndexReport, ensure_vector_index
from repr_assets.stores.lance import LanceStore, WriteResult
from repr_assets.stores.models import ModelStore

PREVIEW_COLUMNS = ["item_id", "label", "vector", "model_version"]
PROVENANCE_FIELDS = [pa.field("model_version", pa.string()), pa.field("run_id", pa.string())]


def embedding_schema(dim: int) -> pa.Schema:
    return vector_schema(dim, PROVENANCE_FIELDS)


@dataclass(frozen=True)
class Encoding:
    """What an embedding writes: ``dataset``'s items encoded by ``encoder`` (saved as
    ``model_version``) in run ``run_id``, from its features or, when it ``reads``
    ``"text"`` or ``"image"``, from that column of the items table."""

    dataset: str
    encoder_name: str
    encoder: Encoder
    model_version: str
    run_id: str
    reads: str = "features"

    @property
    def source(self) -> str:
        return encoded_table(self.dataset, self.reads)

    @property
    def table(self) -> str:
        return embeddings_table(self.dataset, self.encoder_name)

    @property
    def provenance(self) -> dict[str, str]:
        """The columns every row carries: the model version and the run that wrote it."""
        return {"model_version": self.model_version, "run_id": self.run_id}

    def compute(self) -> Compute:
        encoder = self.encoder
        if self.reads in RAW_INPUTS:
            column = self.reads
            return lambda batch: np.asarray(encoder.transform(batch.column(column).to_pylist()))
        return lambda batch: np.asarray(encoder.transform(vectors_of(batch.column("vector"))))


def embed_items(
    store: LanceStore,
    encoding: Encoding,
    batch_size: int = 8192,
    progress: Progress | None = None,
) -> WriteResult:
    """Encode the source table batch by batch and upsert into ``{dataset}_{encoder}``.
    Rows already encoded by this model version are left as they are, so new items are
    added without touching the rest, and a new model version rewrites them all."""
    return write_vectors(
        store,
        encoding.source,
        encoding.table,
        encoding.encoder.latent_dim,
        encoding.compute(),
        constants=encoding.provenance,
        batch_size=batch_size,
        progress=progress,
        current_by="model_version",
    )


def embed_shard(
    store: LanceStore,
    plan: ShardPlan,
    shard: int,
    encoding: Encoding,
    batch_size: int = 8192,
    progress: Progress | None = None,
) -> int:
    """``embed_items`` for one shard of ``plan``: its rows are staged, not yet written."""
    return compute_shard(
        store,
        plan,
        shard,
        encoding.table,
        encoding.encoder.latent_dim,
        encoding.compute(),
        encoding.provenance,
        current_by="model_version",
        batch_size=batch_size,
        progress=progress,
    )


def encoded_table(dataset: str, reads: str) -> str:
    """The table an encoder reads: the items' raw text or images, or their features."""
    return items_table(dataset) if reads in RAW_INPUTS else features_table(dataset)


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
    encoding = Encoding(spec.name, kind.name, encoder, saved.version, run_id, kind.reads)
    written = embed_items(store, encoding, progress=progress)
    return _indexed(spec, store, written, saved.version, encoder.latent_dim)


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
    encoding = Encoding(spec.name, kind.name, encoder, saved.version, run_id, kind.reads)
    return embed_shard(store, plan.shards, shard, encoding, progress=progress)


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
    latent_dim = store.dataset(table).schema.field("vector").type.list_size
    return _indexed(spec, store, written, latest, latent_dim)


def _indexed(
    spec: DatasetSpec, store: LanceStore, written: WriteResult, version: str, latent_dim: int
) -> Embedded:
    """The write, once the table's vector index is current and tuned to the data set's
    target recall."""
    settings = dataclasses.replace(DEFAULT_INDEX_SETTINGS, target_recall=spec.ann_target_recall)
    index = ensure_vector_index(store, written.table, settings)
    preview = store.head(written.table, 5, columns=PREVIEW_COLUMNS)
    return Embedded(written, version, latent_dim, index, preview)
