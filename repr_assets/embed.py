"""Embed: encode every item's features in batches into ``{dataset}_{encoder}``."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from repr_assets.encoders.kind import Encoder
from repr_assets.items import vector_schema, vectors_of
from repr_assets.names import embeddings_table, features_table, items_table
from repr_assets.shards import ShardPlan, compute_shard
from repr_assets.stores.lance import LanceStore, WriteResult
from repr_assets.vectorise import Compute, Progress, write_vectors

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
    reads: str = "features",
) -> WriteResult:
    """Encode ``{dataset}_features`` batch by batch and upsert into ``{dataset}_{encoder_name}``,
    each row carrying the model version and the run that wrote it. Rows already encoded
    by this model version are left as they are, so new items are added without touching
    the rest, and a new model version rewrites them all.

    An encoder that ``reads`` ``"text"`` encodes the items' raw text instead of features.
    """
    return write_vectors(
        store,
        encoded_table(dataset, reads),
        embeddings_table(dataset, encoder_name),
        encoder.latent_dim,
        _encoding(encoder, reads),
        constants=_provenance(model_version, run_id),
        batch_size=batch_size,
        progress=progress,
        current_by="model_version",
    )


def embed_shard(
    store: LanceStore,
    plan: ShardPlan,
    shard: int,
    dataset: str,
    encoder_name: str,
    encoder: Encoder,
    model_version: str,
    run_id: str,
    batch_size: int = 8192,
    progress: Progress | None = None,
    reads: str = "features",
) -> int:
    """``embed_items`` for one shard of ``plan``: its rows are staged, not yet written."""
    return compute_shard(
        store,
        plan,
        shard,
        embeddings_table(dataset, encoder_name),
        encoder.latent_dim,
        _encoding(encoder, reads),
        _provenance(model_version, run_id),
        current_by="model_version",
        batch_size=batch_size,
        progress=progress,
    )


def encoded_table(dataset: str, reads: str) -> str:
    """The table an encoder reads: the items' raw text, or their features."""
    return items_table(dataset) if reads == "text" else features_table(dataset)


def _encoding(encoder: Encoder, reads: str) -> Compute:
    if reads == "text":
        return lambda batch: np.asarray(encoder.transform(batch.column("text").to_pylist()))
    return lambda batch: np.asarray(encoder.transform(vectors_of(batch.column("vector"))))


def _provenance(model_version: str, run_id: str) -> dict[str, str]:
    return {"model_version": model_version, "run_id": run_id}


def read_texts(store: LanceStore, dataset: str, item_ids: list[str]) -> np.ndarray:
    """The raw texts of ``item_ids``, in that order, as an object array."""
    return np.array(store.values_of(items_table(dataset), item_ids, "text"), dtype=object)
