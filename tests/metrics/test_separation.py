"""Cluster separation in DuckDB SQL against a NumPy computation of its definition."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pytest

from repr_assets.items.schemas import vector_array
from repr_assets.metrics.separation import cluster_separation
from repr_assets.pipeline.embed import embedding_schema
from repr_assets.stores.lance import LanceStore

REL = 1e-6


def _cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(1.0 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _reference(Z: np.ndarray, labels: Sequence[str | None]) -> float:
    """docs/interface.md: mean over classes of (cosine distance from the class centroid to the
    nearest other centroid) / (mean cosine distance of the class's items to their centroid)."""
    Z = np.asarray(Z, dtype=np.float64)
    classes = sorted({label for label in labels if label is not None})
    members = {c: Z[[label == c for label in labels]] for c in classes}
    centroids = {c: members[c].mean(axis=0) for c in classes}
    ratios = []
    for c in classes:
        between = min(_cosine_distance(centroids[c], centroids[o]) for o in classes if o != c)
        within = np.mean([_cosine_distance(z, centroids[c]) for z in members[c]])
        ratios.append(between / within)
    return float(np.mean(ratios))


def _table(Z: np.ndarray, labels: Sequence[str | None]) -> pa.Table:
    n = len(Z)
    return pa.Table.from_batches(
        [
            pa.RecordBatch.from_arrays(
                [
                    pa.array([f"item-{i:04d}" for i in range(n)], pa.string()),
                    pa.array(list(labels), pa.string()),
                    pa.array(["train"] * n, pa.string()),
                    vector_array(Z),
                    pa.array(["v1"] * n, pa.string()),
                    pa.array(["run-1"] * n, pa.string()),
                ],
                schema=embedding_schema(Z.shape[1]),
            )
        ]
    )


def _lance_dataset(tmp_path: Path, Z: np.ndarray, labels: Sequence[str | None]) -> pads.Dataset:
    store = LanceStore(tmp_path / "lancedb")
    table = _table(Z, labels)
    store.upsert("toy_pca", table.schema, table.to_batches(max_chunksize=37))
    return store.dataset("toy_pca")


def _blobs(
    n: int = 120, d: int = 6, n_classes: int = 3, seed: int = 0
) -> tuple[np.ndarray, list[str | None]]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(n_classes, d))
    y = rng.integers(0, n_classes, size=n)
    y[:n_classes] = np.arange(n_classes)
    Z = (centres[y] + rng.normal(size=(n, d))).astype(np.float32)
    return Z, [f"class-{c}" for c in y]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cluster_separation_over_lance_matches_numpy(tmp_path: Path, seed: int) -> None:
    Z, labels = _blobs(n_classes=3 + seed, seed=seed)
    value = cluster_separation(_lance_dataset(tmp_path, Z, labels))
    assert value == pytest.approx(_reference(Z, labels), rel=REL)
    assert value > 0


def test_cluster_separation_of_a_plain_arrow_dataset(tmp_path: Path) -> None:
    Z, labels = _blobs(seed=3)
    value = cluster_separation(pads.dataset(_table(Z, labels)))
    assert value == pytest.approx(_reference(Z, labels), rel=REL)
    assert value == pytest.approx(cluster_separation(_lance_dataset(tmp_path, Z, labels)), rel=1e-9)


def test_cluster_separation_ignores_unlabelled_rows(tmp_path: Path) -> None:
    Z, labels = _blobs(n=150, seed=4)
    rng = np.random.default_rng(5)
    unlabelled = rng.random(len(Z)) < 0.3
    unlabelled[:3] = False  # keep every class
    labels = [None if drop else label for label, drop in zip(labels, unlabelled, strict=True)]
    # Move the unlabelled rows far away: they would change every centroid if counted.
    Z = Z.copy()
    Z[unlabelled] = rng.normal(scale=50.0, size=(int(unlabelled.sum()), Z.shape[1]))
    value = cluster_separation(_lance_dataset(tmp_path, Z, labels))
    assert value == pytest.approx(_reference(Z, labels), rel=REL)
    kept = ~unlabelled
    only_labelled = [label for label, keep in zip(labels, kept, strict=True) if keep]
    assert value == pytest.approx(_reference(Z[kept], only_labelled), rel=REL)


def test_cluster_separation_with_high_dimensional_vectors(tmp_path: Path) -> None:
    # Component order matters for the centroid: a dimension well above 10 catches a
    # centroid assembled in string order of positions (1, 10, 11, ..., 2, ...).
    Z, labels = _blobs(n=60, d=33, n_classes=4, seed=6)
    value = cluster_separation(_lance_dataset(tmp_path, Z, labels))
    assert value == pytest.approx(_reference(Z, labels), rel=REL)


def test_cluster_separation_with_classes_of_unequal_size(tmp_path: Path) -> None:
    Z, labels = _blobs(n=40, n_classes=2, seed=7)
    extra = np.random.default_rng(8).normal(loc=4.0, size=(3, Z.shape[1])).astype(np.float32)
    Z = np.vstack([Z, extra])
    labels = [*labels, "small", "small", "small"]
    value = cluster_separation(_lance_dataset(tmp_path, Z, labels))
    assert value == pytest.approx(_reference(Z, labels), rel=REL)


def test_better_separated_classes_score_higher() -> None:
    Z, labels = _blobs(n=90, seed=9)
    # Pull the items towards their centroids: the spread falls, the centroids stay.
    y = np.array(labels)
    pulled = Z.copy()
    for c in set(labels):
        rows = y == c
        pulled[rows] = Z[rows].mean(axis=0) + 0.3 * (Z[rows] - Z[rows].mean(axis=0))
    loose = cluster_separation(pads.dataset(_table(Z, labels)))
    better = cluster_separation(pads.dataset(_table(pulled, labels)))
    assert better > loose
    assert better == pytest.approx(_reference(pulled, labels), rel=REL)


def test_a_single_class_raises(tmp_path: Path) -> None:
    Z, _ = _blobs(n=30, seed=10)
    labels: list[str | None] = ["only"] * 20 + [None] * 10
    with pytest.raises(ValueError, match="two"):
        cluster_separation(_lance_dataset(tmp_path, Z, labels))


def test_no_labels_at_all_raises() -> None:
    Z, _ = _blobs(n=30, seed=11)
    with pytest.raises(ValueError, match="two"):
        cluster_separation(pads.dataset(_table(Z, [None] * 30)))


def test_zero_vectors_are_left_out() -> None:
    Z, labels = _blobs(seed=3)
    with_zero = np.vstack([Z, np.zeros((1, Z.shape[1]))])
    value = cluster_separation(pads.dataset(_table(with_zero, [*labels, labels[0]])))
    assert value == pytest.approx(_reference(Z, labels), rel=1e-6)


def test_a_class_without_spread_is_left_out() -> None:
    Z, labels = _blobs(seed=4)
    lone = Z[:1] * 0 + 5.0  # one item alone in its class: ratio would be infinite
    value = cluster_separation(pads.dataset(_table(np.vstack([Z, lone]), [*labels, "lone"])))
    assert np.isfinite(value)
