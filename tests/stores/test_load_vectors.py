"""Reading a features or embeddings table back: sorted by id, in one preallocated matrix."""

from pathlib import Path

import numpy as np
import pyarrow as pa

from repr_assets.items.hashing import short_hash
from repr_assets.items.schemas import vector_array, vector_schema
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.vectors import FeatureMatrix, load_vectors


def _write(store: LanceStore, ids: list[str], labels: list, X: np.ndarray, batch: int) -> None:
    schema = vector_schema(X.shape[1])
    batches = [
        pa.RecordBatch.from_arrays(
            [
                pa.array(ids[i : i + batch], pa.string()),
                pa.array(labels[i : i + batch], pa.string()),
                pa.nulls(len(ids[i : i + batch]), pa.string()),
                vector_array(X[i : i + batch]),
            ],
            schema=schema,
        )
        for i in range(0, len(ids), batch)
    ]
    store.upsert("t_features", schema, batches)


def test_load_vectors_sorts_rows_by_id_across_batches(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 1000
    ids = [f"id{v:05d}" for v in rng.permutation(10 * n)[:n]]
    labels = [None if i % 7 == 0 else f"c{i % 3}" for i in range(n)]
    X = rng.standard_normal((n, 5)).astype(np.float32)
    store = LanceStore(tmp_path / "db")
    _write(store, ids, labels, X, batch=130)
    data = load_vectors(store, "t_features", batch_size=64)
    order = np.argsort(ids)
    assert data.item_ids == [ids[i] for i in order]
    assert data.labels == [labels[i] for i in order]
    assert data.splits == [None] * n
    assert data.X.dtype == np.float32
    np.testing.assert_array_equal(data.X, X[order])
    # Equal labels are one object, not a million copies.
    assert len({id(label) for label in data.labels if label is not None}) == 3


def test_data_version_is_the_hash_of_ids_and_feature_bytes() -> None:
    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    data = FeatureMatrix(["a", "b", "c", "d"], [None] * 4, [None] * 4, X)
    assert data.data_version == short_hash("a\nb\nc\nd", X.tobytes())
    strided = FeatureMatrix(["a", "b"], [None] * 2, [None] * 2, X[::2, ::2])
    assert strided.data_version == short_hash("a\nb", np.ascontiguousarray(X[::2, ::2]).tobytes())
