"""Query by a new raw item: featurised as the data set's items are, encoded by its model.

A raw item becomes a one-row item batch with the column its modality's featuriser reads
(``image`` bytes for images, ``text`` for texts), so the query goes through the very
fitted featuriser that made the table's features.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.encoders.kind import RAW_INPUTS
from repr_assets.encoders.registry import encoder_kind, load_encoder
from repr_assets.featurisers import load_featuriser
from repr_assets.names import embeddings_table
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.models import ModelStore
from repr_assets.stores.serving import model_version_of, served_version


class RawQueryError(ValueError):
    """A raw item that cannot be turned into a query vector for this table."""


@dataclass(frozen=True)
class ImageFile:
    path: Path


@dataclass(frozen=True)
class Text:
    text: str


RawItem = ImageFile | Text


def featurise_raw(
    spec: DatasetSpec, raw: RawItem, models: ModelStore, version: str | None = None
) -> np.ndarray:
    """The ``(1, n_features)`` float32 features of ``raw``, by the data set's featuriser
    ``version`` (the latest when ``None``)."""
    batch = _item_batch(spec, raw)
    try:
        featuriser, _ = load_featuriser(models, spec.name, version)
    except FileNotFoundError:
        raise RawQueryError(
            f"data set {spec.name!r} has no fitted featuriser yet: run it first"
        ) from None
    try:
        features = featuriser.featurise(batch)
    except ValueError as error:
        raise RawQueryError(str(error)) from None
    if isinstance(raw, Text) and not features.any():
        # Its vector would be the model's image of nothing: as near to every item without
        # a known word as to any other, so hits at distance 0 that mean nothing.
        raise RawQueryError(
            f"--text: no word of {raw.text!r} is in the vocabulary of data set "
            f"{spec.name!r}, so there is nothing to search by"
        )
    return features


def encode_raw(
    spec: DatasetSpec,
    encoder_name: str,
    raw: RawItem,
    store: LanceStore,
    models: ModelStore,
) -> np.ndarray:
    """The ``(1, d)`` query vector of ``raw`` in the space of ``{dataset}_{encoder}``.

    It is encoded by the model version that wrote the table's served vectors, from the
    features of the featuriser that model was fitted on, so that the query and the table
    share one space even if a newer featuriser or model has been fitted since.
    """
    item = _item_batch(spec, raw)  # a raw item of the wrong kind is named before any model is read
    try:
        table = embeddings_table(spec.name, encoder_name)
        version = model_version_of(store, table, served_version(store.dataset(table)))
        encoder, saved = load_encoder(models, spec.name, encoder_name, version)
    except (FileNotFoundError, ValueError) as error:
        raise RawQueryError(str(error)) from None
    inputs: Any
    reads = encoder_kind(encoder_name).reads
    if reads in RAW_INPUTS:  # as it reads items: the raw text, or the image file's bytes
        inputs = item.column(reads).to_pylist()
    else:
        featuriser = saved.meta.get("featuriser_version")
        inputs = featurise_raw(spec, raw, models, None if featuriser is None else str(featuriser))
    return np.asarray(encoder.transform(inputs), dtype=np.float32)


def _item_batch(spec: DatasetSpec, raw: RawItem) -> pa.RecordBatch:
    """``raw`` as a one-row batch of the item columns its modality's featuriser reads."""
    modality = "image" if isinstance(raw, ImageFile) else "text"
    if spec.modality != modality:
        raise RawQueryError(
            f"data set {spec.name!r} has no {modality} featuriser (it holds {spec.modality} "
            f"items), so it cannot be searched by {'--file' if modality == 'image' else '--text'}"
        )
    if isinstance(raw, ImageFile):
        try:
            data = raw.path.read_bytes()
        except OSError as error:
            raise RawQueryError(f"cannot read {str(raw.path)!r}: {error.strerror}") from None
        return pa.RecordBatch.from_pydict({"item_id": [str(raw.path)], "image": [data]})
    return pa.RecordBatch.from_pydict({"item_id": ["query"], "text": [raw.text]})
