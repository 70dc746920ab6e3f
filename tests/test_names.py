"""The names of a data set's tables: which other data set's names they can take."""

from __future__ import annotations

from repr_assets.datasets.catalog import Catalog
from repr_assets.datasets.specs import DatasetSpec
from repr_assets.home import Home
from repr_assets.names import dataset_tables, shared_tables
from sample_sources import write_rows
from tests.helpers import one_line, repr_assets

KINDS = ("pca", "autoencoder", "denoising_autoencoder")


def test_tables_are_shared_exactly_when_one_name_and_encoder_spell_anothers():
    # By hand: x + denoising_autoencoder and x_denoising + autoencoder are one table.
    assert shared_tables("x_denoising", ["x"], KINDS) == {"x_denoising_autoencoder": "x"}
    assert shared_tables("x", ["x_denoising"], KINDS) == {"x_denoising_autoencoder": "x_denoising"}
    assert shared_tables("x", ["y", "x"], KINDS) == {}  # itself, and a name apart
    assert shared_tables("digits_pca", ["digits"], KINDS) == {}  # digits_pca_* are its own
    # Against the plain definition: a table of both.
    for a, b in [("a", "a_denoising"), ("a_b", "a"), ("q", "r")]:
        both = set(dataset_tables(a, KINDS)) & set(dataset_tables(b, KINDS))
        assert set(shared_tables(a, [b], KINDS)) == both


def test_a_source_whose_tables_would_be_another_data_sets_is_refused(tmp_path):
    home = tmp_path / "home"
    source = write_rows(tmp_path / "x.csv", 30)
    Catalog(Home.at(home)).store_source_spec(DatasetSpec("x", "tabular", source=str(source)))
    result = repr_assets(home, "run", "--source", str(source), "--dataset", "x_denoising")
    assert result.returncode == 2
    assert "could write the table 'x_denoising_autoencoder' of data set 'x'" in one_line(result)
