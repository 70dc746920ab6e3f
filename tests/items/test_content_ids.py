"""Content ids of record files: the label is part of a labelled row's content."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.items.hashing import short_hash
from repr_assets.pipeline.ingest import ingest_items
from repr_assets.sources import SourceError, open_source
from repr_assets.stores.lance import LanceStore

LABELS = ("a", "b", "c")


def write_rows(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def equal_rows_with_three_labels(path: Path) -> Path:
    """300 rows with the same features, 100 under each of three labels."""
    rows = [[1.5, 2.0, "red", LABELS[n % 3]] for n in range(300)]
    return write_rows(path, ["x", "y", "colour", "kind"], rows)


def table_spec(path: Path, **options: object) -> DatasetSpec:
    return DatasetSpec(name="rows", modality="tabular", source=str(path), **options)  # type: ignore[arg-type]


def item_table(store: LanceStore) -> pa.Table:
    return store.read_table("rows_items")


def test_rows_that_differ_only_by_label_are_one_item_per_label(tmp_path, home):
    path = equal_rows_with_three_labels(tmp_path / "rows.csv")
    store = LanceStore(home.lancedb)
    result = ingest_items(table_spec(path, label_column="kind"), store)
    assert (result.new_items, result.duplicates_dropped, result.total_items) == (3, 297, 3)
    assert sorted(item_table(store).column("label").to_pylist()) == list(LABELS)


def test_texts_that_differ_only_by_label_are_one_item_per_label(tmp_path, home):
    rows = [["the same words every time", LABELS[n % 3]] for n in range(300)]
    path = write_rows(tmp_path / "texts.csv", ["review", "topic"], rows)
    spec = DatasetSpec(
        name="texts",
        modality="text",
        source=str(path),
        text_column="review",
        label_column="topic",
    )
    store = LanceStore(home.lancedb)
    result = ingest_items(spec, store)
    assert (result.new_items, result.duplicates_dropped) == (3, 297)
    labels = store.read_table("texts_items").column("label").to_pylist()
    assert sorted(labels) == list(LABELS)


def test_an_id_column_gives_the_ids_unchanged(tmp_path, home):
    rows = [[f"plant-{n:03d}", 1.5, 2.0, "red", LABELS[n % 3]] for n in range(30)]
    path = write_rows(tmp_path / "rows.csv", ["plant_id", "x", "y", "colour", "kind"], rows)
    store = LanceStore(home.lancedb)
    spec = table_spec(path, label_column="kind", id_column="plant_id")
    assert ingest_items(spec, store).new_items == 30
    ids = item_table(store).column("item_id").to_pylist()
    assert ids == [f"plant-{n:03d}" for n in range(30)]


def test_unlabelled_ids_are_those_of_earlier_versions(tmp_path):
    path = write_rows(tmp_path / "rows.csv", ["x", "y", "colour"], [[1.5, "", "red"], [3, 4, ""]])
    items = next(open_source(table_spec(path)).read(64, frozenset())).items
    expected = [
        short_hash("row", np.array([1.5, np.nan]).tobytes(), "red", length=16),
        short_hash("row", np.array([3.0, 4.0]).tobytes(), "\x00", length=16),
    ]
    assert items.column("item_id").to_pylist() == expected

    texts = write_rows(tmp_path / "texts.csv", ["review"], [["a cat sat"], ["a dog ran"]])
    spec = DatasetSpec(name="texts", modality="text", source=str(texts), text_column="review")
    items = next(open_source(spec).read(64, frozenset())).items
    assert items.column("item_id").to_pylist() == [
        short_hash("text", "a cat sat", length=16),
        short_hash("text", "a dog ran", length=16),
    ]


def test_a_label_of_empty_text_and_no_label_are_apart(tmp_path):
    table = pa.table({"x": [1.0, 1.0, 1.0], "kind": pa.array(["", None, "a"], pa.string())})
    import pyarrow.parquet as pq

    pq.write_table(table, tmp_path / "rows.parquet")
    source = open_source(table_spec(tmp_path / "rows.parquet", label_column="kind"))
    ids = next(source.read(64, frozenset())).items.column("item_id").to_pylist()
    assert len(set(ids)) == 3


def test_a_table_ingested_with_label_blind_ids_is_refused_and_left_as_it_was(tmp_path, home):
    path = equal_rows_with_three_labels(tmp_path / "rows.csv")
    spec = table_spec(path, label_column="kind")
    store = LanceStore(home.lancedb)
    source = open_source(spec)
    # What the earlier versions wrote: one item for the 300 rows, its id blind to the label.
    first = next(source.read(4096, frozenset())).items.slice(0, 1)
    old_id = source._content_ids(  # type: ignore[attr-defined]
        {name: first.column(name) for name in ("x", "y", "colour")}, None
    )
    old = first.set_column(0, first.schema.field("item_id"), pa.array(old_id, pa.string()))
    store.replace("rows_items", source.schema, [old])
    version = store.open("rows_items").version
    with pytest.raises(SourceError) as raised:
        ingest_items(spec, store)
    message = str(raised.value)
    assert "\n" not in message
    assert "earlier version" in message and "drop the data set" in message
    assert "repr-assets drop --dataset rows" in message
    assert store.open("rows_items").version == version
    assert store.count("rows_items") == 1


def test_a_table_of_current_ids_is_ingested_again_without_complaint(tmp_path, home):
    path = equal_rows_with_three_labels(tmp_path / "rows.csv")
    spec = table_spec(path, label_column="kind")
    store = LanceStore(home.lancedb)
    ingest_items(spec, store)
    again = ingest_items(spec, store)
    assert (again.new_items, again.total_items) == (0, 3)


def test_a_row_inserted_above_the_others_is_a_new_item_and_they_are_not(tmp_path):
    """A row's line is no identity: after a row is inserted at the top, every other row
    stands one line lower, and must still be known by its content."""
    rows = [[float(n), float(n % 7), LABELS[n % 3]] for n in range(20)]
    path = write_rows(tmp_path / "rows.csv", ["x", "y", "kind"], rows)
    store = LanceStore(tmp_path / "lancedb")
    spec = table_spec(path, label_column="kind")
    assert ingest_items(spec, store).new_items == 20
    write_rows(path, ["x", "y", "kind"], [[99.5, 1.0, "b"], *rows])
    again = ingest_items(spec, store)
    assert (again.new_items, again.already_ingested, again.entries) == (1, 20, 21)
    table = item_table(store)
    assert table.num_rows == 21 and 99.5 in table.column("x").to_pylist()
