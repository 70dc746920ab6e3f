"""Direction queries, z(A) − z(B) + z(C): on a table where the relation holds by
construction, against NumPy's brute force, and from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from repr_assets.search import Searcher
from repr_assets.search.directions import search_direction
from repr_assets.stores.lance import LanceStore
from tests.helpers import SMALL_INDEX, low_rank_vectors, one_line, repr_assets, write_embeddings

ROYAL, MALE = np.eye(8)[0], np.eye(8)[1]


def _words(store: LanceStore) -> dict[str, np.ndarray]:
    """Words as sums of directions: queen = king − man + woman exactly, with distractors
    nearer to king than queen is (a prince, a lord), so that a plain search by king does
    not find queen first."""
    rng = np.random.default_rng(0)
    person = rng.normal(scale=0.3, size=8)
    words = {
        "man": person + MALE,
        "woman": person - MALE,
        "king": person + MALE + ROYAL,
        "queen": person - MALE + ROYAL,
        "prince": person + MALE + 0.9 * ROYAL,
        "lord": person + 1.1 * MALE + 0.8 * ROYAL,
    }
    noise = rng.normal(size=(200, 8))
    vectors = np.vstack([*words.values(), noise]).astype(np.float32)
    ids = [*words, *(f"noise-{i}" for i in range(200))]
    write_embeddings(store, "words_pca", vectors, labels=[None] * len(ids), item_ids=ids)
    return dict(zip(ids, vectors, strict=True))


def test_king_minus_man_plus_woman_is_queen(tmp_path) -> None:
    store = LanceStore(tmp_path)
    _words(store)
    searcher = Searcher(store, "words_pca")
    assert searcher.search_ids(["king"], k=1)[0].item_ids != ["queen"]
    hits = search_direction(searcher, "king", minus=["man"], plus=["woman"], k=3)
    assert hits.item_ids[0] == "queen"
    assert not {"king", "man", "woman"} & set(hits.item_ids)
    assert len(hits) == 3


@pytest.mark.parametrize("exact", [True, False])
def test_a_direction_query_is_numpys_brute_force(tmp_path, exact: bool) -> None:
    store = LanceStore(tmp_path)
    vectors = low_rank_vectors(3000, dim=16)
    ids = write_embeddings(store, "t_pca", vectors)
    if not exact:
        from repr_assets.search.upkeep import ensure_vector_index

        ensure_vector_index(store, "t_pca", SMALL_INDEX)
    searcher = Searcher(store, "t_pca", exact=exact, settings=SMALL_INDEX)
    a, b, c = 5, 17, 2024
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    query = unit[a] - unit[b] + unit[c]
    distances = 1 - unit.astype(np.float64) @ (query / np.linalg.norm(query))
    distances[[a, b, c]] = np.inf
    expected = [ids[i] for i in np.argsort(distances, kind="stable")[:10]]
    hits = search_direction(searcher, ids[a], minus=[ids[b]], plus=[ids[c]], k=10)
    overlap = len(set(hits.item_ids) & set(expected)) / 10
    assert overlap == 1.0 if exact else overlap >= 0.8
    if exact:
        assert hits.item_ids == expected
        np.testing.assert_allclose(hits.distances, np.sort(distances)[:10], atol=1e-5)


def _search(home, *args: str):
    return repr_assets(home, "search", "--dataset", "words", "--encoder", "pca", *args)


def test_the_command_line_takes_minus_and_plus_with_an_id_or_a_vector(tmp_path) -> None:
    home = tmp_path / "home"
    store = LanceStore(home / "lancedb")
    words = _words(store)
    result = _search(home, "--id", "king", "--minus", "man", "--plus", "woman", "-k", "2", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["item_id"] == "queen"
    vector = json.dumps((words["king"] / np.linalg.norm(words["king"])).tolist())
    result = _search(
        home, "--vector", vector, "--minus", "man", "--plus", "woman", "-k", "1", "--json"
    )
    assert result.returncode == 0, result.stderr
    # The vector is king's own: king is a hit like any other item, and queen is nearer.
    assert json.loads(result.stdout)[0]["item_id"] == "queen"
    result = _search(home, "--id", "king", "--minus", "earl")
    assert "'earl'" in one_line(result)
    # Once the table is served, an unknown --minus item is still named as it is, not
    # taken for the query item missing from the served version.
    from repr_assets.stores.serving import move_served

    move_served(store, "words_pca", store.open("words_pca").version)
    served = _search(home, "--id", "king", "--plus", "earl")
    assert one_line(served).endswith("no item 'earl' in table 'words_pca'")
    result = _search(home, "--id", "king", "--minus", "king")
    assert "cancels out" in one_line(result)
