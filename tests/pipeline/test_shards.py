"""Embedding in item shards gives exactly the rows of one unsplit run, in one commit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from repr_assets.encoders.pca import PCA
from repr_assets.items.schemas import vector_array, vector_schema
from repr_assets.names import embeddings_table, features_table
from repr_assets.pipeline.embed import Encoding, embed_items, embed_shard
from repr_assets.pipeline.shards import (
    drop_staging,
    plan_shards,
    staging_runs,
    staging_store,
    staging_table,
    write_shards,
)
from repr_assets.stores.lance import LanceStore

DATASET = "shardy"
TARGET = embeddings_table(DATASET, "pca")


def _features(store: LanceStore, n: int, start: int = 0) -> None:
    rng = np.random.default_rng(start)
    ids = [f"item-{i:05d}" for i in range(start, start + n)]
    batch = pa.RecordBatch.from_arrays(
        [
            pa.array(ids, pa.string()),
            pa.array([str(i % 4) for i in range(start, start + n)], pa.string()),
            pa.array(["train"] * n, pa.string()),
            vector_array(rng.normal(size=(n, 12)).astype(np.float32)),
        ],
        schema=vector_schema(12),
    )
    store.upsert(features_table(DATASET), vector_schema(12), [batch])


def _encoder(store: LanceStore) -> PCA:
    X = np.stack(store.read_table(features_table(DATASET)).column("vector").to_numpy(False))
    return PCA(5).fit(X.astype(np.float32))


def _sharded(store: LanceStore, encoder: PCA, shards: int, run_id: str = "run-s") -> int:
    plan = plan_shards(store, features_table(DATASET), shards, run_id)
    # The shards in reverse order: each stages its own rows, whatever runs first.
    for shard in reversed(range(shards)):
        embed_shard(
            store, plan, shard, Encoding(DATASET, "pca", encoder, "model-1", run_id), batch_size=7
        )
    return write_shards(store, plan, TARGET).rows_written


@pytest.mark.parametrize("shards", [1, 3, 250])
def test_sharded_rows_equal_unsplit_rows(tmp_path: Path, shards: int) -> None:
    whole, split = LanceStore(tmp_path / "whole"), LanceStore(tmp_path / "split")
    for store in (whole, split):
        _features(store, 200)
    encoder = _encoder(whole)
    embed_items(whole, Encoding(DATASET, "pca", encoder, "model-1", "run-s"))
    assert _sharded(split, encoder, shards) == 200  # 250 shards: some of them are empty

    expected, got = whole.read_table(TARGET), split.read_table(TARGET)
    assert got.num_rows == 200
    assert got.equals(expected)
    assert split.open(TARGET).version == 1  # one commit
    assert staging_store(split).table_names() == []  # staging dropped
    assert split.table_names() == sorted([features_table(DATASET), TARGET])


def test_sharded_run_adds_only_new_items(tmp_path: Path) -> None:
    whole, split = LanceStore(tmp_path / "whole"), LanceStore(tmp_path / "split")
    for store in (whole, split):
        _features(store, 120)
    encoder = _encoder(whole)
    embed_items(whole, Encoding(DATASET, "pca", encoder, "model-1", "run-1"))
    _sharded(split, encoder, 4, "run-1")
    for store in (whole, split):
        _features(store, 30, start=120)
    embed_items(whole, Encoding(DATASET, "pca", encoder, "model-1", "run-2"))
    assert _sharded(split, encoder, 4, "run-2") == 30
    assert split.read_table(TARGET).equals(whole.read_table(TARGET))

    version = split.open(TARGET).version
    assert _sharded(split, encoder, 4, "run-3") == 0  # nothing new: no commit
    assert split.open(TARGET).version == version


def test_a_missing_shard_writes_nothing(tmp_path: Path) -> None:
    store = LanceStore(tmp_path / "db")
    _features(store, 50)
    encoder = _encoder(store)
    plan = plan_shards(store, features_table(DATASET), 3, "run-x")
    for shard in (0, 2):
        embed_shard(store, plan, shard, Encoding(DATASET, "pca", encoder, "model-1", "run-x"))
    missing = staging_table(TARGET, "run-x", 1, 3)
    with pytest.raises(ValueError, match=rf"shards {missing} of {TARGET} were not computed"):
        write_shards(store, plan, TARGET)
    assert not store.exists(TARGET)
    assert staging_runs(store, TARGET) == {"run-x"}
    drop_staging(store, TARGET, "run-x")  # what a later run does with a failed run's shards
    assert staging_store(store).table_names() == []


def test_two_runs_stage_apart(tmp_path: Path) -> None:
    """Two runs sharding the same table at once never read each other's staged rows."""
    store = LanceStore(tmp_path / "db")
    _features(store, 40)
    encoder = _encoder(store)
    plans = {run: plan_shards(store, features_table(DATASET), 2, run) for run in ("a", "b")}
    for run, plan in plans.items():
        for shard in range(2):
            embed_shard(store, plan, shard, Encoding(DATASET, "pca", encoder, f"model-{run}", run))
    assert staging_runs(store, TARGET) == {"a", "b"}
    write_shards(store, plans["a"], TARGET)
    assert set(store.read_table(TARGET).column("run_id").to_pylist()) == {"a"}
    assert staging_runs(store, TARGET) == {"b"}  # b's shards are still there to write
    write_shards(store, plans["b"], TARGET)
    assert set(store.read_table(TARGET).column("model_version").to_pylist()) == {"model-b"}


def test_shards_read_the_planned_version(tmp_path: Path) -> None:
    """Items added after the plan are left to the next run, not cut into some shards only."""
    store = LanceStore(tmp_path / "db")
    _features(store, 60)
    encoder = _encoder(store)
    plan = plan_shards(store, features_table(DATASET), 2, "run-v")
    _features(store, 10, start=60)
    for shard in range(2):
        embed_shard(store, plan, shard, Encoding(DATASET, "pca", encoder, "model-1", "run-v"))
    written = write_shards(store, plan, TARGET)
    assert written.rows_written == 60


def test_bad_shard_numbers_are_refused(tmp_path: Path) -> None:
    store = LanceStore(tmp_path / "db")
    _features(store, 10)
    with pytest.raises(ValueError, match="at least 1, got 0"):
        plan_shards(store, features_table(DATASET), 0, "run")
    with pytest.raises(ValueError, match="shard 2 is not one of the plan's 2"):
        plan_shards(store, features_table(DATASET), 2, "run").bounds(2)
    with pytest.raises(ValueError, match="only letters, digits and hyphens"):
        plan_shards(store, features_table(DATASET), 2, "../run")
