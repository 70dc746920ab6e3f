"""Code versions of a data set's assets: what in its spec each asset's result depends on.

Dagster marks an asset stale when its code version changes, or when an upstream data
version does; each asset reports a data version that changes only with its content, so
an incremental run that finds nothing new leaves everything downstream current. A
parameter counts in the code version of every asset whose result it changes (a new image
size changes the features, and so the models, embeddings and report), so a change marks
the whole affected part of the graph stale before anything is rerun.
"""

from __future__ import annotations

from typing import Any

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.items.hashing import canonical_json, package_version, short_hash

SOURCE_FIELDS = (
    "source",
    "modality",
    "label_column",
    "text_column",
    "id_column",
    "max_item_bytes",
    "max_image_pixels",
)
FEATURISER_FIELDS = (
    "image_size",
    "text_vectoriser",
    "ngram_range",
    "vocabulary_size",
    "max_categories",
    "seed",
)


def code_version(spec: DatasetSpec, *parts: Any) -> str:
    """A hash of the package version and ``parts`` (spec fields, an encoder's defaults)."""
    return short_hash(package_version(), canonical_json([spec.name, *parts]))


def _fields(spec: DatasetSpec, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in names}


def source_code_version(spec: DatasetSpec) -> str:
    return code_version(spec, _fields(spec, SOURCE_FIELDS))


def features_code_version(spec: DatasetSpec) -> str:
    return code_version(spec, _fields(spec, SOURCE_FIELDS + FEATURISER_FIELDS))


def encoder_code_version(spec: DatasetSpec, encoder: str, defaults: Any = None) -> str:
    return code_version(spec, _fields(spec, SOURCE_FIELDS + FEATURISER_FIELDS), encoder, defaults)


def report_code_version(spec: DatasetSpec) -> str:
    return code_version(
        spec, _fields(spec, SOURCE_FIELDS + FEATURISER_FIELDS), spec.thresholds, spec.encoders
    )
