"""Dropping a data set removes its own tables, and no table another data set's name spells."""

from __future__ import annotations

import pyarrow as pa

from repr_assets.datasets.catalog import Catalog
from repr_assets.datasets.specs import DatasetSpec
from repr_assets.home import Home
from repr_assets.pipeline.drop import drop_dataset
from repr_assets.stores.lance import LanceStore


def test_a_table_whose_name_two_data_sets_spell_is_kept(tmp_path):
    # Made before the command line refused such names: x and x_denoising side by side.
    home = Home.at(tmp_path / "home")
    catalog = Catalog(home)
    for name in ("x", "x_denoising"):
        catalog.store_source_spec(DatasetSpec(name, "tabular", source=str(tmp_path / "x.csv")))
    store = LanceStore(home.lancedb)
    schema = pa.schema([pa.field("item_id", pa.string(), nullable=False)])
    for table in ("x_items", "x_pca", "x_denoising_items", "x_denoising_autoencoder"):
        store.db.create_table(table, pa.table({"item_id": ["a"]}, schema=schema))
    dropped = drop_dataset(catalog, "x")
    assert sorted(dropped.tables) == ["x_items", "x_pca"]
    assert dropped.shared == {"x_denoising_autoencoder": "x_denoising"}
    assert sorted(store.table_names()) == ["x_denoising_autoencoder", "x_denoising_items"]
