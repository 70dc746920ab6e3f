"""The Searcher on real LanceDB tables: both paths against NumPy brute force, index upkeep,
recall. ``write_embeddings`` and ``low_rank_vectors`` also serve the other search tests."""

from __future__ import annotations

import numpy as np
import pytest

from repr_assets.search import (
    IndexSettings,
    Searcher,
    UnknownItemError,
    ensure_vector_index,
    recall_at_k,
    search_recall,
)
from repr_assets.stores.lance import LanceStore
from tests.helpers import SMALL_INDEX, low_rank_vectors, numpy_neighbours, write_embeddings


# Small enough to build an index in about a second, with partitions of 256 rows.
@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A 600-row table: below any index threshold, so always searched exactly."""
    store = LanceStore(tmp_path_factory.mktemp("small") / "lancedb")
    vectors = low_rank_vectors(600, seed=1)
    item_ids = write_embeddings(store, "toy_pca", vectors)
    return store, vectors, item_ids


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """A 4,000-row table with an IVF index (SMALL_INDEX), so searched through the index."""
    store = LanceStore(tmp_path_factory.mktemp("indexed") / "lancedb")
    vectors = low_rank_vectors(4000, seed=2)
    item_ids = write_embeddings(store, "toy_pca", vectors)
    report = ensure_vector_index(store, "toy_pca", SMALL_INDEX)
    assert report.action == "built"
    return store, vectors, item_ids


def test_exact_path_returns_the_numpy_top_k(small):
    store, vectors, item_ids = small
    searcher = Searcher(store, "toy_pca")
    assert searcher.path == "exact"
    queries = low_rank_vectors(20, seed=9)
    for query, hits in zip(queries, searcher.search(queries, k=10), strict=True):
        rows, distances = numpy_neighbours(vectors, query, 10)
        assert hits.item_ids == [item_ids[r] for r in rows]
        assert hits.labels == [str(r % 10) for r in rows]
        np.testing.assert_allclose(hits.distances, distances, atol=1e-5)


def test_search_by_id_leaves_the_item_out(small):
    store, vectors, item_ids = small
    searcher = Searcher(store, "toy_pca")
    hits = searcher.search_ids([item_ids[7], item_ids[300]], k=5)
    for row, found in zip([7, 300], hits, strict=True):
        rows, _ = numpy_neighbours(vectors, vectors[row], 5, skip=row)
        assert found.item_ids == [item_ids[r] for r in rows]
        assert item_ids[row] not in found.item_ids


def test_k_larger_than_the_table_returns_every_other_row(small):
    store, _, item_ids = small
    hits = Searcher(store, "toy_pca").search_ids([item_ids[0]], k=10_000)[0]
    assert len(hits) == len(item_ids) - 1
    assert np.all(np.diff(hits.distances) >= 0)


def ann_searcher(store: LanceStore, in_memory: bool) -> Searcher:
    """The ANN path, re-ranking by Lance (a fresh searcher) or from its loaded matrix."""
    searcher = Searcher(store, "toy_pca", settings=SMALL_INDEX)
    assert searcher.path == "ann"
    return searcher.load() if in_memory else searcher


@pytest.mark.parametrize("in_memory", [False, True])
def test_ann_path_meets_its_recall_with_exact_distances(indexed, in_memory):
    store, vectors, item_ids = indexed
    searcher = ann_searcher(store, in_memory)
    # New points of the table's own distribution (its mixing, other codes and noise): the
    # index is tuned on items of the table to a recall@10 of 0.95, and 100 other queries
    # may fall a little short of it.
    queries = low_rank_vectors(4100, seed=2)[4000:]
    found = searcher.search(queries, k=10)
    positions = {item_id: row for row, item_id in enumerate(item_ids)}
    recalls = []
    for query, hits in zip(queries, found, strict=True):
        rows, _ = numpy_neighbours(vectors, query, 10)
        recalls.append(len(set(hits.item_ids) & {item_ids[r] for r in rows}) / 10)
        # Refined: the distances are the exact cosine distances of the rows returned.
        hit_rows = [positions[i] for i in hits.item_ids]
        unit = vectors[hit_rows] / np.linalg.norm(vectors[hit_rows], axis=1, keepdims=True)
        exact = 1.0 - unit @ (query / np.linalg.norm(query))
        np.testing.assert_allclose(hits.distances, exact, atol=1e-4)
        assert np.all(np.diff(hits.distances) >= 0)
    assert np.mean(recalls) >= 0.93


@pytest.mark.parametrize("in_memory", [False, True])
def test_ann_search_by_id_leaves_the_item_out(indexed, in_memory):
    store, _, item_ids = indexed
    hits = ann_searcher(store, in_memory).search_ids(item_ids[:20], k=10)
    for item_id, found in zip(item_ids[:20], hits, strict=True):
        assert len(found) == 10 and item_id not in found.item_ids


def test_both_ways_of_re_ranking_give_the_same_neighbours(indexed, monkeypatch):
    # Blocks of 7 queries, so that the 50 queries take several blocks each way.
    monkeypatch.setattr("repr_assets.search.ann.QUERY_BLOCK", 7)
    monkeypatch.setattr("repr_assets.search.searcher.QUERY_BLOCK", 7)
    store, _, item_ids = indexed
    queries = low_rank_vectors(50, seed=12)
    by_lance = ann_searcher(store, in_memory=False)
    in_memory = ann_searcher(store, in_memory=True)
    for lance_hits, memory_hits in zip(
        by_lance.search(queries, k=10) + by_lance.search_ids(item_ids[:50], k=10),
        in_memory.search(queries, k=10) + in_memory.search_ids(item_ids[:50], k=10),
        strict=True,
    ):
        assert lance_hits.item_ids == memory_hits.item_ids
        np.testing.assert_allclose(lance_hits.distances, memory_hits.distances, atol=1e-5)


def test_the_path_follows_table_size_index_and_exact(small, indexed, tmp_path):
    assert Searcher(indexed[0], "toy_pca", settings=SMALL_INDEX).path == "ann"
    assert Searcher(indexed[0], "toy_pca", exact=True, settings=SMALL_INDEX).path == "exact"
    # The same indexed table counts as small under the default threshold (250k rows).
    assert Searcher(indexed[0], "toy_pca").path == "exact"
    # Large enough, but no index yet.
    store = LanceStore(tmp_path / "lancedb")
    write_embeddings(store, "toy_pca", low_rank_vectors(1200))
    assert Searcher(store, "toy_pca", settings=SMALL_INDEX).path == "exact"


def test_ensure_vector_index_builds_extends_and_retrains(tmp_path):
    store = LanceStore(tmp_path / "lancedb")
    vectors = low_rank_vectors(1500, seed=3)
    write_embeddings(store, "toy_pca", vectors[:900])
    assert ensure_vector_index(store, "toy_pca", SMALL_INDEX).action == "none"

    write_embeddings(store, "toy_pca", vectors[900:1200], first_id=900)
    built = ensure_vector_index(store, "toy_pca", SMALL_INDEX)
    assert (built.action, built.indexed_rows, built.unindexed_rows) == ("built", 1200, 0)
    assert ensure_vector_index(store, "toy_pca", SMALL_INDEX).action == "current"

    # A few new rows are added to the index.
    write_embeddings(store, "toy_pca", vectors[1200:1500], first_id=1200)
    extended = ensure_vector_index(store, "toy_pca", SMALL_INDEX)
    assert (extended.action, extended.indexed_rows, extended.unindexed_rows) == (
        "optimized",
        1500,
        0,
    )

    # A new model version rewrites every vector: the index is trained again.
    write_embeddings(store, "toy_pca", low_rank_vectors(1500, seed=4), model_version="v2")
    rebuilt = ensure_vector_index(store, "toy_pca", SMALL_INDEX)
    assert (rebuilt.action, rebuilt.indexed_rows, rebuilt.unindexed_rows) == ("rebuilt", 1500, 0)


def test_search_recall_measures_the_ann_path_and_is_one_when_exact(small, indexed):
    assert search_recall(small[0], "toy_pca") == 1.0
    recall = search_recall(indexed[0], "toy_pca", settings=SMALL_INDEX)
    assert recall is not None and 0.95 <= recall <= 1.0


def test_search_recall_is_none_without_neighbours(tmp_path):
    store = LanceStore(tmp_path / "lancedb")
    write_embeddings(store, "toy_pca", low_rank_vectors(1))
    assert search_recall(store, "toy_pca") is None


def test_recall_at_k_counts_shared_ids():
    from repr_assets.search import Hits

    def hits(*ids):
        return Hits(list(ids), [None] * len(ids), np.zeros(len(ids), np.float32))

    assert recall_at_k([hits("a", "b"), hits("c", "d")], [hits("a", "x"), hits("c", "d")]) == 0.75


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (np.ones(31), "needs 32 numbers"),
        (np.zeros(32), "all zeros"),
        (np.full(32, np.nan), "NaN"),
    ],
)
def test_bad_query_vectors_are_refused(small, query, message):
    with pytest.raises(ValueError, match=message):
        Searcher(small[0], "toy_pca").search(query)


def test_an_unknown_item_is_named(small, indexed):
    for store, settings in [(small[0], IndexSettings()), (indexed[0], SMALL_INDEX)]:
        with pytest.raises(UnknownItemError, match="no item 'nope'"):
            Searcher(store, "toy_pca", settings=settings).search_ids(["item-000001", "nope"])
