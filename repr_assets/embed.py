"""Embed: encode every item's features in batches into ``{dataset}_{encoder}``."""

from __future__ import annotations

import pyarrow as pa

from repr_assets.encoders import Encoder
from repr_assets.items import vector_schema, vectors_of
from repr_assets.stores.lance import LanceStore, WriteResult
from repr_assets.tables import embeddings_table, features_table
from repr_assets.vectorise import Progress, write_vectors

PROVENANCE_FIELDS = [pa.field("model_version", pa.string()), pa.field("run_id", pa.string())]


def embedding_schema(dim: int) -> pa.Schema:
    return vector_schema(dim, PROVENANCE_FIELDS)


def embed_items(
    store: LanceStore,
    dataset: str,
    encoder_name: str,
    encoder: Encoder,
    model_version: str,
    run_id: str,
    batch_size: int = 8192,
    progress: Progress | None = None,
) -> WriteResult:
    """Encode ``{dataset}_features`` batch by batch and upsert into ``{dataset}_{encoder_name}``,
    each row carrying the model version and the run that wrote it. Rows already encoded
    by this model version are left as they are, so new items are added without touching
    the rest, and a new model version rewrites them all."""
    return write_vectors(
        store,
        features_table(dataset),
        embeddings_table(dataset, encoder_name),
        encoder.latent_dim,
        lambda batch: encoder.transform(vectors_of(batch.column("vector"))),
        constants={"model_version": model_version, "run_id": run_id},
        batch_size=batch_size,
        progress=progress,
        current_by="model_version",
    )
