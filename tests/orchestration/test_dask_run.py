"""A sharded digits run on a Dask cluster of two worker processes, as a user runs one
(``run_pipeline`` is what ``repr-assets run --executor dask --dask-address ADDR`` calls):
its steps run in the workers, and its tables hold exactly the rows of an in-process run.
"""

from __future__ import annotations

import dataclasses

import dagster as dg
import pytest

from repr_assets.datasets.specs import DIGITS
from repr_assets.home import Home
from repr_assets.names import embeddings_table, features_table, items_table
from repr_assets.orchestration.instance import open_instance
from repr_assets.orchestration.run import run_pipeline
from repr_assets.stores.lance import LanceStore
from tests.helpers import PCA_ON_DIGITS, one_line, repr_assets

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
dask = pytest.importorskip("dask")

SHARDED = dataclasses.replace(DIGITS, encoders=("pca",), embed_shards=2)
TABLES = (items_table("digits"), features_table("digits"), embeddings_table("digits", "pca"))


@pytest.fixture(scope="module")
def cluster():
    # Dask's nanny gives each worker one BLAS thread by default (OMP_NUM_THREADS=1 and
    # the like), and a fit summed in another order differs from this process's in its
    # last bits: the workers get the threads this process has, so that rows can be equal.
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ": {}}),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
    ):
        yield local


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    root = tmp_path_factory.mktemp("dask")
    on_dask = Home.at(root / "dask")
    spec = dataclasses.replace(SHARDED, executor="dask", dask_address=cluster.scheduler_address)
    dask_summary = run_pipeline(spec, on_dask)
    assert dask_summary.success, dask_summary.failures
    in_process = Home.at(root / "in_process")
    summary = run_pipeline(SHARDED, in_process)
    assert summary.success, summary.failures
    return on_dask, dask_summary.run_id, in_process


def _step_starts(home: Home, run_id: str | None = None) -> dict[str, int]:
    """``{step key: pid}`` of the steps of ``run_id`` (the home's only run if ``None``)."""
    with open_instance(home) as instance:
        if run_id is None:
            (run,) = instance.get_runs()
            run_id = run.run_id
        logs = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
    return {str(e.dagster_event.step_key): e.dagster_event.pid for e in logs}


def _worker_pids(cluster) -> set[int]:
    return {w.pid for w in cluster.scheduler.workers.values()}


def test_every_step_ran_in_a_dask_worker(runs, cluster):
    home, run_id, _ = runs
    starts = _step_starts(home, run_id)
    assert starts and set(starts.values()) <= _worker_pids(cluster)
    shard_pids = {pid for step, pid in starts.items() if "_shard_" in step}
    assert len(shard_pids) == 2  # the shards ran at once, one per worker


def test_a_sharded_run_on_dask_writes_the_rows_of_an_in_process_run(runs):
    on_dask, _, in_process = runs
    for table in TABLES:
        columns = ["item_id", "label", "vector"] if "pca" in table else None
        dask_rows = LanceStore.of(on_dask).read_table(table, columns)
        local_rows = LanceStore.of(in_process).read_table(table, columns)
        assert dask_rows.num_rows == 1797
        assert dask_rows.equals(local_rows), table


def test_the_command_line_runs_on_the_scheduler_it_is_given(cluster, tmp_path):
    home = tmp_path / "home"
    result = repr_assets(home, *PCA_ON_DIGITS, "--dask-address", cluster.scheduler_address)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "distributed" not in result.stderr
    assert LanceStore(home / "lancedb").count("digits_pca") == 1797
    starts = _step_starts(Home.at(home))
    assert starts and set(starts.values()) <= _worker_pids(cluster)


def test_a_dask_address_with_another_executor_is_one_line(tmp_path):
    result = repr_assets(
        tmp_path / "home", "run", "--executor", "multiprocess", "--dask-address", "tcp://x:1"
    )
    assert result.returncode == 2
    assert one_line(result) == (
        "repr-assets: error: --dask-address is for --executor dask, not multiprocess"
    )
    assert not (tmp_path / "home").exists()  # refused before anything was written


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("", "expected HOST:PORT"),
        ("foo://bar", "unknown scheme 'foo'"),
        ("tcp://nohost", "expected HOST:PORT"),
        ("tcp://127.0.0.1:1", "no Dask scheduler answers there"),
    ],
)
def test_a_dask_address_where_no_scheduler_can_be_is_refused_before_anything(
    tmp_path, address, says
):
    result = repr_assets(tmp_path / "home", "run", "--dask-address", address)
    assert result.returncode == 2
    assert says in one_line(result)
    assert not (tmp_path / "home").exists()
