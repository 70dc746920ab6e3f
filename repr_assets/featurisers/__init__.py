"""Featurisers turn item batches into float32 feature matrices.

Each has ``kind``, ``params``, ``fit`` (over a stream of item batches; a no-op for images),
``featurise`` (one batch to ``(rows, dim)``), a ``version`` covering its parameters and
fitted state, the ``augmentations`` that the invariance metrics apply to its features,
and ``save``/``load``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.featurisers.image import ImageFeaturiser
from repr_assets.featurisers.tabular import TabularFeaturiser
from repr_assets.featurisers.text import TextFeaturiser
from repr_assets.items.augment import Augmentation
from repr_assets.items.schemas import ITEM_KEY_FIELDS
from repr_assets.stores.models import FEATURISER, ModelStore, SavedModel


class Featuriser(Protocol):
    kind: str

    @property
    def params(self) -> dict[str, Any]: ...

    @property
    def fitted(self) -> bool: ...

    @property
    def dim(self) -> int: ...

    @property
    def version(self) -> str: ...

    def fit(self, batches: Iterable[pa.RecordBatch]) -> Any: ...

    def featurise(self, batch: pa.RecordBatch) -> np.ndarray: ...

    def augmentations(self) -> dict[str, Augmentation]: ...

    def save(self, directory: Path) -> None: ...


FEATURISER_KINDS: dict[str, Any] = {
    ImageFeaturiser.kind: ImageFeaturiser,
    TextFeaturiser.kind: TextFeaturiser,
    TabularFeaturiser.kind: TabularFeaturiser,
}


def build_featuriser(spec: DatasetSpec, items_schema: pa.Schema) -> Featuriser:
    """An unfitted featuriser for ``spec``'s items, whose columns ``items_schema`` gives."""
    if spec.modality == "image":
        return ImageFeaturiser(spec.image_size, channels=3 if spec.color else 1)
    if spec.modality == "text":
        return TextFeaturiser(spec.text_vectoriser, spec.ngram_range, spec.vocabulary_size)
    # The factors are what the codes are measured against, not what they are made from.
    keys = {f.name for f in ITEM_KEY_FIELDS} | {"ref", *spec.factor_columns}
    payload = [f for f in items_schema if f.name not in keys]
    return TabularFeaturiser(
        numeric=[f.name for f in payload if pa.types.is_floating(f.type)],
        categorical=[f.name for f in payload if pa.types.is_string(f.type)],
        max_categories=spec.max_categories,
    )


def load_featuriser(
    models: ModelStore, dataset: str, version: str | None = None
) -> tuple[Featuriser, SavedModel]:
    """The data set's fitted featuriser (the latest when ``version`` is ``None``)."""
    loaders = {kind: cls.load for kind, cls in FEATURISER_KINDS.items()}
    featuriser: Featuriser
    featuriser, saved = models.load(dataset, FEATURISER, loaders, version, "featuriser")
    return featuriser, saved


__all__ = [
    "FEATURISER_KINDS",
    "Featuriser",
    "ImageFeaturiser",
    "TabularFeaturiser",
    "TextFeaturiser",
    "build_featuriser",
    "load_featuriser",
]
