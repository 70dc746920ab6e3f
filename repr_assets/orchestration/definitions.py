"""Assembling ``Definitions`` from data set specs."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from repr_assets.datasets import DatasetSpec
from repr_assets.home import Home
from repr_assets.orchestration.assets import build_representation_assets
from repr_assets.orchestration.resources import build_resources


def pipeline_job_name(dataset: str) -> str:
    return f"{dataset}_pipeline"


def build_pipeline_job(spec: DatasetSpec) -> dg.UnresolvedAssetJobDefinition:
    """The job that materialises the whole graph of one data set, checks included."""
    return dg.define_asset_job(
        name=pipeline_job_name(spec.name),
        selection=dg.AssetSelection.groups(spec.name),
        description=f"Ingest, featurise, fit, embed and report on {spec.name}.",
    )


def build_definitions(specs: Sequence[DatasetSpec], home: Home) -> dg.Definitions:
    """Assets, checks and a pipeline job per data set, on resources under ``home``.

    Steps run in process: the multiprocess executor would re-import torch and LanceDB in
    every step, which costs more than these steps do on small data.
    """
    assets: list[dg.AssetsDefinition | dg.AssetChecksDefinition] = []
    for spec in specs:
        assets += build_representation_assets(spec)
    return dg.Definitions(
        assets=assets,
        jobs=[build_pipeline_job(spec) for spec in specs],
        resources=build_resources(home),
        executor=dg.in_process_executor,
    )
