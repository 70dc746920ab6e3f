"""The ANN index tuned to a target recall: the shallowest probe depth that reaches it,
measured against NumPy's exact neighbours, stored with the index and used by every search."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from repr_assets.search import Searcher, ensure_vector_index
from repr_assets.search.recall import recall_at_k
from repr_assets.search.tuning import (
    AnnTuning,
    index_ids,
    probe_counts,
    store_tuning,
    stored_tuning,
)
from repr_assets.stores.lance import LanceStore
from tests.helpers import SMALL_INDEX, numpy_neighbours, write_embeddings


def spread_vectors(rows: int, seed: int) -> np.ndarray:
    """Points spread over a 16-d sphere: no cluster holds a query's neighbours alone, so
    one partition of 16 finds few of them and the depth matters."""
    return np.random.default_rng(seed).standard_normal((rows, 16)).astype(np.float32)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    store = LanceStore(tmp_path_factory.mktemp("tuned") / "lancedb")
    vectors = spread_vectors(4000, seed=5)
    item_ids = write_embeddings(store, "toy_pca", vectors)
    report = ensure_vector_index(store, "toy_pca", SMALL_INDEX)
    return store, vectors, item_ids, report


def numpy_recall(searcher: Searcher, vectors: np.ndarray, item_ids: list[str]) -> float:
    """Recall@10 of ``searcher`` by id on 100 rows, against NumPy's brute force."""
    rows = list(range(0, 4000, 40))
    found = searcher.search_ids([item_ids[r] for r in rows], 10)
    exact = [set(numpy_neighbours(vectors, vectors[r], 10, skip=r)[0]) for r in rows]
    return float(
        np.mean(
            [
                len({item_ids.index(i) for i in f.item_ids} & e) / 10
                for f, e in zip(found, exact, strict=True)
            ]
        )
    )


def test_the_index_is_tuned_to_reach_the_target_where_one_probe_does_not(tuned) -> None:
    store, vectors, item_ids, report = tuned
    tuning = report.tuning
    assert tuning is not None and tuning.partitions == 16
    assert tuning.target_recall == 0.95 and tuning.recall >= 0.95 and tuning.reached
    searcher = Searcher(store, "toy_pca", settings=SMALL_INDEX)
    assert searcher.ann is not None
    assert (searcher.ann.probes, searcher.ann.refine_factor) == (
        tuning.nprobes,
        tuning.refine_factor,
    )
    assert numpy_recall(searcher, vectors, item_ids) >= 0.93  # 100 other queries than tuning's
    # The claim has teeth: the shallowest setting finds far fewer.
    searcher.ann.probes, searcher.ann.refine_factor = 1, 1
    assert numpy_recall(searcher, vectors, item_ids) < 0.8


def test_one_probe_fewer_at_the_chosen_refine_factor_misses_the_target(tuned) -> None:
    store, _, _, report = tuned
    tuning = report.tuning
    assert tuning is not None
    if tuning.nprobes == 1:
        pytest.skip("one probe reached the target")
    searcher = Searcher(store, "toy_pca", settings=SMALL_INDEX)
    exact = Searcher(store, "toy_pca", settings=SMALL_INDEX, exact=True)
    from repr_assets.items.sampling import seeded_sample

    positions = seeded_sample(searcher.rows, tuning.queries, 0)
    ids = searcher.dataset.take(positions, columns=["item_id"]).column("item_id").to_pylist()
    assert searcher.ann is not None
    searcher.ann.probes = tuning.nprobes - 1
    shallower = recall_at_k(searcher.search_ids(ids, 10), exact.search_ids(ids, 10))
    assert shallower < 0.95


def test_a_stricter_target_probes_at_least_as_deep(tmp_path) -> None:
    depths = []
    for target in (0.8, 0.99):
        store = LanceStore(tmp_path / str(target) / "lancedb")
        write_embeddings(store, "toy_pca", spread_vectors(4000, seed=5))
        settings = dataclasses.replace(SMALL_INDEX, target_recall=target)
        tuning = ensure_vector_index(store, "toy_pca", settings).tuning
        assert tuning is not None and tuning.recall >= target
        depths.append(tuning.nprobes * tuning.refine_factor)
    assert depths[0] <= depths[1]


def test_a_rebuilt_index_is_tuned_again_and_never_read_with_the_old_choice(tmp_path) -> None:
    store = LanceStore(tmp_path / "lancedb")
    write_embeddings(store, "toy_pca", spread_vectors(4000, seed=5))
    first = ensure_vector_index(store, "toy_pca", SMALL_INDEX).tuning
    assert first is not None and stored_tuning(store.dataset("toy_pca")) == first
    # A new model rewrites every vector: the index is trained again, and so is its depth.
    write_embeddings(store, "toy_pca", spread_vectors(4000, seed=6), model_version="v2")
    stale = store.dataset("toy_pca")
    assert stale.config().get("repr_assets.ann_tuning") is not None  # carried over...
    rebuilt = ensure_vector_index(store, "toy_pca", SMALL_INDEX)
    assert rebuilt.action == "rebuilt" and rebuilt.tuning is not None
    assert rebuilt.tuning.index == index_ids(store.dataset("toy_pca")) != first.index
    assert stored_tuning(store.dataset("toy_pca")) == rebuilt.tuning


def test_a_tuning_measured_on_another_index_is_not_used(tmp_path) -> None:
    store = LanceStore(tmp_path / "lancedb")
    write_embeddings(store, "toy_pca", spread_vectors(4000, seed=5))
    tuning = ensure_vector_index(store, "toy_pca", SMALL_INDEX).tuning
    assert tuning is not None
    other = dataclasses.replace(tuning, index=("another-index",), nprobes=16, refine_factor=8)
    assert AnnTuning.from_json(other.to_json()) == other
    store_tuning(store.dataset("toy_pca"), other)
    assert stored_tuning(store.dataset("toy_pca")) is None
    searcher = Searcher(store, "toy_pca", settings=SMALL_INDEX)
    assert searcher.tuning is None and searcher.ann is not None
    assert (searcher.ann.probes, searcher.ann.refine_factor) == (
        SMALL_INDEX.probes(4000),
        SMALL_INDEX.refine_factor,
    )
    # The next index upkeep measures it again.
    again = ensure_vector_index(store, "toy_pca", SMALL_INDEX)
    assert again.action == "current" and again.tuning is not None
    assert again.tuning.index == index_ids(store.dataset("toy_pca"))


@pytest.mark.parametrize(
    ("partitions", "counts"),
    [(1, [1]), (2, [1, 2]), (16, [1, 2, 4, 8, 16]), (123, [1, 2, 4, 8, 16, 32, 64, 123])],
)
def test_probe_depths_double_up_to_every_partition(partitions: int, counts: list[int]) -> None:
    assert probe_counts(partitions) == counts


def test_the_report_and_the_index_line_say_the_choice(tuned) -> None:
    _, _, _, report = tuned
    assert report.tuning is not None
    line = report.describe()
    assert line.startswith("built (no cosine vector index yet); nprobes ")
    assert f"of 16, refine x{report.tuning.refine_factor}: recall@10 " in line
    assert ">= 0.95 (200 seeded queries" in line
