"""Transfer: an encoder fitted on one data set scored on another of the same featurised
width, beside that data set's own, and checked against the same probe computed by hand."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest
import yaml

from repr_assets.encoders.registry import load_encoder
from repr_assets.items.holdout import stratified_test_mask
from repr_assets.metrics.probes import knn_accuracy, linear_probe_accuracy
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.models import ModelStore
from repr_assets.stores.vectors import load_features
from sample_sources import write_image_folder
from tests.helpers import one_line, repr_assets


def _values(home, dataset: str) -> dict[tuple[str, str], float]:
    with duckdb.connect(str(home / "reports.duckdb"), read_only=True) as connection:
        rows = connection.execute(
            "SELECT encoder, metric, value FROM quality_metrics WHERE dataset = ?", [dataset]
        ).fetchall()
    return {(encoder, metric): value for encoder, metric, value in rows}


@pytest.mark.slow
def test_a_borrowed_encoder_is_scored_beside_the_data_sets_own(tmp_path) -> None:
    home = tmp_path / "home"
    assert repr_assets(home, "run", "--encoders", "pca").returncode == 0  # digits, 8 x 8
    write_image_folder(tmp_path / "drawn", count=300, size=8)
    write_image_folder(tmp_path / "wide", count=60, size=16)
    declared = tmp_path / "datasets.yaml"
    declared.write_text(
        yaml.safe_dump(
            {
                "datasets": {
                    "drawn": {
                        "source": "drawn",
                        "image_size": 8,
                        "encoders": ["pca"],
                        "encoders_from": "digits",
                    },
                    "wide": {
                        "source": "wide",
                        "image_size": 16,
                        "encoders": ["pca"],
                        "encoders_from": "digits",
                    },
                }
            }
        )
    )
    env = {"REPR_ASSETS_DATASETS": str(declared)}
    result = repr_assets(home, "run", "--dataset", "drawn", **env)
    assert result.returncode == 0, result.stderr
    values = _values(home, "drawn")
    assert ("pca", "linear_probe_accuracy") in values  # its own PCA
    # The borrowed one, by hand: digits' PCA on drawn's features, drawn's split.
    store, models = LanceStore(home / "lancedb"), ModelStore(home / "models")
    borrowed, _ = load_encoder(models, "digits", "pca")
    data = load_features(store, "drawn")
    test = stratified_test_mask(data.item_ids, data.labels, seed=0)
    _, y = np.unique(np.array(data.labels, dtype=str), return_inverse=True)
    codes = borrowed.transform(data.X)
    assert values["pca", "transfer_linear_probe_accuracy"] == pytest.approx(
        linear_probe_accuracy(codes, y, test)
    )
    assert values["pca", "transfer_knn_accuracy"] == pytest.approx(
        knn_accuracy(codes, y, test, seed=0)
    )

    # 16 x 16 images are 256 features: digits' PCA reads 64, so nothing is borrowed.
    result = repr_assets(home, "run", "--dataset", "wide", **env)
    assert result.returncode == 0, result.stderr
    assert not any(metric.startswith("transfer_") for _, metric in _values(home, "wide"))
    assert "digits's pca reads 64 features, this data set has 256" in result.stdout + result.stderr


def test_encoders_from_an_unknown_data_set_is_one_line(tmp_path) -> None:
    result = repr_assets(tmp_path / "home", "run", "--encoders-from", "nowhere")
    assert "unknown data set 'nowhere'" in one_line(result)
    result = repr_assets(tmp_path / "home", "run", "--encoders-from", "digits")
    assert "names the data set itself" in one_line(result)
