"""The jobs of a data set."""

from __future__ import annotations

import dagster as dg

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.names import pipeline_job_name


def build_pipeline_job(spec: DatasetSpec) -> dg.UnresolvedAssetJobDefinition:
    """The job that materialises the whole graph of one data set, checks included.

    By default it is incremental: new items are embedded by the current fits. A data set
    embedded in item shards runs under the multiprocess executor, which runs the shards at
    once; the others run in process (see ``build_definitions``)."""
    return dg.define_asset_job(
        name=pipeline_job_name(spec.name),
        selection=dg.AssetSelection.groups(spec.name),
        description=f"Ingest, featurise, fit, embed and report on {spec.name}.",
        executor_def=dg.multiprocess_executor if spec.embed_shards > 1 else None,
    )
