"""Factor columns of a user's file: kept as item columns, read as the csv module reads
them, and never featurised."""

from __future__ import annotations

import csv

import pyarrow as pa
import pytest

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.featurisers import build_featuriser
from repr_assets.sources import open_source


def _write(path, header, rows) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _items(spec: DatasetSpec) -> pa.Table:
    source = open_source(spec)
    return pa.Table.from_batches(
        [batch.items for batch in source.read(64, frozenset())], schema=source.schema
    )


def test_a_text_sources_factor_columns_come_with_its_items(tmp_path) -> None:
    path = tmp_path / "notes.csv"
    rows = [
        [f"note number {i}, with a comma", "work" if i % 2 else "home", 2000 + i] for i in range(9)
    ]
    _write(path, ["text", "topic", "year"], rows)
    spec = DatasetSpec(
        name="notes",
        modality="text",
        source=str(path),
        text_column="text",
        factor_columns=("topic", "year"),
    )
    items = _items(spec)
    with path.open(newline="") as handle:
        expected = list(csv.DictReader(handle))
    assert items.column("text").to_pylist() == [row["text"] for row in expected]
    assert items.column("topic").to_pylist() == [row["topic"] for row in expected]
    assert items.column("year").to_pylist() == [float(row["year"]) for row in expected]
    assert items.schema.field("year").type == pa.float64()


def test_a_tables_factor_columns_are_items_but_not_features(tmp_path) -> None:
    path = tmp_path / "rows.csv"
    _write(path, ["a", "colour", "size", "kind"], [[i, "red", i * 2, "x"] for i in range(8)])
    spec = DatasetSpec(
        name="rows",
        modality="tabular",
        source=str(path),
        label_column="kind",
        factor_columns=("size",),
    )
    items = _items(spec)
    assert items.column("size").to_pylist() == [float(i * 2) for i in range(8)]
    featuriser = build_featuriser(spec, items.schema)
    featuriser.fit(items.to_batches())
    assert "size" not in " ".join(featuriser.feature_names)
    assert featuriser.feature_names[0] == "a"


def test_a_column_cannot_be_a_factor_and_the_label() -> None:
    with pytest.raises(ValueError, match="both a factor and the label_column"):
        DatasetSpec(
            name="x", modality="tabular", source="x.csv", label_column="k", factor_columns=("k",)
        )
    with pytest.raises(ValueError, match="named twice"):
        DatasetSpec(name="x", modality="tabular", source="x.csv", factor_columns=("a", "a"))
