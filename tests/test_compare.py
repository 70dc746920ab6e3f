"""Ranking encoders metric by metric, and choosing which encoders a data set uses."""

from __future__ import annotations

import pytest

from repr_assets.compare import format_rankings, rank_encoders
from repr_assets.encoders.registry import UnknownEncoderError, check_encoders, encoder_kinds

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
        "contrastive",
        "minilm",
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
