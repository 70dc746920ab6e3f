"""Assembling ``Definitions`` from data set specs."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class DatasetDefinitions:
    """What one data set adds to a code location."""

    assets: list[dg.AssetsDefinition | dg.AssetChecksDefinition]
    jobs: list[Any]
    schedules: list[dg.ScheduleDefinition]
    sensors: list[dg.SensorDefinition]


def dataset_definitions(spec: DatasetSpec, refit_cron: str | None = None) -> DatasetDefinitions:
    """The assets, checks, pipeline job, refit schedule and, for a data set with a
    source, the incremental schedule and landing sensor of ``spec``."""
    with_source = spec.source is not None
    return DatasetDefinitions(
        assets=list(build_representation_assets(spec)),
        jobs=[build_pipeline_job(spec)],
        schedules=[
            build_refit_schedule(spec, refit_cron),
            *([build_incremental_schedule(spec)] if with_source else []),
        ],
        sensors=[build_landing_sensor(spec)] if with_source else [],
    )


def build_definitions(
    specs: Sequence[DatasetSpec], home: Home, refit_crons: Mapping[str, str] | None = None
) -> dg.Definitions:
    """The definitions of every data set of ``specs`` (``dataset_definitions``), on
    resources under ``home``.

    Steps run in process: the multiprocess executor would re-import torch and LanceDB in
    every step, which costs more than these steps do on small data. The jobs of data sets
    embedded in item shards are the exception (see ``build_pipeline_job``).
    """
    crons = dict(refit_crons or {})
    return _assembled([dataset_definitions(spec, crons.get(spec.name)) for spec in specs], home)


def build_location(home: Home, declared: Path | None) -> dg.Definitions:
    """The definitions of every data set the catalog of ``home`` knows: built in, declared
    in the YAML file ``declared``, or stored by ``repr-assets run --source``. A data set
    whose entry or definitions are bad (an unknown encoder, a bad cron) is left out and
    named in the log: the others still load."""
    catalog = Catalog(home, declared)
    log = logging.getLogger("repr_assets")
    for problem in catalog.declarations.problems:
        log.warning("left out of the code location: %s", problem)
    crons = catalog.refit_crons()
    parts = []
    for name in catalog.names():
        try:
            parts.append(dataset_definitions(catalog.get(name), crons.get(name)))
        except Exception as error:  # whatever it is, it is this data set's alone
            log.warning("left out of the code location: data set %r: %s", name, error)
    return _assembled(parts, home)


def _assembled(parts: Sequence[DatasetDefinitions], home: Home) -> dg.Definitions:
    return dg.Definitions(
        assets=[asset for part in parts for asset in part.assets],
        jobs=[job for part in parts for job in part.jobs],
        schedules=[schedule for part in parts for schedule in part.schedules],
        sensors=[sensor for part in parts for sensor in part.sensors],
        resources=build_resources(home),
        executor=dg.in_process_executor,
        # Dagster's console logger for runs of the UI; the CLI picks the terminal one.
        loggers={"console": dg.colored_console_logger, TERMINAL_LOGGER: terminal_logger},
    )


__all__ = ["build_definitions", "build_location", "dataset_definitions", "pipeline_job_name"]
