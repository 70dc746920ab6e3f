"""The factor and manifold metrics in a whole run: the built-in generated data sets, made
small, through ``dg.materialize``, and a user's table with ``--factor-columns``."""

from __future__ import annotations

import csv
import dataclasses

import duckdb
import numpy as np
import pytest

from repr_assets.datasets.specs import SHAPES, SWISS_ROLL
from repr_assets.home import Home
from repr_assets.sources import generated
from repr_assets.stores.lance import LanceStore
from tests.helpers import materialize_report, one_line, repr_assets

FACTOR_METRICS = {"mig", "sap", "dci_disentanglement", "dci_completeness", "dci_informativeness"}


@pytest.fixture(scope="module")
def shapes_report(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(generated, "SHAPES_SIZE", 900)
        home = Home.at(tmp_path_factory.mktemp("shapes"))
        spec = dataclasses.replace(SHAPES, encoders=("pca", "beta_vae"))
        return home, materialize_report(home, spec, epochs=5)


def test_shapes_reports_every_factor_metric_for_each_encoder(shapes_report) -> None:
    home, values = shapes_report
    for encoder in ("pca", "beta_vae"):
        reported = {metric for (e, metric) in values if e == encoder}
        assert reported >= FACTOR_METRICS | {"factor_r2", "continuity", "intrinsic_dimension"}
        assert reported >= {"kmeans_nmi", "kmeans_ari"}
        assert all(np.isfinite(v) for (e, _), v in values.items() if e == encoder)
    assert ("features", "intrinsic_dimension") in values
    # The factors are item columns, not features: 32 x 32 pixels, nothing more.
    store = LanceStore(home.lancedb)
    assert {"shape", "scale", "rotation", "x", "y"} <= set(store.open("shapes_items").schema.names)
    assert ("features", "feature_count") in values and values["features", "feature_count"] == 1024


def test_swiss_roll_measures_its_dimension_and_the_recovery_of_its_coordinates(tmp_path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(generated, "MANIFOLD_SIZE", 1500)
        values = materialize_report(Home.at(tmp_path), SWISS_ROLL, epochs=30)
    assert values["features", "intrinsic_dimension"] == pytest.approx(2.0, rel=0.2)
    assert values["features", "feature_count"] == 3  # x, y, z: t and height are factors
    for encoder in ("pca", "autoencoder"):
        assert np.isfinite(values[encoder, "factor_r2"])
        assert values[encoder, "intrinsic_dimension"] <= 2.5
    # PCA keeps the roll rolled: a linear read-out of t from its two axes is poor.
    assert values["pca", "factor_r2"] < 0.8


def _table_with_factors(path, rows: int = 400) -> None:
    """Two numeric features that are a noisy rotation of two factor columns, one numeric
    and one categorical, with a label. (No column of pure noise: standardised, it would
    weigh as much as the others.)"""
    rng = np.random.default_rng(0)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "size", "colour", "kind"])
        for _ in range(rows):
            size, colour = rng.uniform(0, 1), rng.choice(["red", "blue"])
            hue = 1.0 if colour == "red" else -1.0
            noise = rng.normal(scale=0.05, size=2)
            writer.writerow(
                [
                    size + hue + noise[0],
                    size - hue + noise[1],
                    size,
                    colour,
                    "big" if size > 0.5 else "small",
                ]
            )


def test_a_users_factor_columns_are_measured_and_not_featurised(tmp_path) -> None:
    source = tmp_path / "things.csv"
    _table_with_factors(source)
    home = tmp_path / "home"
    result = repr_assets(
        home,
        "run",
        "--source",
        str(source),
        "--label-column",
        "kind",
        "--factor-columns",
        "size,colour",
        "--encoders",
        "pca",
        "--latent-dim",
        "2",
    )
    assert result.returncode == 0, result.stderr
    report = repr_assets(home, "report", "--dataset", "things", "--format", "json")
    assert report.returncode == 0, report.stderr
    with duckdb.connect(str(home / "reports.duckdb"), read_only=True) as connection:
        values = dict(
            connection.execute(
                "SELECT metric, value FROM quality_metrics WHERE dataset = 'things' "
                "AND encoder IN ('pca', 'features')"
            ).fetchall()
        )
    assert values["feature_count"] == 2  # a and b: neither size nor colour
    assert set(values) >= FACTOR_METRICS
    # PCA's two axes hold everything the two features hold: the factors can be read back.
    assert values["dci_informativeness"] > 0.9


def test_a_factor_column_that_is_not_there_is_one_line(tmp_path) -> None:
    source = tmp_path / "things.csv"
    _table_with_factors(source, rows=50)
    home = tmp_path / "home"
    result = repr_assets(home, "run", "--source", str(source), "--factor-columns", "size,weight")
    assert result.returncode != 0
    line = one_line(result)
    assert "'weight'" in line and "--factor-columns" in line
    assert not (home / "lancedb").exists() or not any((home / "lancedb").iterdir())
    folder = tmp_path / "images"
    folder.mkdir()
    result = repr_assets(home, "run", "--source", str(folder), "--factor-columns", "size")
    assert "factor columns need a CSV, Parquet or JSONL source" in one_line(result)


def test_a_constant_factor_column_is_left_out_and_the_others_measured(tmp_path) -> None:
    rng = np.random.default_rng(1)
    source = tmp_path / "rows.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "fa", "const", "kind"])
        for _ in range(200):
            fa = rng.uniform()
            writer.writerow(
                [fa + rng.normal(scale=0.1), rng.normal(), fa, 1, rng.choice(["x", "y"])]
            )
    home = tmp_path / "home"
    result = repr_assets(
        home,
        "run",
        "--source",
        str(source),
        "--label-column",
        "kind",
        "--factor-columns",
        "fa,const",
        "--encoders",
        "pca",
    )
    assert result.returncode == 0, result.stderr
    assert "a factor left out: factor column 'const' holds one value only" in result.stderr
    with duckdb.connect(str(home / "reports.duckdb"), read_only=True) as connection:
        metrics = {
            m
            for (m,) in connection.execute(
                "SELECT metric FROM quality_metrics WHERE encoder = 'pca'"
            ).fetchall()
        }
    assert FACTOR_METRICS | {"factor_r2"} <= metrics
