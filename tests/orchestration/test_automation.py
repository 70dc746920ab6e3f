"""Automation: the landing-folder sensor (one incremental run per new state of the folder)
and the refit schedule."""

from __future__ import annotations

import dagster as dg

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.orchestration import build_definitions
from sample_sources import png_bytes, write_image_folder


def evaluate(sensor: dg.SensorDefinition, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
    return sensor(dg.build_sensor_context(cursor=cursor))


def test_sensor_requests_a_run_when_files_land_and_skips_otherwise(tmp_path, home):
    root = write_image_folder(tmp_path / "landing", count=5)
    spec = DatasetSpec(name="landing", modality="image", source=str(root))
    defs = build_definitions([spec], home)
    sensor = defs.resolve_sensor_def("landing_landing_sensor")
    assert sensor.job_name == "landing_pipeline"
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED

    first = evaluate(sensor, None)
    assert isinstance(first, dg.SensorResult) and len(first.run_requests or []) == 1
    assert isinstance(evaluate(sensor, first.cursor), dg.SkipReason)

    (root / "3" / "new.png").write_bytes(png_bytes(value=5))
    second = evaluate(sensor, first.cursor)
    assert isinstance(second, dg.SensorResult)
    assert second.cursor != first.cursor
    assert second.run_requests[0].run_key == second.cursor


def test_only_data_sets_with_a_source_get_a_sensor(home):
    from repr_assets.datasets.specs import DIGITS

    assert list(build_definitions([DIGITS], home).sensors or []) == []


def test_the_refit_schedule_asks_every_fitting_step_to_fit_again(home):
    from repr_assets.datasets.specs import DIGITS

    defs = build_definitions([DIGITS], home)
    schedule = defs.resolve_schedule_def("digits_refit_schedule")
    assert schedule.job_name == "digits_pipeline"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    [request] = schedule.evaluate_tick(dg.build_schedule_context()).run_requests
    steps = request.run_config["ops"]
    assert set(steps) == {"digits__features", "digits__pca_model", "digits__autoencoder_model"}
    assert all(step["config"]["refit"] is True for step in steps.values())
    # The config is valid for the job it starts.
    job = defs.resolve_job_def("digits_pipeline")
    assert job.run_config_schema.config_type is not None
    from dagster._config import validate_config

    assert validate_config(job.run_config_schema.config_type, request.run_config).success
