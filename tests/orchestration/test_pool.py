"""The concurrency pool: which steps take a slot, one slot per instance, and no stranded
slot left by a run that was killed."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus, make_new_run_id

from repr_assets.datasets.specs import DIGITS
from repr_assets.home import Home
from repr_assets.orchestration.definitions import build_definitions
from repr_assets.orchestration.instance import open_instance
from repr_assets.orchestration.pool import (
    HOST_TAG,
    PID_TAG,
    RUN_TAG,
    STORE_POOL,
    free_stranded_slots,
    process_tags,
)
from tests.helpers import CLI


def test_every_step_that_writes_the_stores_takes_a_slot(home: Home) -> None:
    spec = dataclasses.replace(DIGITS, embed_shards=2)
    job = build_definitions([spec], home).resolve_job_def("digits_pipeline")
    pools = {op.name: op.pool for op in job.graph.iterate_op_defs()}
    writers = {
        "digits__items",
        "digits__features",
        "digits__pca_model",
        "digits__autoencoder_model",
        "digits__pca_embeddings_write",
        "digits__autoencoder_embeddings_write",
        "digits__quality_report",
        "digits__served_embeddings",
    }
    assert {name for name, pool in pools.items() if pool == STORE_POOL} == writers
    # Plans, shards (their own staging tables) and checks only read: they take no slot.
    assert {pool for name, pool in pools.items() if name not in writers} == {None}


def test_the_instance_gives_the_pool_one_slot_and_keeps_a_limit_set_since(home: Home) -> None:
    storage = open_instance(home).event_log_storage
    assert storage.get_concurrency_info(STORE_POOL).slot_count == 1
    storage.set_concurrency_slots(STORE_POOL, 3)  # as a user may, in the UI
    assert open_instance(home).event_log_storage.get_concurrency_info(STORE_POOL).slot_count == 3


def _holding_run(
    instance: dg.DagsterInstance, status: DagsterRunStatus, pid: int | None, **tags: str
) -> str:
    run_id = make_new_run_id()
    if pid is not None:
        tags = {**process_tags(run_id), PID_TAG: str(pid), **tags}
    instance.add_run(
        DagsterRun(job_name="digits_pipeline", run_id=run_id, status=status, tags=tags)
    )
    instance.event_log_storage.claim_concurrency_slot(STORE_POOL, run_id, "digits__items")
    return run_id


def test_slots_of_finished_runs_and_gone_processes_are_freed(home: Home) -> None:
    instance = open_instance(home)
    gone = subprocess.Popen(["true"])
    gone.wait()
    finished = _holding_run(instance, DagsterRunStatus.SUCCESS, None)
    dead = _holding_run(instance, DagsterRunStatus.STARTED, gone.pid)
    alive = _holding_run(instance, DagsterRunStatus.STARTED, os.getpid())
    elsewhere = _holding_run(instance, DagsterRunStatus.STARTED, gone.pid, **{HOST_TAG: "far"})
    # A re-execution copies the tags of the run it re-executes: another run's process.
    copied = _holding_run(instance, DagsterRunStatus.STARTED, gone.pid, **{RUN_TAG: dead})
    untagged = _holding_run(instance, DagsterRunStatus.STARTED, None)

    assert set(free_stranded_slots(instance)) == {finished, dead}
    storage = instance.event_log_storage
    # A live process, or one on another host, of another run or of unknown origin, keeps it.
    assert storage.get_concurrency_run_ids() == {alive, elsewhere, copied, untagged}
    run = instance.get_run_by_id(dead)
    assert run is not None and run.status == DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive).status == DagsterRunStatus.STARTED  # type: ignore[union-attr]


def test_a_killed_run_does_not_stall_the_next_one(home: Home) -> None:
    """``repr-assets run`` killed with SIGKILL while a step holds the pool's one slot: the
    next run frees it, marks the killed run failed, and succeeds."""
    instance = open_instance(home)  # the instance exists before the run starts
    storage = instance.event_log_storage
    # PCA alone: the pool is what is tested, and a run of one encoder is the quickest.
    command = [CLI, "run", "--encoders", "pca"]
    first = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not storage.get_concurrency_run_ids():
            assert first.poll() is None, "the run ended before it was seen holding a slot"
            assert time.monotonic() < deadline, "the run never claimed a pool slot"
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    (killed,) = storage.get_concurrency_run_ids()

    second = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"freed the pool slots of run {killed}" in second.stderr
    assert instance.get_run_by_id(killed).status == DagsterRunStatus.FAILURE  # type: ignore[union-attr]
    assert storage.get_concurrency_run_ids() == set()
