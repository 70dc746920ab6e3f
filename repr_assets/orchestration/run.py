"""Running one data set's graph in this process, and what the run did, as plain data.

The CLI calls ``run_pipeline`` and reads a ``RunSummary``: it never touches Dagster's
event objects or metadata keys. The run logs through the terminal logger
(``repr_assets.orchestration.terminal``), so a failed step is one line in the summary,
never a stack trace on the terminal.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.encoders.registry import encoder_kind
from repr_assets.home import Home
from repr_assets.names import (
    ITEMS,
    QUALITY_REPORT,
    SERVED_EMBEDDINGS,
    pipeline_job_name,
    run_config,
    step_asset,
    step_key,
)
from repr_assets.orchestration import metadata
from repr_assets.orchestration.definitions import build_definitions
from repr_assets.orchestration.instance import open_instance
from repr_assets.orchestration.pool import process_tags
from repr_assets.orchestration.reconstruct import reconstructable_pipeline_job
from repr_assets.orchestration.terminal import TERMINAL_LOGGER

CLI_TAGS = {"repr_assets/source": "cli"}


@dataclass(frozen=True)
class StepFailure:
    step: str
    message: str


@dataclass(frozen=True)
class RunSummary:
    """What one run of a data set's graph did."""

    run_id: str
    success: bool
    failures: list[StepFailure] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    ingest_line: str = ""
    new_items: int = 0
    quarantined: int = 0
    held_back: dict[str, str] = field(default_factory=dict)  # encoder: why
    never_served: list[str] = field(default_factory=list)
    report_current: bool = False


def run_pipeline(
    spec: DatasetSpec,
    home: Home,
    *,
    refit: bool = False,
    device: str = "auto",
    instance: dg.DagsterInstance | None = None,
) -> RunSummary:
    """Materialise ``spec``'s whole graph on the instance under ``home``, under the data
    set's executor: in this process (the default, also for a data set in shards, whose
    shards then run one after the other), a process per step, or Dask.

    ``refit`` fits the featuriser and encoders again; ``device`` goes to every encoder
    that trains. Every other parameter comes from the spec (its ``encoder_options``).
    ``instance`` is the one under ``home``, when the caller opened it already.
    """
    instance = instance or open_instance(home)
    run_id = str(uuid.uuid4())  # known before the run starts, for its tags
    run_config = _run_config(spec, refit, device)
    if spec.executor == "in_process":
        job = build_definitions([spec], home).resolve_job_def(pipeline_job_name(spec.name))
        result: dg.ExecutionResult = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            raise_on_error=False,
            run_id=run_id,
            tags={**CLI_TAGS, **process_tags(run_id)},
        )
        return _summary(result, spec.name)
    # Dagster picks the run's id here, so the run cannot name its process for the
    # stranded-slot check (``repr_assets.orchestration.pool``): its tags say only "cli".
    with dg.execute_job(
        reconstructable_pipeline_job(spec, home),
        instance=instance,
        run_config=run_config,
        tags=CLI_TAGS,
        raise_on_error=False,
    ) as out_of_process:
        return _summary(out_of_process, spec.name)


def _run_config(spec: DatasetSpec, refit: bool, device: str) -> dict[str, Any]:
    """``refit`` for every fitting step, ``device`` for every encoder that has one."""
    devices = {e: {"device": device} for e in spec.encoders if "device" in _options(e)}
    config = run_config(spec.name, spec.encoders, refit=refit, encoder_config=devices)
    return {**config, "loggers": {TERMINAL_LOGGER: {}}}


def _options(encoder: str) -> dict[str, Any]:
    return encoder_kind(encoder).defaults()


def _summary(result: dg.ExecutionResult, dataset: str) -> RunSummary:
    failures = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            line = _innermost_line(event.step_failure_data.error)
            failures.append(StepFailure(step_asset(str(event.step_key)), line))
        elif event.is_run_failure and not failures:
            # The run failed outside any step (its executor: a Dask scheduler gone, say).
            error = getattr(event.event_specific_data, "error", None)
            line = _innermost_line(error) if error is not None else ""
            failures.append(StepFailure("run", line or event.message or "the run failed"))
    failed_checks = [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed
    ]
    items = _metadata(result, step_key(dataset, ITEMS))
    served = _metadata(result, step_key(dataset, SERVED_EMBEDDINGS))
    report = _metadata(result, step_key(dataset, QUALITY_REPORT))
    return RunSummary(
        run_id=result.run_id,
        success=result.success,
        failures=failures,
        failed_checks=failed_checks,
        ingest_line=str(items.get(metadata.INGEST_LINE, "")),
        new_items=int(items.get(metadata.NEW_ITEMS, 0)),
        quarantined=int(items.get(metadata.QUARANTINED, 0)),
        held_back=dict(served.get(metadata.HELD_BACK, {})),
        never_served=list(served.get(metadata.NEVER_SERVED, [])),
        report_current=bool(report.get(metadata.REPORT_CURRENT, False)),
    )


def _innermost_line(error: Any) -> str:
    """The first line of the innermost cause of a serialised error: the user code's (or
    the executor's) error, not Dagster's wrapper around it."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip().splitlines()[0] if error.message.strip() else ""


def _metadata(result: dg.ExecutionResult, node: str) -> dict[str, Any]:
    """The plain values of ``node``'s last materialisation's metadata (empty if none)."""
    materialized = result.asset_materializations_for_node(node)
    if not materialized:
        return {}
    return {key: value.value for key, value in materialized[-1].metadata.items()}
