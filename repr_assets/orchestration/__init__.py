"""The Dagster layer: assets, checks, resources and definitions built from the core."""

from repr_assets.orchestration.assets import build_representation_assets
from repr_assets.orchestration.definitions import build_definitions, build_pipeline_job
from repr_assets.orchestration.resources import (
    LanceDBResource,
    ModelStoreResource,
    build_resources,
)

__all__ = [
    "LanceDBResource",
    "ModelStoreResource",
    "build_definitions",
    "build_pipeline_job",
    "build_representation_assets",
    "build_resources",
]
