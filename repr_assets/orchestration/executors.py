"""The executors a data set's job can run under: in this process, a process per step, or
Dask (a scheduler at an address, or a local cluster of one worker process per core).

Every step reads its inputs from the stores, never from another step's memory, so a step
runs the same in any process or on any machine that reaches the stores; the one value a
step hands on, the sharded embedding plan, goes through the IO manager, whose folder is
under the home (``repr_assets.orchestration.resources``). Under Dask, each worker rebuilds
the job from the data set's spec (``repr_assets.orchestration.reconstruct``).
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from repr_assets.datasets.specs import DASK_EXTRA_MESSAGE, EXECUTORS, DatasetSpec


class ExecutorUnavailableError(ValueError):
    pass


def executor_name(spec: DatasetSpec) -> str:
    """The executor of ``spec``'s job: its own choice, except that a data set embedded in
    shards runs a process per step, so that its shards run at once."""
    if spec.executor == "in_process" and spec.embed_shards > 1:
        return "multiprocess"
    return spec.executor


def executor_for(spec: DatasetSpec) -> dg.ExecutorDefinition:
    name = executor_name(spec)
    if name == "in_process":
        return dg.in_process_executor
    if name == "multiprocess":
        return dg.multiprocess_executor
    assert name in EXECUTORS
    return _dask_executor(spec.dask_address)


def _dask_executor(address: str | None) -> dg.ExecutorDefinition:
    try:
        from repr_assets.orchestration.dask import boxed_dask_executor
    except ImportError:
        raise ExecutorUnavailableError(DASK_EXTRA_MESSAGE) from None
    cluster: dict[str, Any]
    if address:
        cluster = {"existing": {"address": address}}
    else:
        # One single-threaded worker process per core: torch and Lance use the threads
        # of their own process, and two steps in one worker would share them.
        cluster = {
            "local": {
                "n_workers": os.cpu_count() or 1,
                "threads_per_worker": 1,
                "dashboard_address": None,
            }
        }
    return boxed_dask_executor.configured({"cluster": cluster}, name="dask")
