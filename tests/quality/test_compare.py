"""Ranking encoders metric by metric, and choosing which encoders a data set uses."""

from __future__ import annotations

import pytest

from repr_assets.encoders.registry import UnknownEncoderError, check_encoders, encoder_kinds
from repr_assets.quality.compare import format_rankings, rank_encoders

VALUES = {
    "pca": {"knn_accuracy": 0.9, "davies_bouldin": 1.5, "reconstruction_mse": 0.01},
    "contrastive": {"knn_accuracy": 0.95, "davies_bouldin": 1.2},
    "autoencoder": {"knn_accuracy": 0.9, "davies_bouldin": 2.0, "reconstruction_mse": 0.02},
}


def test_higher_is_better_except_for_errors_and_davies_bouldin():
    rankings = {r.metric: r for r in rank_encoders(VALUES)}
    assert rankings["knn_accuracy"].order == ["contrastive", "pca", "autoencoder"]
    assert rankings["davies_bouldin"].order == ["contrastive", "pca", "autoencoder"]
    assert rankings["reconstruction_mse"].order == ["pca", "autoencoder"]
    assert rankings["reconstruction_mse"].values["contrastive"] is None


def test_ties_share_a_rank():
    knn = next(r for r in rank_encoders(VALUES) if r.metric == "knn_accuracy")
    assert [knn.rank(e) for e in ("contrastive", "pca", "autoencoder")] == [1, 2, 2]


def test_values_that_print_alike_share_a_rank_and_small_ones_stay_readable():
    # From a text corpus: invariance 0.99883 and 0.99879 print alike, and errors near 2e-4
    # would all read 0.0002 with four decimals.
    values = {
        "pca": {"invariance_cosine": 0.99883, "reconstruction_mse": 0.000223},
        "autoencoder": {"invariance_cosine": 0.99879, "reconstruction_mse": 0.000231},
    }
    rankings = {r.metric: r for r in rank_encoders(values)}
    assert [rankings["invariance_cosine"].rank(e) for e in values] == [1, 1]
    assert [rankings["reconstruction_mse"].rank(e) for e in values] == [1, 2]
    rows = {
        line.split()[0]: line.split()[1:]
        for line in format_rankings("texts", list(rankings.values())).splitlines()[2:]
    }
    assert rows["invariance_cosine"] == ["0.9988", "(1)", "0.9988", "(1)", "pca"]
    assert rows["reconstruction_mse"] == ["2.230e-04", "(1)", "2.310e-04", "(2)", "pca"]


def test_the_text_table_has_a_row_per_metric_and_the_best():
    text = format_rankings("toy", rank_encoders(VALUES))
    row = next(line for line in text.splitlines() if line.strip().startswith("reconstruction_mse"))
    assert row.split()[1:] == ["0.0100", "(1)", "-", "0.0200", "(2)", "pca"]


def test_large_values_keep_their_columns_apart():
    wide = {"pca": {"calinski_harabasz": 3377.5009}, "autoencoder": {"calinski_harabasz": 31415.5}}
    text = format_rankings("toy", rank_encoders(wide))
    row = next(line for line in text.splitlines() if "calinski_harabasz" in line)
    assert row.split() == [
        "calinski_harabasz",
        "3377.5009",
        "(2)",
        "31415.5000",
        "(1)",
        "autoencoder",
    ]
    header, row = text.splitlines()[1], row
    assert len(header) == len(row) - len("autoencoder") + len("best")


def test_every_built_in_encoder_is_known():
    assert list(encoder_kinds()) == [
        "pca",
        "autoencoder",
        "denoising_autoencoder",
        "beta_vae",
        "conv_autoencoder",
        "contrastive",
        "minilm",
        "efficientnet_lite0",
    ]


@pytest.mark.parametrize(
    ("names", "modality", "message"),
    [
        (("nosuch",), "image", "unknown encoder 'nosuch'; the known encoders are: pca, "),
        (("minilm",), "image", "encoder 'minilm' reads text items, but data set 'd' holds image"),
        (("pca", "pca"), "image", "an encoder is named twice"),
        ((), "image", "name at least one encoder"),
    ],
)
def test_bad_encoder_choices_are_refused(names, modality, message):
    with pytest.raises(UnknownEncoderError, match=message.replace("(", r"\(")):
        check_encoders(names, modality, "d")
