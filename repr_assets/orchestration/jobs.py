"""The jobs of a data set."""

from __future__ import annotations

import dagster as dg

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.names import pipeline_job_name
from repr_assets.orchestration.executors import executor_for


def build_pipeline_job(spec: DatasetSpec) -> dg.UnresolvedAssetJobDefinition:
    """The job that materialises the whole graph of one data set, checks included.

    By default it is incremental: new items are embedded by the current fits. It runs
    under the data set's executor (``repr_assets.orchestration.executors``)."""
    return dg.define_asset_job(
        name=pipeline_job_name(spec.name),
        selection=dg.AssetSelection.groups(spec.name),
        description=f"Ingest, featurise, fit, embed and report on {spec.name}.",
        executor_def=executor_for(spec),
    )
