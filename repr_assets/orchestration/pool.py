"""The concurrency pool that keeps two runs from writing the same stores at once.

Every step that writes the LanceDB database, the model store or the DuckDB file claims a
slot of ``STORE_POOL``; the instance's ``dagster.yaml`` gives the pool one slot, so such
steps wait for each other across all runs of the instance, those of ``repr-assets run``
and of ``make ui`` alike. Steps that only read, or only write a staging table of their own
(the embedding shards), take no slot and run at once.

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

POOL_CONFIG = """\
concurrency:
  pools:
    default_limit: 1
"""


def process_tags() -> dict[str, str]:
    """Tags that name this process, so that a later run can tell whether it still lives."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


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
            if not _process_gone(run.tags):
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
