"""When a run says an encoder collapsed, or fell behind PCA: a plain truth table."""

from __future__ import annotations

import pytest

from repr_assets.pipeline.cross_checks import collapse_notes

PCA = {"linear_probe_accuracy": 0.40, "explained_variance": 0.06}


@pytest.mark.parametrize(
    ("own", "widths", "expected"),
    [
        ({"explained_variance": -0.003, "linear_probe_accuracy": 0.22}, {}, "collapsed"),
        ({"explained_variance": 0.0, "linear_probe_accuracy": 0.45}, {}, "collapsed"),
        ({"explained_variance": 0.09, "linear_probe_accuracy": 0.37}, {}, "keeps less"),
        ({"explained_variance": 0.09, "linear_probe_accuracy": 0.38}, {}, None),  # within 0.02
        ({"explained_variance": 0.09, "linear_probe_accuracy": 0.37}, {"autoencoder": 32}, None),
        ({"explained_variance": 0.09}, {}, None),  # no labels: no probe to compare
    ],
)
def test_collapse_notes(own, widths, expected) -> None:
    sizes = {"pca": 16, "autoencoder": 16, **widths}
    notes = collapse_notes({"pca": PCA, "autoencoder": own}, sizes)
    if expected is None:
        assert notes == []
    else:
        [note] = notes
        assert note.startswith("autoencoder: ") and expected in note


def test_pca_and_encoders_without_a_decoder_are_not_judged() -> None:
    values = {"pca": {"explained_variance": -1.0}, "minilm": {"linear_probe_accuracy": 0.1}}
    assert collapse_notes(values, {"pca": 16, "minilm": 384}) == []
    # Without PCA in the run, only a collapse can be told.
    alone = {"autoencoder": {"explained_variance": 0.2, "linear_probe_accuracy": 0.1}}
    assert collapse_notes(alone, {"autoencoder": 16}) == []
