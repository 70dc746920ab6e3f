"""``--where`` filters: checked against the schema, matched by value on both search paths,
with hostile values treated as data."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from repr_assets.search import FilterError, Searcher, ensure_vector_index, parse_where
from repr_assets.search.filters import bind_filters, filter_mask
from repr_assets.stores.lance import LanceStore
from tests.helpers import SMALL_INDEX, low_rank_vectors, numpy_neighbours, write_embeddings

HOSTILE = [
    "' OR 1=1 --",
    "'",
    '"',
    "`",
    "nul\x00byte",
    "ünï©ødé 数字 🙂",
    "a' OR label IS NOT NULL OR 'a'='a",
    "%",
    "\\",
]
# Labels of the tables: ordinary ones, and every hostile value as the label of some rows.
LABELS = ["0", "1", "2", "3", *HOSTILE]


@pytest.fixture(scope="module", params=["exact", "ann", "ann in memory"])
def table(request, tmp_path_factory):
    """A table searched exactly (600 rows) or through its index (3,000 rows), the index's
    candidates re-ranked by Lance or from the searcher's loaded matrix."""
    path = request.param.split()[0]
    rows = 600 if path == "exact" else 3000
    store = LanceStore(tmp_path_factory.mktemp(path) / "lancedb")
    vectors = low_rank_vectors(rows, seed=5)
    labels = [LABELS[i % len(LABELS)] for i in range(rows)]
    labels[::50] = [None] * len(labels[::50])
    item_ids = write_embeddings(store, "toy_pca", vectors, labels)
    if path == "ann":
        assert ensure_vector_index(store, "toy_pca", SMALL_INDEX).action == "built"
    searcher = Searcher(store, "toy_pca", settings=SMALL_INDEX)
    assert searcher.path == path
    if request.param.endswith("in memory"):
        searcher.load()
    return searcher, vectors, labels, item_ids


def test_a_filter_returns_only_matching_rows_and_the_nearest_of_them(table):
    searcher, vectors, labels, item_ids = table
    queries = low_rank_vectors(20, seed=6)
    is_two = np.array([label == "2" for label in labels])
    is_test = np.arange(len(labels)) % 5 == 0  # write_embeddings' split
    for where, allowed in [
        ({"label": "2"}, is_two),
        ([("label", "2"), ("split", "test")], is_two & is_test),
    ]:
        subset = np.flatnonzero(allowed)
        recalls = []
        for query, hits in zip(queries, searcher.search(queries, 5, where), strict=True):
            assert len(hits) == 5 and set(hits.labels) == {"2"}
            assert all(allowed[item_ids.index(i)] for i in hits.item_ids)
            rows, _ = numpy_neighbours(vectors[subset], query, 5)
            expected = [item_ids[r] for r in subset[rows]]
            if searcher.path == "exact":
                assert hits.item_ids == expected
            recalls.append(len(set(hits.item_ids) & set(expected)) / 5)
        assert np.mean(recalls) >= 0.95


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_match_only_themselves(table, value):
    searcher, _, labels, item_ids = table
    expected = {i for i, label in zip(item_ids, labels, strict=True) if label == value}
    hits = searcher.search(low_rank_vectors(1, seed=7), k=len(item_ids), where={"label": value})[0]
    assert set(hits.labels) == {value}
    assert set(hits.item_ids) <= expected
    if searcher.path == "exact":
        assert set(hits.item_ids) == expected


@pytest.mark.parametrize("value", ["nothing like it", "OR 1=1", "2' --"])
def test_values_that_match_nothing_return_nothing(table, value):
    searcher, *_ = table
    assert len(searcher.search(low_rank_vectors(1, seed=8), where={"label": value})[0]) == 0


def test_search_by_id_with_a_filter(table):
    searcher, _, labels, item_ids = table
    hits = searcher.search_ids([item_ids[3]], k=5, where={"label": labels[3]})[0]
    assert len(hits) == 5 and set(hits.labels) == {labels[3]}
    assert item_ids[3] not in hits.item_ids


def test_an_unknown_column_is_named_with_the_columns_there_are(table):
    searcher, *_ = table
    with pytest.raises(FilterError, match=r"unknown column 'colour'.*item_id, label, split"):
        searcher.search(low_rank_vectors(1), where={"colour": "red"})


@pytest.mark.parametrize("column", ["label OR 1=1", "label'", 'label"', "`label`"])
def test_a_column_name_is_checked_not_interpreted(table, column):
    searcher, *_ = table
    with pytest.raises(FilterError, match="unknown column"):
        searcher.search(low_rank_vectors(1), where={column: "2"})


def test_the_vector_column_cannot_be_filtered(table):
    searcher, *_ = table
    with pytest.raises(FilterError, match=r"'vector'.*cannot be filtered"):
        searcher.search(low_rank_vectors(1), where={"vector": "[1, 2]"})


def test_values_are_cast_to_the_column_type():
    schema = pa.schema([pa.field("n", pa.int64()), pa.field("ok", pa.bool_())])
    rows = pa.table({"n": [1, 2, None, 2], "ok": [True, False, True, None]}, schema=schema)
    filters = bind_filters(schema, [("n", "2")])
    assert filter_mask(rows, filters).tolist() == [False, True, False, True]
    assert filter_mask(rows, bind_filters(schema, [("ok", "true")])).tolist() == [
        True,
        False,
        True,
        False,
    ]
    with pytest.raises(FilterError, match=r"value '2 OR 1=1' for column 'n' is not a valid int64"):
        bind_filters(schema, [("n", "2 OR 1=1")])
    # Python values of the column's kind work too; a null is refused, since it matches nothing.
    assert filter_mask(rows, bind_filters(schema, [("n", 1)])).tolist() == [True] + [False] * 3
    with pytest.raises(FilterError, match="null"):
        bind_filters(schema, [("n", None)])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("label=3", ("label", "3")),
        ("label==3", ("label", "=3")),
        ("label=", ("label", "")),
        (" split =test", ("split", "test")),
        # As a user types it in a shell: `--where "label = class_0"`.
        ("label = class_0", ("label", "class_0")),
        ("label=a=b", ("label", "a=b")),
    ],
)
def test_parse_where(text, expected):
    assert parse_where(text) == expected


@pytest.mark.parametrize("text", ["label", "=3", "", " =x"])
def test_parse_where_refuses_what_is_not_column_equals_value(text):
    with pytest.raises(FilterError, match="COLUMN=VALUE"):
        parse_where(text)
