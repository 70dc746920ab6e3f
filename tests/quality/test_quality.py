"""The quality report of one encoder on small synthetic data, against independent references."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import trustworthiness as sklearn_trustworthiness
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from repr_assets.encoders.pca import PCA
from repr_assets.items.holdout import stratified_test_mask
from repr_assets.items.schemas import vector_array
from repr_assets.pipeline.embed import embedding_schema
from repr_assets.quality.encoder_report import evaluate_encoder
from repr_assets.quality.thresholds import QualityThresholds, check_thresholds, resolve_floors
from repr_assets.stores.lance import LanceStore

SUPERVISED = {
    "silhouette",
    "davies_bouldin",
    "calinski_harabasz",
    "linear_probe_accuracy",
    "knn_accuracy",
    "kmeans_nmi",
    "kmeans_ari",
}
UNSUPERVISED = {
    "reconstruction_mse",
    "explained_variance",
    "trustworthiness",
    "effective_rank",
    "continuity",
    "intrinsic_dimension",
}


def _data(
    n: int = 360, features: int = 20, n_classes: int = 3, seed: int = 0
) -> tuple[np.ndarray, list[str], list[str]]:
    """Overlapping classes in a 20-feature space with some low-rank structure."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=1.2, size=(n_classes, features))
    mixing = rng.normal(size=(6, features))
    y = rng.integers(0, n_classes, size=n)
    X = centres[y] + rng.normal(size=(n, 6)) @ mixing + 0.8 * rng.normal(size=(n, features))
    labels = [f"class-{c}" for c in y]
    item_ids = [f"item-{i:05d}" for i in range(n)]
    return X.astype(np.float32), labels, item_ids


def _fitted(X: np.ndarray, mask: np.ndarray, components: int = 5) -> tuple[PCA, np.ndarray]:
    pca = PCA(n_components=components).fit(X[~mask])
    return pca, pca.transform(X)


def _embeddings(
    tmp_path: Path, item_ids: list[str], labels: list[str | None], Z: np.ndarray
) -> pads.Dataset:
    store = LanceStore(tmp_path / "lancedb")
    n = len(Z)
    schema = embedding_schema(Z.shape[1])
    batch = pa.RecordBatch.from_arrays(
        [
            pa.array(item_ids, pa.string()),
            pa.array(labels, pa.string()),
            pa.array([None] * n, pa.string()),
            vector_array(Z),
            pa.array(["v1"] * n, pa.string()),
            pa.array(["run"] * n, pa.string()),
        ],
        schema=schema,
    )
    store.upsert("synthetic_pca", schema, [batch])
    return store.dataset("synthetic_pca")


def _assert_finite(values: dict[str, float]) -> None:
    bad = {name: value for name, value in values.items() if not math.isfinite(value)}
    assert not bad, f"non-finite metric values: {bad}"


def test_report_with_labels_has_every_metric(tmp_path: Path) -> None:
    X, labels, ids = _data()
    mask = stratified_test_mask(ids, labels, seed=0)
    pca, Z = _fitted(X, mask)
    report = evaluate_encoder(
        pca, X, Z, labels, mask, seed=0, embeddings=_embeddings(tmp_path, ids, labels, Z)
    )
    assert set(report.values) == SUPERVISED | UNSUPERVISED | {"cluster_separation"}
    _assert_finite(report.values)


def test_report_without_the_stored_table_leaves_out_cluster_separation() -> None:
    X, labels, ids = _data(seed=1)
    mask = stratified_test_mask(ids, labels, seed=0)
    pca, Z = _fitted(X, mask)
    report = evaluate_encoder(pca, X, Z, labels, mask, seed=0)
    assert set(report.values) == SUPERVISED | UNSUPERVISED
    _assert_finite(report.values)


