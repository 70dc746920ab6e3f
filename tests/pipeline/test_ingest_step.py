"""The items step refuses a data set too small to fit, whoever runs it (a schedule, the
UI, a sensor), not only the command line; and writes nothing then."""

from __future__ import annotations

import duckdb
import pytest

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.pipeline.ingest import MIN_ITEMS, ingest
from repr_assets.sources import SourceError
from repr_assets.stores.lance import LanceStore


def spec_of(path) -> DatasetSpec:
    return DatasetSpec(name="tiny", modality="tabular", source=str(path), label_column="kind")


def write_rows(path, rows: int):
    path.write_text("x,y,kind\n" + "".join(f"{n},{n % 3},{'ab'[n % 2]}\n" for n in range(rows)))
    return path


def test_the_items_step_refuses_a_source_too_small_to_fit(tmp_path):
    store, reports = LanceStore(tmp_path / "lancedb"), tmp_path / "reports.duckdb"
    spec = spec_of(write_rows(tmp_path / "tiny.csv", MIN_ITEMS - 1))
    with pytest.raises(SourceError, match=f"{MIN_ITEMS - 1} distinct readable items"):
        ingest(spec, store, lambda: duckdb.connect(str(reports)), "run")
    assert store.table_names() == [] and not reports.exists()


def test_the_items_step_takes_the_smallest_source_that_fits(tmp_path):
    store, reports = LanceStore(tmp_path / "lancedb"), tmp_path / "reports.duckdb"
    spec = spec_of(write_rows(tmp_path / "tiny.csv", MIN_ITEMS))
    result = ingest(spec, store, lambda: duckdb.connect(str(reports)), "run")
    assert result.new_items == MIN_ITEMS == store.count("tiny_items")
