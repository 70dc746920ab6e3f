"""Rebuilding a data set's job in another process (a step of the multiprocess executor, a
Dask worker): from the spec itself, as JSON, and the home, so that the job rebuilt is the
one launched, with the run's own options, whatever the catalog says meanwhile."""

from __future__ import annotations

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableJob, build_reconstructable_job

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.home import Home
from repr_assets.names import pipeline_job_name


def pipeline_job(spec_json: str, home_root: str, lancedb_uri: str | None) -> dg.JobDefinition:
    from repr_assets.orchestration.definitions import build_definitions

    spec = DatasetSpec.from_json(spec_json)
    home = Home.at(home_root, lancedb_uri)
    return build_definitions([spec], home).resolve_job_def(pipeline_job_name(spec.name))


def reconstructable_pipeline_job(spec: DatasetSpec, home: Home) -> ReconstructableJob:
    return build_reconstructable_job(
        __name__,
        pipeline_job.__name__,
        reconstructable_kwargs={
            "spec_json": spec.to_json(),
            "home_root": str(home.root),
            "lancedb_uri": home.lancedb_uri,
        },
    )
