"""A data set embedded in item shards, run as a user runs it: its shards run in separate
processes under the multiprocess executor and write exactly the rows of one unsplit run."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator

import dagster as dg
import pytest

from repr_assets.datasets.specs import DIGITS
from repr_assets.encoders.registry import load_encoder
from repr_assets.home import HOME_VARIABLE, Home, home_from_environment
from repr_assets.names import embeddings_table
from repr_assets.orchestration.definitions import build_definitions, pipeline_job_name
from repr_assets.orchestration.instance import open_instance
from repr_assets.pipeline.embed import Encoding, embed_items
from repr_assets.pipeline.shards import staging_store
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.models import ModelStore

SHARDED = dataclasses.replace(DIGITS, encoders=("pca",), embed_shards=2)


def sharded_digits_job() -> dg.JobDefinition:
    """Rebuilt in every step's process, by ``dg.reconstructable``."""
    definitions = build_definitions([SHARDED], home_from_environment())
    return definitions.resolve_job_def(pipeline_job_name(SHARDED.name))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    """One home and one run for the module: a multiprocess run costs a process per step."""
    home = Home.at(tmp_path_factory.mktemp("sharded") / "home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv(HOME_VARIABLE, str(home.root))
        env.setenv("DAGSTER_HOME", str(home.dagster))
        yield home


@pytest.fixture(scope="module")
def sharded_run(home: Home) -> dg.ExecutionResult:
    with open_instance(home) as instance:
        # Up to the embeddings: the report and publishing do not depend on the shards.
        result = dg.execute_job(
            dg.reconstructable(sharded_digits_job),
            instance=instance,
            asset_selection=[
                dg.AssetKey(["digits", name])
                for name in ("items", "features", "pca_model", "pca_embeddings")
            ],
        )
        assert result.success
        return result


def test_shards_run_in_their_own_processes(sharded_run: dg.ExecutionResult) -> None:
    assert sharded_digits_job().executor_def.name == "multiprocess"
    starts = {
        event.step_key: event.pid
        for event in sharded_run.all_events
        if event.event_type == dg.DagsterEventType.STEP_START
    }
    shard_pids = {
        starts[f"digits__pca_embeddings.digits__pca_embeddings_shard_{k}"] for k in range(2)
    }
    assert len(shard_pids) == 2


def test_sharded_rows_equal_an_unsplit_run(home: Home, sharded_run, tmp_path) -> None:
    table = embeddings_table("digits", "pca")
    store = LanceStore(home.lancedb)
    sharded = store.read_table(table)
    assert sharded.num_rows == 1797
    assert store.open(table).version == 1  # one commit for both shards
    assert staging_store(store).table_names() == []

    # The same model and features, embedded in one piece.
    unsplit_home = tmp_path / "unsplit"
    shutil.copytree(home.lancedb, unsplit_home)
    unsplit = LanceStore(unsplit_home)
    unsplit.db.drop_table(table)
    encoder, saved = load_encoder(ModelStore(home.models), "digits", "pca")
    run_id = sharded.column("run_id")[0].as_py()
    embed_items(unsplit, Encoding("digits", "pca", encoder, saved.version, run_id))
    assert unsplit.read_table(table).equals(sharded)


def test_the_materialization_says_how_it_was_cut(sharded_run: dg.ExecutionResult) -> None:
    (materialization,) = [
        m
        for m in sharded_run.get_asset_materialization_events()
        if m.asset_key == dg.AssetKey(["digits", "pca_embeddings"])
    ]
    meta = materialization.materialization.metadata
    assert meta["shards"].value == 2
    assert meta["dagster/row_count"].value == 1797
