"""The write path's batching and checks: joined batches, hashed ids, the write-ahead thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pytest

from repr_assets.items.ids import hash_strings
from repr_assets.items.schemas import vector_array, vector_schema
from repr_assets.stores import lance_writes as lance
from repr_assets.stores.lance import LanceStore

DIM = 3


def _batch(ids: list[str], seed: int = 0) -> pa.RecordBatch:
    vectors = np.random.default_rng(seed).normal(size=(len(ids), DIM)).astype(np.float32)
    return pa.RecordBatch.from_arrays(
        [
            pa.array(ids, pa.string()),
            pa.array([None] * len(ids), pa.string()),
            pa.array([None] * len(ids), pa.string()),
            vector_array(vectors),
        ],
        schema=vector_schema(DIM),
    )


def _ids(n: int, start: int = 0) -> list[str]:
    return [f"id-{i}" for i in range(start, start + n)]


@pytest.fixture
def small_joins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Join batches up to 5 rows, so a write of a few rows spans several joined batches."""
    monkeypatch.setattr(lance, "WRITE_BATCH_ROWS", 5)


def test_small_batches_are_joined_in_order(store_path, small_joins) -> None:
    store = LanceStore(store_path)
    ids = _ids(23)
    batches = [_batch(ids[s : s + 2], seed=s) for s in range(0, 23, 2)]
    joined = list(lance._rechunk(vector_schema(DIM), batches))
    assert [b.num_rows for b in joined] == [6, 6, 6, 5]
    store.upsert("emb", vector_schema(DIM), batches)
    assert store.read_table("emb").equals(pa.Table.from_batches(batches).sort_by("item_id"))


def test_wide_rows_are_joined_by_size_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lance, "WRITE_BATCH_BYTES", 1)
    batches = [_batch(_ids(2, start=s)) for s in range(0, 6, 2)]
    assert [b.num_rows for b in lance._rechunk(vector_schema(DIM), batches)] == [2, 2, 2]


def test_a_repeat_in_a_later_joined_batch_is_refused(store_path, small_joins) -> None:
    # The repeat is found after every batch passed, and still before the commit.
    store = LanceStore(store_path)
    store.upsert("emb", vector_schema(DIM), [_batch(_ids(4))])
    version = store.open("emb").version
    ids = [*_ids(12, start=10), "id-13", *_ids(3, start=30)]
    with pytest.raises(ValueError, match=r"duplicate item_id 'id-13'"):
        store.upsert("emb", vector_schema(DIM), [_batch(ids[s : s + 3]) for s in range(0, 16, 3)])
    assert store.open("emb").version == version
    assert store.count("emb") == 4


def test_equal_hashes_of_different_ids_are_not_repeats(store_path, monkeypatch) -> None:
    monkeypatch.setattr(lance, "hash_strings", lambda ids: np.zeros(len(ids), np.uint64))
    store = LanceStore(store_path)
    store.upsert("emb", vector_schema(DIM), [_batch(_ids(8))])
    assert store.count("emb") == 8
    with pytest.raises(ValueError, match=r"duplicate item_id 'id-2'"):
        store.upsert("emb", vector_schema(DIM), [_batch([*_ids(5), "id-2"])])


def test_hash_strings_is_equal_for_equal_strings_whatever_the_buffers() -> None:
    values = ["", "a", "a\x00", "ab", "ba", "", "ab", "é", "x" * 300]
    hashes = hash_strings(pa.array(values))
    assert len(set(hashes.tolist())) == len(set(values))
    for i, value in enumerate(values):
        assert hashes[i] == hashes[values.index(value)]
    sliced = pa.array(["zz", *values]).slice(1)
    np.testing.assert_array_equal(hash_strings(sliced), hashes)
    np.testing.assert_array_equal(hash_strings(pa.array(values, pa.large_string())), hashes)
    assert hash_strings(pa.array(["", ""])).tolist() == [0, 0]
    # Empty strings after the last non-empty one must not cut its last byte.
    prefix, whole, _ = hash_strings(pa.array(["ab", "abc", ""])).tolist()
    assert prefix == hash_strings(pa.array(["ab"]))[0] and whole != prefix


def test_ids_of_one_length_hash_as_they_do_among_others() -> None:
    # One length takes a faster path; it must give the very same hashes, or a repeat
    # across two batches (one of them all of one length) would go unseen.
    same_length = [f"item-{i:04d}" for i in range(50)]
    alone = hash_strings(pa.array(same_length))
    among_others = hash_strings(pa.array([*same_length, "longer-item-id"]))
    np.testing.assert_array_equal(alone, among_others[:-1])
    long_ids = ["x" * 100, "y" * 100]
    np.testing.assert_array_equal(
        hash_strings(pa.array(long_ids)), hash_strings(pa.array([*long_ids, "z"]))[:-1]
    )


def test_write_ahead_passes_errors_on_and_lets_its_worker_go() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("source broke")

    with pytest.raises(ValueError, match="source broke"):
        list(lance._ahead(failing()))

    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            while True:
                yield 1
        finally:
            closed.set()

    ahead = lance._ahead(endless())
    assert next(ahead) == 1
    ahead.close()  # the reader stops early, as Lance does when its own side fails
    assert closed.wait(5)
    deadline = time.monotonic() + 5
    while any(t.name == "lance-write-ahead" for t in threading.enumerate()):
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "lancedb"
