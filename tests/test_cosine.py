"""The one cosine top-k, for search and the metrics alike, against NumPy brute force in
float64 and a stable argsort."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from repr_assets.cosine import ExactIndex, cosine_topk, normalise_rows, top_k
from sample_sources import gaussian_blobs


def reference_top_k(matrix, queries, k, allowed=None, exclude=None):
    """Row indices of the k largest cosine similarities, from a float64 NumPy argsort."""
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    unit_queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    scores = unit_queries.astype(np.float64) @ unit.T.astype(np.float64)
    if allowed is not None:
        scores[:, ~allowed] = -np.inf
    if exclude is not None:
        for query, row in enumerate(exclude):
            if row >= 0:
                scores[query, row] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(scores, order, axis=1)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((3000, 24)).astype(np.float32)
    queries = rng.standard_normal((40, 24)).astype(np.float32)
    return matrix, queries


@pytest.mark.parametrize("k", [1, 10, 57])
@pytest.mark.parametrize("score_budget", [1 << 25, 5000])  # one block; many blocks
def test_top_k_is_numpy_brute_force(data, k, score_budget):
    matrix, queries = data
    index = ExactIndex(normalise_rows(matrix.copy()), score_budget=score_budget)
    rows, similarities = index.search(normalise_rows(queries.copy()), k)
    expected_rows, expected_scores = reference_top_k(matrix, queries, k)
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_allclose(similarities, expected_scores, atol=1e-5)


def test_allowed_and_excluded_rows_are_never_returned(data):
    matrix, queries = data
    allowed = np.random.default_rng(1).random(len(matrix)) < 0.3
    exclude = np.where(np.arange(len(queries)) % 2 == 0, np.arange(len(queries)) * 7, -1)
    # Make each excluded row the best match of its query, so leaving it out shows.
    queries = queries.copy()
    queries[exclude >= 0] = matrix[exclude[exclude >= 0]]
    allowed[exclude[exclude >= 0]] = True
    index = ExactIndex(normalise_rows(matrix.copy()))
    rows, _ = index.search(normalise_rows(queries.copy()), 10, allowed=allowed, exclude=exclude)
    expected, _ = reference_top_k(matrix, queries, 10, allowed=allowed, exclude=exclude)
    np.testing.assert_array_equal(rows, expected)
    assert allowed[rows].all()
    assert not (rows[exclude >= 0] == exclude[exclude >= 0, None]).any()


def test_fewer_allowed_rows_than_k_leaves_the_tail_empty(data):
    matrix, queries = data
    allowed = np.zeros(len(matrix), dtype=bool)
    allowed[[5, 9, 11]] = True
    rows, similarities = ExactIndex(normalise_rows(matrix.copy())).search(
        normalise_rows(queries[:2].copy()), 5, allowed=allowed
    )
    assert (np.sort(rows[:, :3], axis=1) == [5, 9, 11]).all()
    assert (rows[:, 3:] == -1).all() and np.isneginf(similarities[:, 3:]).all()


def test_search_among_ranks_only_each_querys_candidates(data):
    matrix, queries = data
    rng = np.random.default_rng(2)
    candidates = np.stack([rng.choice(len(matrix), 30, replace=False) for _ in queries])
    candidates[::3, 20:] = -1  # some queries have fewer candidates
    allowed = rng.random(len(matrix)) < 0.8
    exclude = candidates[:, 0].copy()
    index = ExactIndex(normalise_rows(matrix.copy()))
    rows, similarities = index.search_among(
        normalise_rows(queries.copy()), candidates, 10, allowed=allowed, exclude=exclude
    )
    for query, (own, found) in enumerate(zip(candidates, rows, strict=True)):
        eligible = own[(own >= 0) & (own != exclude[query])]
        eligible = eligible[allowed[eligible]]
        ranked, _ = reference_top_k(matrix[eligible], queries[[query]], 10)
        np.testing.assert_array_equal(found, eligible[ranked[0]])
    assert np.isfinite(similarities).all()


def test_equal_scores_come_in_row_order():
    matrix = np.tile(np.eye(4, dtype=np.float32), (3, 1))  # rows i, i+4, i+8 are equal
    rows, similarities = ExactIndex(normalise_rows(matrix)).search(matrix[[2]], 3)
    assert rows.tolist() == [[2, 6, 10]]
    np.testing.assert_allclose(similarities, 1.0)


def test_normalise_rows_gives_unit_rows_and_keeps_zero_rows_zero():
    rows = normalise_rows(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32))
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 0.0]])


@given(
    scores=hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=300),
        # Few distinct values, so that ties are common, and blocked rows (-inf).
        elements=st.sampled_from([-np.inf, -1.0, 0.0, 0.25, 0.5, 1.0, np.nan]),
    ),
    k=st.integers(0, 45),
    chunk=st.sampled_from([1, 2, 3, 7, 512]),  # small ones take the chunked path
)
def test_top_k_is_a_stable_argsort(scores, k, chunk):
    """The oracle: sort each row by value, largest first, ties by column (a stable sort),
    a NaN as -inf: never a neighbour before a number, never from another row."""
    columns, values = top_k(scores, k, chunk=chunk)
    as_numbers = np.where(np.isnan(scores), -np.inf, scores)
    expected = np.argsort(-as_numbers, axis=1, kind="stable")[:, : min(k, scores.shape[1])]
    np.testing.assert_array_equal(columns, expected)
    np.testing.assert_array_equal(values, np.take_along_axis(as_numbers, expected, axis=1))


@given(
    scores=hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 6), st.integers(200, 3000)),
        elements=st.floats(-1, 1, width=32, allow_subnormal=False),
    ),
    k=st.integers(1, 12),
)
def test_top_k_of_long_rows_of_distinct_scores_is_a_stable_argsort(scores, k):
    columns, _ = top_k(scores, k, chunk=16)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(columns, expected)


def test_cosine_topk_matches_brute_force() -> None:
    Z, _ = gaussian_blobs(n=300, spread=2.5)
    whole = cosine_topk(Z[200:], Z[:200], k=10)
    unit = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    expected = np.argsort(-(unit[200:] @ unit[:200].T), axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(whole, expected)


def test_cosine_topk_leaves_its_inputs_alone_and_reads_read_only_ones() -> None:
    Z, _ = gaussian_blobs(n=60, spread=2.5)
    keys, queries = Z[:40].copy(), Z[40:].copy()
    before = keys.copy(), queries.copy()
    expected = cosine_topk(queries, keys, k=5)
    np.testing.assert_array_equal(keys, before[0])
    np.testing.assert_array_equal(queries, before[1])
    keys.flags.writeable = queries.flags.writeable = False  # as arrays read from Arrow
    np.testing.assert_array_equal(cosine_topk(queries, keys, k=5), expected)
    column = keys[:, :1]  # one dimension: its transpose is contiguous already
    np.testing.assert_array_equal(cosine_topk(queries[:, :1], column, k=3).shape, (20, 3))
    np.testing.assert_array_equal(keys, before[0])


def test_cosine_topk_can_exclude_each_query_itself() -> None:
    Z, _ = gaussian_blobs(n=50, spread=2.5)
    neighbours = cosine_topk(Z, Z, k=5, exclude=np.arange(50))
    assert neighbours.shape == (50, 5)
    assert not (neighbours == np.arange(50)[:, None]).any()


def test_normalise_rows_copies_a_read_only_array_and_keeps_zero_rows():
    rows = np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    rows.flags.writeable = False  # as arrays read from Arrow are
    np.testing.assert_allclose(normalise_rows(rows), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_array_equal(rows, [[3.0, 4.0], [0.0, 0.0]])
