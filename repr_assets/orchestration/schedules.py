"""The refit schedule: fit the featuriser and encoders again on everything ingested so far."""

from __future__ import annotations

import dagster as dg

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.names import pipeline_job_name, run_config

DEFAULT_REFIT_CRON = "0 3 * * 0"


def build_refit_schedule(spec: DatasetSpec, cron: str | None = None) -> dg.ScheduleDefinition:
    """Weekly by default (Sundays, 03:00), off until turned on in the UI.

    Between refits, runs embed new items with the current fits and keep the model version,
    so that searches stay comparable; a refit is when the model catches up with the data.
    """
    return dg.ScheduleDefinition(
        name=f"{spec.name}_refit_schedule",
        job_name=pipeline_job_name(spec.name),
        cron_schedule=cron or DEFAULT_REFIT_CRON,
        run_config=run_config(spec.name, spec.encoders, refit=True),
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"Fit the featuriser and encoders of {spec.name} again, then embed and report.",
    )


DEFAULT_INCREMENTAL_CRON = "0 * * * *"


def build_incremental_schedule(spec: DatasetSpec, cron: str | None = None) -> dg.ScheduleDefinition:
    """Hourly by default, off until turned on: ingest what is new and embed it with the
    current fits (the pipeline job's default run config is incremental)."""
    return dg.ScheduleDefinition(
        name=f"{spec.name}_incremental_schedule",
        job_name=pipeline_job_name(spec.name),
        cron_schedule=cron or DEFAULT_INCREMENTAL_CRON,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"Ingest new items of {spec.name}, embed them with the current fits, "
        "report and publish.",
    )
