"""Embed: encode every item's features in batches into ``{dataset}_{encoder}``."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from repr_assets.encoders import Encoder
from repr_assets.items import vector_array, vector_schema, vectors_of
from repr_assets.stores.lance import LanceStore, WriteResult
from repr_assets.tables import embeddings_table, features_table

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
) -> WriteResult:
    """Encode ``{dataset}_features`` batch by batch and upsert into ``{dataset}_{encoder_name}``."""
    schema = embedding_schema(encoder.latent_dim)

    def batches() -> Iterator[pa.RecordBatch]:
        for features in store.read_batches(features_table(dataset), batch_size=batch_size):
            codes = encoder.transform(vectors_of(features.column("vector")))
            rows = features.num_rows
            yield pa.RecordBatch.from_arrays(
                [
                    features.column("item_id"),
                    features.column("label"),
                    features.column("split"),
                    vector_array(codes),
                    pa.array([model_version] * rows, pa.string()),
                    pa.array([run_id] * rows, pa.string()),
                ],
                schema=schema,
            )

    return store.upsert(embeddings_table(dataset, encoder_name), schema, batches())
