"""Data set specifications and the built-in data sets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from repr_assets.thresholds import QualityThresholds

Modality = Literal["image", "text", "tabular"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


@dataclass(frozen=True)
class DatasetSpec:
    """What a data set is and how its items become features.

    ``name`` keys the Dagster assets and prefixes the LanceDB tables, so it is restricted
    to lower-case letters, digits and underscores. ``seed`` chooses the train/test split
    and every sample the quality report draws; ``thresholds`` are the floors of its
    quality checks.
    """

    name: str
    modality: Modality
    source: str | None = None
    image_size: int = 28
    seed: int = 0
    thresholds: QualityThresholds = field(default_factory=QualityThresholds)
    description: str = ""

    def __post_init__(self) -> None:
        validate_dataset_name(self.name)
        if self.image_size < 1:
            raise ValueError(f"image_size must be positive, got {self.image_size}")

    @property
    def builtin(self) -> bool:
        return self.source is None


def validate_dataset_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(
            f"invalid data set name {name!r}: use 1-48 lower-case letters, digits and "
            "underscores, starting with a letter"
        )
    return name


DIGITS = DatasetSpec(
    name="digits",
    modality="image",
    image_size=8,
    thresholds=QualityThresholds(
        min_linear_probe_accuracy=0.9, min_effective_rank=4.0, min_explained_variance=0.6
    ),
    description="scikit-learn's bundled 8x8 hand-written digits: 1,797 images in 10 classes.",
)

BUILTIN_DATASETS: dict[str, DatasetSpec] = {DIGITS.name: DIGITS}


def builtin_dataset(name: str) -> DatasetSpec:
    """The built-in data set called ``name``; a ``KeyError`` names the ones there are."""
    try:
        return BUILTIN_DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(BUILTIN_DATASETS))
        raise KeyError(f"unknown data set {name!r}: the built-in data sets are: {known}") from None
