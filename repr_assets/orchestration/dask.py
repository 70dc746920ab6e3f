"""dagster-dask's executor, with its tasks' arguments in a box.

dask 2024.12 and later walk a task's tuple arguments to find futures inside them, and
Dagster's records (the run, the job's pointer, the instance's ref), which are named
tuples, refuse to be iterated: every step of dagster-dask 0.29.27's executor then fails
with "Iteration is not allowed on `@record` ...". Here the same worker function
(``query_on_dask_worker``) gets the same arguments, handed over in a plain object that dask
leaves alone, and the steps of one level of the plan (the embedding shards) are spread
over the workers. Only the two clusters this project documents are built: a scheduler at
an address, or a ``LocalCluster``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any, cast

import dagster as dg
import dask.distributed
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster_dask.executor import (
    DaskExecutor,
    dask_executor,
    get_dask_resource_requirements,
    query_on_dask_worker,
)

# A step's events, Dagster records, are sent back to the run; distributed cannot size them
# and warns about each (it then assumes a size, which is all it needs).
logging.getLogger("distributed.sizeof").setLevel(logging.ERROR)


class _Box:
    def __init__(self, *args: Any) -> None:
        self.args = args


def _on_worker(dependencies: list[Any], box: _Box) -> Sequence[dg.DagsterEvent]:
    return query_on_dask_worker(dependencies, *box.args)


class BoxedDaskExecutor(DaskExecutor):
    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[dg.DagsterEvent]:
        if not plan_context.instance.is_persistent:
            raise dg.DagsterInvariantViolationError("Dask runs need a persistent instance")
        if self.cluster_type == "existing":
            cluster: Any = self.cluster_configuration["address"]
        elif self.cluster_type == "local":
            cluster = dask.distributed.LocalCluster(**self.build_dict(plan_context.job_name))
        else:
            raise dg.DagsterInvariantViolationError(
                f"repr-assets runs on an existing Dask scheduler or a local cluster, not "
                f"{self.cluster_type!r}"
            )
        with dask.distributed.Client(cluster) as client:
            workers = sorted(client.scheduler_info()["workers"])
            futures: dict[str, Any] = {}
            for level in execution_plan.get_steps_to_execute_by_level():
                for index, step in enumerate(level):
                    dependencies = [
                        futures[key] for put in step.step_inputs for key in put.dependency_keys
                    ]
                    box = _Box(
                        plan_context.reconstructable_job,
                        plan_context.dagster_run,
                        plan_context.run_config,
                        [step.key],
                        plan_context.instance.get_ref(),
                        execution_plan.known_state,
                    )
                    futures[step.key] = client.submit(
                        _on_worker,
                        dependencies,
                        box,
                        key=f"{plan_context.job_name}.{step.key}",
                        resources=get_dask_resource_requirements(step.tags),
                        # Dask would run a level's steps where their inputs' results lie,
                        # all on one worker (the shards too): spread them, loosely.
                        workers=[workers[index % len(workers)]] if workers else None,
                        allow_other_workers=True,
                    )
            for _, events in dask.distributed.as_completed(
                list(futures.values()), with_results=True
            ):
                yield from events
        if self.cluster_type == "local":
            cluster.close()


@dg.executor(
    name="dask",
    requirements=dg.multiple_process_executor_requirements(),
    config_schema=dask_executor.config_schema.as_field(),
)
def boxed_dask_executor(init_context: dg.InitExecutorContext) -> BoxedDaskExecutor:
    cluster = cast(dict[str, Any], init_context.executor_config["cluster"])
    ((cluster_type, cluster_configuration),) = cluster.items()
    return BoxedDaskExecutor(cluster_type, cluster_configuration)
