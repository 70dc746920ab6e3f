"""Assembling ``Definitions`` from data set specs."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg

from repr_assets.datasets.catalog import Catalog
from repr_assets.datasets.specs import DatasetSpec
from repr_assets.home import Home
from repr_assets.names import pipeline_job_name
from repr_assets.orchestration.assets import build_representation_assets
from repr_assets.orchestration.jobs import build_pipeline_job
from repr_assets.orchestration.resources import build_resources
from repr_assets.orchestration.schedules import build_incremental_schedule, build_refit_schedule
from repr_assets.orchestration.sensors import build_landing_sensor
from repr_assets.orchestration.terminal import TERMINAL_LOGGER, terminal_logger


def build_definitions(
    specs: Sequence[DatasetSpec], home: Home, refit_crons: Mapping[str, str] | None = None
) -> dg.Definitions:
    """Assets, checks, a pipeline job, a refit schedule and, for data sets with a source, an
    incremental schedule and a landing sensor per data set, on resources under ``home``.

    Steps run in process: the multiprocess executor would re-import torch and LanceDB in
    every step, which costs more than these steps do on small data. The jobs of data sets
    embedded in item shards are the exception (see ``build_pipeline_job``).
    """
    crons = dict(refit_crons or {})
    assets: list[dg.AssetsDefinition | dg.AssetChecksDefinition] = []
    for spec in specs:
        assets += build_representation_assets(spec)
    return dg.Definitions(
        assets=assets,
        jobs=[build_pipeline_job(spec) for spec in specs],
        schedules=[
            *(build_refit_schedule(spec, crons.get(spec.name)) for spec in specs),
            *(build_incremental_schedule(spec) for spec in specs if spec.source is not None),
        ],
        sensors=[build_landing_sensor(spec) for spec in specs if spec.source is not None],
        resources=build_resources(home),
        executor=dg.in_process_executor,
        # Dagster's console logger for runs of the UI; the CLI picks the terminal one.
        loggers={"console": dg.colored_console_logger, TERMINAL_LOGGER: terminal_logger},
    )


def build_location(home: Home, declared: Path | None) -> dg.Definitions:
    """The definitions of every data set the catalog of ``home`` knows: built in, declared
    in the YAML file ``declared``, or stored by ``repr-assets run --source``."""
    catalog = Catalog(home, declared)
    for problem in catalog.declarations.problems:  # the other data sets still load
        logging.getLogger("repr_assets").warning("left out of the code location: %s", problem)
    return build_definitions(catalog.specs(), home, catalog.refit_crons())


__all__ = ["build_definitions", "build_location", "pipeline_job_name"]