def test_report_values_match_independent_references() -> None:
    X, labels, ids = _data(seed=2)
    mask = stratified_test_mask(ids, labels, seed=0)
    pca, Z = _fitted(X, mask)
    values = evaluate_encoder(pca, X, Z, labels, mask, seed=0).values
    Z64, X64 = Z.astype(np.float64), X.astype(np.float64)
    y = np.array(labels)
    assert values["silhouette"] == pytest.approx(silhouette_score(Z64, y), rel=1e-6)
    assert values["davies_bouldin"] == pytest.approx(davies_bouldin_score(Z64, y), rel=1e-6)
    assert values["calinski_harabasz"] == pytest.approx(calinski_harabasz_score(Z64, y), rel=1e-6)
    assert values["trustworthiness"] == pytest.approx(
        sklearn_trustworthiness(X64, Z64, n_neighbors=10), rel=1e-6
    )
    s = np.linalg.svd(Z64 - Z64.mean(axis=0), compute_uv=False)
    p = s / s.sum()
    assert values["effective_rank"] == pytest.approx(np.exp(-np.sum(p * np.log(p))), rel=1e-6)
    # Reconstruction on the test side, through the encoder's own decode(encode(x)).
    X_test = X64[mask]
    centred = X_test - pca.mean_
    X_hat = centred @ pca.components_.T @ pca.components_ + pca.mean_
    squared = (X_test - X_hat) ** 2
    assert values["reconstruction_mse"] == pytest.approx(squared.mean(), rel=1e-4)
    total = ((X_test - X_test.mean(axis=0)) ** 2).sum()
    assert values["explained_variance"] == pytest.approx(1 - squared.sum() / total, rel=1e-4)
    assert 0.0 < values["explained_variance"] < 1.0


@pytest.mark.parametrize("seed", [0, 3, 4])
def test_probe_accuracies_match_sklearn_on_the_same_split(seed: int) -> None:
    X, labels, ids = _data(n=400, n_classes=4, seed=seed)
    mask = stratified_test_mask(ids, labels, seed=seed)
    pca, Z = _fitted(X, mask, components=4)
    values = evaluate_encoder(pca, X, Z, labels, mask, seed=seed).values
    y = np.array(labels)
    train = ~mask
    scaler = StandardScaler().fit(Z[train])
    probe = LogisticRegression(max_iter=5000).fit(scaler.transform(Z[train]), y[train])
    linear = probe.score(scaler.transform(Z[mask]), y[mask])
    knn = KNeighborsClassifier(n_neighbors=10, metric="cosine").fit(Z[train], y[train])
    knn_score = knn.score(Z[mask], y[mask])
    assert values["linear_probe_accuracy"] == pytest.approx(linear, abs=0.02)
    assert values["knn_accuracy"] == pytest.approx(knn_score, abs=0.02)
    # Neither is trivial on these overlapping classes.
    assert 0.3 < values["linear_probe_accuracy"] < 1.0
    assert 0.3 < values["knn_accuracy"] < 1.0


def test_report_without_labels_has_only_the_unsupervised_metrics(tmp_path: Path) -> None:
    X, _, ids = _data(seed=5)
    labels: list[str | None] = [None] * len(X)
    mask = stratified_test_mask(ids, labels, seed=0)
    pca, Z = _fitted(X, mask)
    report = evaluate_encoder(
        pca, X, Z, labels, mask, seed=0, embeddings=_embeddings(tmp_path, ids, labels, Z)
    )
    assert set(report.values) == UNSUPERVISED
    _assert_finite(report.values)
    assert any("label" in note.lower() for note in report.notes), report.notes


def test_report_with_a_single_class_explains_why(tmp_path: Path) -> None:
    X, _, ids = _data(seed=6)
    labels: list[str | None] = ["cat"] * len(X)
    for i in range(0, len(X), 4):
        labels[i] = None  # unlabelled items do not make a second class
    mask = stratified_test_mask(ids, labels, seed=0)
    pca, Z = _fitted(X, mask)
    report = evaluate_encoder(
        pca, X, Z, labels, mask, seed=0, embeddings=_embeddings(tmp_path, ids, labels, Z)
    )
    assert set(report.values) == UNSUPERVISED
    assert "cluster_separation" not in report.values
    _assert_finite(report.values)
    notes = [note for note in report.notes if "two classes" in note]
    assert notes, report.notes
    assert "cat" in notes[0]


