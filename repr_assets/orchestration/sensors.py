"""The landing-folder sensor: new files in a data set's source start its incremental run."""

import dagster as dg

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.names import pipeline_job_name
from repr_assets.sources import source_fingerprint


def landing_sensor_name(dataset: str) -> str:
    return f"{dataset}_landing_sensor"


def build_landing_sensor(spec: DatasetSpec) -> dg.SensorDefinition:
    """Watches ``spec.source`` and requests a run of the pipeline when what it holds changes.

    The run is incremental: new items are ingested and embedded by the current fits, and
    nothing else is rewritten. The cursor is the source's fingerprint (names, sizes and
    modification times), so each state of the folder starts at most one run.
    """

    @dg.sensor(
        name=landing_sensor_name(spec.name),
        job_name=pipeline_job_name(spec.name),
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            f"Starts an incremental run of {spec.name} when files are added to, changed in "
            f"or removed from {spec.source}."
        ),
    )
    def landing(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        fingerprint = source_fingerprint(spec)
        if fingerprint == context.cursor:
            return dg.SkipReason(f"nothing changed in {spec.source}")
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(run_key=fingerprint, tags={"repr_assets/trigger": "landing"})
            ],
            cursor=fingerprint,
        )

    return landing
