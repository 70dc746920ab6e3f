"""Features: featurise items in batches into ``{dataset}_features``, and read them back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from repr_assets.augment import Augmentation, image_augmentations
from repr_assets.datasets import DatasetSpec
from repr_assets.featurisers.image import ImageFeaturiser
from repr_assets.hashing import short_hash
from repr_assets.items import vectors_of
from repr_assets.stores.lance import LanceStore, WriteResult
from repr_assets.tables import features_table, items_table
from repr_assets.vectorise import Progress, write_vectors


def featuriser_for(spec: DatasetSpec) -> ImageFeaturiser:
    if spec.modality == "image":
        return ImageFeaturiser(spec.image_size)
    raise ValueError(f"no featuriser for modality {spec.modality!r} in this version")


def augmentations_for(spec: DatasetSpec) -> dict[str, Augmentation]:
    """The harmless changes the invariance metrics apply to this data set's features."""
    if spec.modality == "image":
        return image_augmentations(spec.image_size)
    return {}


@dataclass(frozen=True)
class FeaturesWritten:
    write: WriteResult
    dim: int
    featuriser_version: str


def featurise_items(
    spec: DatasetSpec, store: LanceStore, batch_size: int = 1024, progress: Progress | None = None
) -> FeaturesWritten:
    """Featurise ``{dataset}_items`` batch by batch; upsert the rows into ``{dataset}_features``."""
    featuriser = featuriser_for(spec)
    write = write_vectors(
        store,
        items_table(spec.name),
        features_table(spec.name),
        featuriser.dim,
        featuriser.featurise,
        batch_size=batch_size,
        progress=progress,
    )
    return FeaturesWritten(write, featuriser.dim, featuriser.version)


@dataclass(frozen=True)
class FeatureMatrix:
    """Every item's features, ordered by ``item_id``.

    ``X``: ``(n_items, n_features)`` float32.
    """

    item_ids: list[str]
    labels: list[str | None]
    splits: list[str | None]
    X: np.ndarray

    @property
    def data_version(self) -> str:
        """A content hash of ids and features: equal data, equal version."""
        return short_hash("\n".join(self.item_ids), np.ascontiguousarray(self.X).tobytes())


def load_features(store: LanceStore, dataset: str) -> FeatureMatrix:
    return load_vectors(store, features_table(dataset))


def load_vectors(store: LanceStore, table: str) -> FeatureMatrix:
    """Read a features or embeddings table whole, sorted by ``item_id``."""
    data = store.read_table(table, columns=["item_id", "label", "split", "vector"])
    return FeatureMatrix(
        item_ids=data.column("item_id").to_pylist(),
        labels=data.column("label").to_pylist(),
        splits=data.column("split").to_pylist(),
        X=vectors_of(data.column("vector")),
    )