def test_report_on_partly_labelled_items_scores_the_labelled_ones(tmp_path: Path) -> None:
    X, labels_full, ids = _data(seed=7)
    labels: list[str | None] = list(labels_full)
    for i in range(0, len(X), 3):
        labels[i] = None
    mask = stratified_test_mask(ids, labels, seed=0)
    pca, Z = _fitted(X, mask)
    report = evaluate_encoder(
        pca, X, Z, labels, mask, seed=0, embeddings=_embeddings(tmp_path, ids, labels, Z)
    )
    assert set(report.values) == SUPERVISED | UNSUPERVISED | {"cluster_separation"}
    labelled = np.array([label is not None for label in labels])
    y = np.array([label for label in labels if label is not None])
    assert report.values["silhouette"] == pytest.approx(
        silhouette_score(Z[labelled].astype(np.float64), y), rel=1e-6
    )
    _assert_finite(report.values)


def test_report_of_a_degenerate_input_has_no_nan(tmp_path: Path) -> None:
    # Constant features: nothing to explain, every code equal. Whatever cannot be computed
    # is left out with a note; nothing non-finite reaches the values.
    n = 60
    X = np.full((n, 10), 0.25, dtype=np.float32)
    labels: list[str | None] = ["a" if i % 2 else "b" for i in range(n)]
    ids = [f"i{i}" for i in range(n)]
    mask = stratified_test_mask(ids, labels, seed=0)
    pca, Z = _fitted(X, mask, components=3)
    report = evaluate_encoder(
        pca, X, Z, labels, mask, seed=0, embeddings=_embeddings(tmp_path, ids, labels, Z)
    )
    _assert_finite(report.values)
    assert "explained_variance" not in report.values
    assert report.values.get("effective_rank", 0.0) == 0.0
    assert report.notes


def test_report_is_reproducible() -> None:
    X, labels, ids = _data(seed=8)
    mask = stratified_test_mask(ids, labels, seed=0)
    pca, Z = _fitted(X, mask)
    first = evaluate_encoder(pca, X, Z, labels, mask, seed=0).values
    assert evaluate_encoder(pca, X, Z, labels, mask, seed=0).values == first


def test_report_refuses_misaligned_inputs() -> None:
    X, labels, ids = _data(n=60, seed=9)
    mask = stratified_test_mask(ids, labels, seed=0)
    pca, Z = _fitted(X, mask)
    with pytest.raises(ValueError, match="same items"):
        evaluate_encoder(pca, X, Z[:-1], labels, mask, seed=0)


class _OverflowingDecoder:
    """A PCA whose decoder overflows, as a diverged autoencoder's does: finite codes,
    infinite reconstructions."""

    def __init__(self, pca: PCA) -> None:
        self.pca = pca
        self.latent_dim = pca.latent_dim

    def transform(self, X: np.ndarray) -> np.ndarray:
        return self.pca.transform(X)

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        return np.full((len(Z), self.pca.components_.shape[1]), np.float32(3e38)) * np.float32(10)


def test_a_decoder_that_overflows_fails_its_check_and_writes_no_infinity() -> None:
    X, labels, ids = _data()
    mask = stratified_test_mask(ids, labels, seed=0)
    pca, Z = _fitted(X, mask)
    with np.errstate(over="ignore"):
        report = evaluate_encoder(_OverflowingDecoder(pca), X, Z, labels, mask, seed=0)
    _assert_finite(report.values)
    assert report.values["explained_variance"] == -sys.float_info.max
    assert any("explained_variance is -inf" in note for note in report.notes)
    floors = resolve_floors(QualityThresholds(), {})
    outcomes = {o.metric: o for o in check_thresholds(report.values, floors)}
    assert not outcomes["explained_variance"].passed


def test_a_report_says_when_its_probes_drew_on_a_sample_of_the_training_items(monkeypatch):
    from repr_assets.quality import encoder_report
    from repr_assets.quality.encoder_report import EncoderReport, add_code_metrics

    monkeypatch.setattr(encoder_report, "PROBE_MAX_TRAIN", 100)
    monkeypatch.setattr(encoder_report, "KNN_MAX_NEIGHBOURS", 150)
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(500, 4))
    labels = [str(i % 3) for i in range(500)]
    test = np.arange(500) % 5 == 0
    report = EncoderReport()
    add_code_metrics(report, Z, labels, test, seed=0)
    assert (
        "linear_probe_accuracy fitted on, and knn_accuracy's neighbours drawn from, seeded "
        "samples of 100 and 150 of the 400 training items"
    ) in report.notes
