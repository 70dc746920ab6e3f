"""LanceStore: idempotent upserts keyed on item_id, validation that leaves tables untouched."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pytest

from repr_assets.items.schemas import vector_array, vector_schema, vectors_of
from repr_assets.stores.lance import LanceStore

DIM = 4


def _batch(
    ids: list[str], vectors: np.ndarray, labels: list[str | None] | None = None
) -> pa.RecordBatch:
    schema = vector_schema(vectors.shape[1])
    n = len(ids)
    return pa.RecordBatch.from_arrays(
        [
            pa.array(ids, pa.string()),
            pa.array(labels if labels is not None else [str(i % 3) for i in range(n)], pa.string()),
            pa.array([None] * n, pa.string()),
            vector_array(vectors),
        ],
        schema=schema,
    )


def _ids(n: int, start: int = 0) -> list[str]:
    return [f"item-{i:03d}" for i in range(start, start + n)]


def _vectors(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def _batches(ids: list[str], vectors: np.ndarray, size: int) -> list[pa.RecordBatch]:
    return [_batch(ids[s : s + size], vectors[s : s + size]) for s in range(0, len(ids), size)]


def _as_dict(store: LanceStore, name: str) -> dict[str, np.ndarray]:
    table = store.read_table(name)
    return dict(
        zip(table.column("item_id").to_pylist(), vectors_of(table.column("vector")), strict=True)
    )


@pytest.fixture
def store(tmp_path) -> LanceStore:
    return LanceStore(tmp_path / "lancedb")


@pytest.fixture
def filled(store: LanceStore) -> tuple[LanceStore, list[str], np.ndarray]:
    ids, vectors = _ids(20), _vectors(20)
    store.upsert("emb", vector_schema(DIM), _batches(ids, vectors, 8))
    return store, ids, vectors


def _snapshot(store: LanceStore, name: str) -> tuple[int, pa.Table]:
    return store.open(name).version, store.read_table(name)


def test_first_upsert_creates_the_table(store: LanceStore) -> None:
    ids, vectors = _ids(10), _vectors(10)
    result = store.upsert("emb", vector_schema(DIM), _batches(ids, vectors, 4))
    assert result.table == "emb"
    assert result.rows_written == result.inserted == result.total_rows == 10
    assert result.updated == 0
    assert store.table_names() == ["emb"]
    assert store.exists("emb")
    assert store.count("emb") == 10
    stored = _as_dict(store, "emb")
    assert sorted(stored) == ids
    for i, item_id in enumerate(ids):
        np.testing.assert_array_equal(stored[item_id], vectors[i])


def test_upsert_twice_is_idempotent(filled) -> None:
    store, ids, vectors = filled
    before = store.read_table("emb")
    result = store.upsert("emb", vector_schema(DIM), _batches(ids, vectors, 8))
    assert result.inserted == 0
    assert result.updated == 20
    assert result.total_rows == 20
    assert store.count("emb") == 20
    after = store.read_table("emb")
    assert after.equals(before)
    assert len(set(after.column("item_id").to_pylist())) == 20


def test_upsert_replaces_changed_vectors_and_inserts_new_ids(filled) -> None:
    store, ids, vectors = filled
    changed = vectors[:5] + 10.0
    new_ids, new_vectors = _ids(3, start=100), _vectors(3, seed=1)
    result = store.upsert(
        "emb",
        vector_schema(DIM),
        [_batch(ids[:5], changed), _batch(new_ids, new_vectors)],
    )
    assert result.inserted == 3
    assert result.updated == 5
    assert result.rows_written == 8
    assert result.total_rows == 23

    stored = _as_dict(store, "emb")
    assert len(stored) == 23
    for i in range(5):
        np.testing.assert_array_equal(stored[ids[i]], changed[i])
    for i in range(5, 20):  # untouched rows keep their values
        np.testing.assert_array_equal(stored[ids[i]], vectors[i])
    for i, item_id in enumerate(new_ids):
        np.testing.assert_array_equal(stored[item_id], new_vectors[i])


def test_upsert_replaces_other_columns_too(filled) -> None:
    store, ids, vectors = filled
    store.upsert("emb", vector_schema(DIM), [_batch(ids[:2], vectors[:2], labels=["x", None])])
    table = store.read_table("emb")
    labels = dict(
        zip(table.column("item_id").to_pylist(), table.column("label").to_pylist(), strict=True)
    )
    assert labels[ids[0]] == "x"
    assert labels[ids[1]] is None
    assert labels[ids[2]] == "2"


def test_a_different_vector_width_replaces_the_table(filled) -> None:
    store, ids, _ = filled
    wider = _vectors(6, dim=DIM + 2, seed=2)
    result = store.upsert("emb", vector_schema(DIM + 2), [_batch(ids[:6], wider)])
    assert result.total_rows == 6
    assert store.count("emb") == 6
    assert store.open("emb").schema.equals(vector_schema(DIM + 2))
    stored = _as_dict(store, "emb")
    assert sorted(stored) == ids[:6]
    for i in range(6):
        np.testing.assert_array_equal(stored[ids[i]], wider[i])


def test_replace_overwrites_all_rows(filled) -> None:
    store, ids, vectors = filled
    result = store.replace("emb", vector_schema(DIM), [_batch(ids[:3], vectors[:3] * 2)])
    assert result.total_rows == 3
    stored = _as_dict(store, "emb")
    assert sorted(stored) == ids[:3]
    np.testing.assert_array_equal(stored[ids[0]], vectors[0] * 2)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_vector_is_refused_and_names_the_item(filled, bad: float) -> None:
    store, ids, vectors = filled
    before = _snapshot(store, "emb")
    changed = vectors.copy() + 1
    changed[13, 2] = bad
    with pytest.raises(ValueError, match=r"vector of item 'item-013' holds NaN or Inf"):
        store.upsert("emb", vector_schema(DIM), _batches(ids, changed, 8))
    assert _snapshot(store, "emb") == before


def test_duplicate_id_within_one_batch_is_refused(filled) -> None:
    store, ids, vectors = filled
    before = _snapshot(store, "emb")
    dup_ids = [*ids[:4], ids[2]]
    with pytest.raises(ValueError, match=r"duplicate item_id 'item-002'"):
        store.upsert("emb", vector_schema(DIM), [_batch(dup_ids, vectors[:5] + 1)])
    assert _snapshot(store, "emb") == before


def test_duplicate_id_across_batches_of_one_write_is_refused(filled) -> None:
    store, ids, vectors = filled
    before = _snapshot(store, "emb")
    batches = [_batch(ids[:8], vectors[:8] + 1), _batch(ids[7:12], vectors[7:12] + 1)]
    with pytest.raises(ValueError, match=r"duplicate item_id 'item-007'"):
        store.upsert("emb", vector_schema(DIM), batches)
    assert _snapshot(store, "emb") == before


def test_a_later_write_may_repeat_ids_of_an_earlier_write(filled) -> None:
    # The duplicate check is per write: separate writes are upserts, not duplicates.
    store, ids, vectors = filled
    store.upsert("emb", vector_schema(DIM), [_batch(ids[:3], vectors[:3])])
    store.upsert("emb", vector_schema(DIM), [_batch(ids[:3], vectors[:3])])
    assert store.count("emb") == 20


def test_a_batch_with_the_wrong_schema_is_refused(filled) -> None:
    store, ids, vectors = filled
    before = _snapshot(store, "emb")
    wrong = pa.RecordBatch.from_pydict(
        {"item_id": ids[8:10], "vector": vector_array(vectors[8:10])}
    )
    with pytest.raises(ValueError, match="does not match the table's"):
        store.upsert("emb", vector_schema(DIM), [_batch(ids[:8], vectors[:8] + 1), wrong])
    assert _snapshot(store, "emb") == before


def test_a_batch_of_another_width_in_one_write_is_refused(filled) -> None:
    store, ids, vectors = filled
    before = _snapshot(store, "emb")
    with pytest.raises(ValueError, match="does not match"):
        store.upsert(
            "emb",
            vector_schema(DIM),
            [_batch(ids[:8], vectors[:8] + 1), _batch(ids[8:10], _vectors(2, dim=DIM + 1))],
        )
    assert _snapshot(store, "emb") == before


def test_a_bad_batch_when_replacing_the_schema_leaves_the_table(filled) -> None:
    # A new width takes the overwrite path; a bad batch there must not lose the old table.
    store, ids, _ = filled
    before = _snapshot(store, "emb")
    wider = _vectors(6, dim=DIM + 2)
    wider[4, 0] = np.nan
    with pytest.raises(ValueError, match="'item-004'"):
        store.upsert("emb", vector_schema(DIM + 2), [_batch(ids[:6], wider)])
    assert _snapshot(store, "emb") == before
    assert store.open("emb").schema.equals(vector_schema(DIM))


def test_a_null_item_id_is_refused(filled) -> None:
    store, ids, vectors = filled
    before = _snapshot(store, "emb")
    schema = vector_schema(DIM).set(0, pa.field("item_id", pa.string()))
    batch = pa.RecordBatch.from_arrays(
        [
            pa.array([ids[0], None], pa.string()),
            pa.array([None, None], pa.string()),
            pa.array([None, None], pa.string()),
            vector_array(vectors[:2]),
        ],
        schema=schema,
    )
    with pytest.raises(ValueError, match="no item_id"):
        store.upsert("emb", schema, [batch])
    assert _snapshot(store, "emb") == before


@pytest.mark.parametrize("problem", ["nan", "duplicate", "schema"])
def test_a_failed_first_write_leaves_no_table(store: LanceStore, problem: str) -> None:
    ids, vectors = _ids(10), _vectors(10)
    batches = _batches(ids, vectors, 4)
    if problem == "nan":
        bad = vectors[8:].copy()
        bad[1, 0] = np.nan
        batches[-1] = _batch(ids[8:], bad)
    elif problem == "duplicate":
        batches[-1] = _batch([ids[8], ids[0]], vectors[8:])
    else:
        batches[-1] = pa.RecordBatch.from_pydict({"item_id": ids[8:]})
    with pytest.raises(ValueError):
        store.upsert("fresh", vector_schema(DIM), batches)
    assert store.table_names() == []
    assert not store.exists("fresh")
    # And the name can still be used afterwards.
    store.upsert("fresh", vector_schema(DIM), _batches(ids, vectors, 4))
    assert store.count("fresh") == 10


def test_read_batches_respects_batch_size(filled) -> None:
    store, ids, _ = filled
    batches = list(store.read_batches("emb", batch_size=6))
    assert all(b.num_rows <= 6 for b in batches)
    assert sum(b.num_rows for b in batches) == 20
    assert len(batches) >= 4
    read_ids = [i for b in batches for i in b.column("item_id").to_pylist()]
    assert sorted(read_ids) == ids


def test_read_batches_selects_columns(filled) -> None:
    store, _, _ = filled
    batches = list(store.read_batches("emb", columns=["item_id"], batch_size=100))
    assert all(b.schema.names == ["item_id"] for b in batches)


def test_read_table_is_sorted_by_item_id(store: LanceStore) -> None:
    ids, vectors = _ids(30), _vectors(30)
    order = np.random.default_rng(5).permutation(30)
    shuffled_ids = [ids[i] for i in order]
    store.upsert("emb", vector_schema(DIM), _batches(shuffled_ids, vectors[order], 7))
    # A later upsert appends new rows at the end of the storage order.
    store.upsert("emb", vector_schema(DIM), [_batch(["item-000a", "aaa"], _vectors(2, seed=9))])
    table = store.read_table("emb")
    read_ids = table.column("item_id").to_pylist()
    assert read_ids == sorted([*ids, "item-000a", "aaa"])
    stored = vectors_of(table.column("vector"))
    for position, item_id in enumerate(read_ids):
        if item_id in ids:
            np.testing.assert_array_equal(stored[position], vectors[ids.index(item_id)])


def test_missing_table_raises_key_error(store: LanceStore) -> None:
    with pytest.raises(KeyError, match="no LanceDB table 'nope'"):
        store.open("nope")
    with pytest.raises(KeyError):
        list(store.read_batches("nope"))


def test_batches_are_streamed_lazily(store: LanceStore) -> None:
    # A generator that fails half way leaves nothing behind, though batches were consumed.
    ids, vectors = _ids(12), _vectors(12)

    def generate() -> Iterator[pa.RecordBatch]:
        yield _batch(ids[:6], vectors[:6])
        raise ValueError("source broke")

    with pytest.raises(ValueError, match="source broke"):
        store.upsert("lazy", vector_schema(DIM), generate())
    assert store.table_names() == []


def test_a_null_vector_is_refused_naming_the_item(filled) -> None:
    store, ids, vectors = filled
    before = _snapshot(store, "emb")
    vector = pa.array([list(vectors[0]), None], pa.list_(pa.float32(), DIM))
    batch = pa.RecordBatch.from_arrays(
        [
            pa.array(ids[:2], pa.string()),
            pa.array([None, None], pa.string()),
            pa.array([None, None], pa.string()),
            vector,
        ],
        schema=vector_schema(DIM),
    )
    try:
        with pytest.raises(ValueError, match="'item-001'"):
            store.upsert("emb", vector_schema(DIM), [batch])
    finally:
        assert _snapshot(store, "emb") == before
