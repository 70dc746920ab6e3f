"""Embedding in item shards gives exactly the rows of one unsplit run, in one commit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from repr_assets.embed import embed_items, embed_shard, write_embedding_shards
from repr_assets.encoders import PCA
from repr_assets.items import vector_array, vector_schema
from repr_assets.shards import plan_shards, staging_store, staging_table
from repr_assets.stores.lance import LanceStore
from repr_assets.tables import embeddings_table, features_table

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
    plan = plan_shards(store, features_table(DATASET), shards)
    # The shards in reverse order: each stages its own rows, whatever runs first.
    for shard in reversed(range(shards)):
        embed_shard(store, plan, shard, DATASET, "pca", encoder, "model-1", run_id, batch_size=7)
    return write_embedding_shards(store, plan, DATASET, "pca", 5, "model-1", run_id).rows_written


@pytest.mark.parametrize("shards", [1, 3, 250])
def test_sharded_rows_equal_unsplit_rows(tmp_path: Path, shards: int) -> None:
    whole, split = LanceStore(tmp_path / "whole"), LanceStore(tmp_path / "split")
    for store in (whole, split):
        _features(store, 200)
    encoder = _encoder(whole)
    embed_items(whole, DATASET, "pca", encoder, "model-1", "run-s")
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
    embed_items(whole, DATASET, "pca", encoder, "model-1", "run-1")
    _sharded(split, encoder, 4, "run-1")
    for store in (whole, split):
        _features(store, 30, start=120)
    embed_items(whole, DATASET, "pca", encoder, "model-1", "run-2")
    assert _sharded(split, encoder, 4, "run-2") == 30
    assert split.read_table(TARGET).equals(whole.read_table(TARGET))

    version = split.open(TARGET).version
    assert _sharded(split, encoder, 4, "run-3") == 0  # nothing new: no commit
    assert split.open(TARGET).version == version


def test_a_missing_shard_writes_nothing(tmp_path: Path) -> None:
    store = LanceStore(tmp_path / "db")
    _features(store, 50)
    encoder = _encoder(store)
    plan = plan_shards(store, features_table(DATASET), 3)
    for shard in (0, 2):
        embed_shard(store, plan, shard, DATASET, "pca", encoder, "model-1", "run-x")
    with pytest.raises(ValueError, match=rf"shards {staging_table(TARGET, 1, 3)} of {TARGET}"):
        write_embedding_shards(store, plan, DATASET, "pca", 5, "model-1", "run-x")
    assert not store.exists(TARGET)


def test_shards_read_the_planned_version(tmp_path: Path) -> None:
    """Items added after the plan are left to the next run, not cut into some shards only."""
    store = LanceStore(tmp_path / "db")
    _features(store, 60)
    encoder = _encoder(store)
    plan = plan_shards(store, features_table(DATASET), 2)
    _features(store, 10, start=60)
    for shard in range(2):
        embed_shard(store, plan, shard, DATASET, "pca", encoder, "model-1", "run-v")
    written = write_embedding_shards(store, plan, DATASET, "pca", 5, "model-1", "run-v")
    assert written.rows_written == 60


def test_bad_shard_numbers_are_refused(tmp_path: Path) -> None:
    store = LanceStore(tmp_path / "db")
    _features(store, 10)
    with pytest.raises(ValueError, match="at least 1, got 0"):
        plan_shards(store, features_table(DATASET), 0)
    with pytest.raises(ValueError, match="shard 2 is not one of the plan's 2"):
        plan_shards(store, features_table(DATASET), 2).bounds(2)
