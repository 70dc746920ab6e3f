"""The concurrency pool that keeps two runs from writing the same stores at once.

Every step that writes the LanceDB database, the model store or the DuckDB file claims a
slot of ``STORE_POOL``; ``ensure_store_pool`` gives the pool one slot in the instance (a
limit set there before, say in the UI, is kept), so such steps wait for each other across
all runs of the instance, those of ``repr-assets run`` and of ``make ui`` alike. Steps
that only read, or only write staging tables of their own run (the embedding shards),
take no slot and run at once.

A run worker killed outright (SIGKILL, a lost machine) never gives its slot back, which
would stall every later run. ``free_stranded_slots`` gives back the slots of runs that
are over, and of ``repr-assets run`` processes that are gone.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import dagster as dg

STORE_POOL = "repr_assets_stores"

PID_TAG = "repr_assets/pid"
HOST_TAG = "repr_assets/host"
RUN_TAG = "repr_assets/pid_of_run"


def ensure_store_pool(instance: dg.DagsterInstance) -> None:
    """One slot for ``STORE_POOL``, unless the instance already has a limit for it."""
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits and STORE_POOL not in (
        storage.get_concurrency_keys()
    ):
        storage.set_concurrency_slots(STORE_POOL, 1)


def process_tags(run_id: str) -> dict[str, str]:
    """Tags that name this process as the one running ``run_id``, so that a later run can
    tell whether it still lives. A re-execution copies a run's tags; ``RUN_TAG`` tells
    the copies, which name another run's process, from the original."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(), RUN_TAG: run_id}


def free_stranded_slots(instance: dg.DagsterInstance) -> list[str]:
    """Give back the pool slots of finished runs and of runs whose process is gone (these
    are marked failed first); the ids of the runs whose slots were freed."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    freed = []
    for run_id in sorted(storage.get_concurrency_run_ids()):
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            if run.tags.get(RUN_TAG) != run_id or not _process_gone(run.tags):
                continue
            instance.report_run_failed(
                run,
                f"the process {run.tags[PID_TAG]} that ran it on {run.tags[HOST_TAG]} is gone; "
                "its pool slots were freed",
            )
        storage.free_concurrency_slots_for_run(run_id)
        freed.append(run_id)
    return freed


def _process_gone(tags: Mapping[str, str]) -> bool:
    """Only a process of this host, named by the run's tags, can be known to be gone."""
    if tags.get(HOST_TAG) != socket.gethostname() or PID_TAG not in tags:
        return False
    try:
        os.kill(int(tags[PID_TAG]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False
