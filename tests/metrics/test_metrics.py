"""Quality metrics against scikit-learn and NumPy references on small data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import silhouette_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from repr_assets.encoders.pca import PCA
from repr_assets.items.holdout import stratified_test_mask
from repr_assets.metrics import batches
from repr_assets.metrics.clustering import SILHOUETTE_MAX_ITEMS, silhouette
from repr_assets.metrics.probes import knn_accuracy, knn_predict, linear_probe_accuracy
from repr_assets.metrics.reconstruction import explained_variance, reconstruction_mse
from repr_assets.quality.encoder_report import evaluate_encoder
from sample_sources import gaussian_blobs


def _random_mask(n: int, seed: int = 1, share: float = 0.25) -> np.ndarray:
    return np.random.default_rng(seed).random(n) < share


def _silhouette_reference(Z: np.ndarray, y: np.ndarray) -> float:
    """Rousseeuw's silhouette written out in NumPy."""
    Z = Z.astype(np.float64)
    distances = np.sqrt(((Z[:, None, :] - Z[None, :, :]) ** 2).sum(axis=-1))
    scores = np.empty(len(Z))
    for i in range(len(Z)):
        same = y == y[i]
        if same.sum() == 1:
            scores[i] = 0.0
            continue
        a = distances[i, same].sum() / (same.sum() - 1)
        b = min(distances[i, y == c].mean() for c in np.unique(y) if c != y[i])
        scores[i] = (b - a) / max(a, b)
    return float(scores.mean())


# --- silhouette ------------------------------------------------------------------------


def test_silhouette_matches_sklearn_and_numpy() -> None:
    Z, y = gaussian_blobs()
    value = silhouette(Z, y, seed=0)
    assert value == pytest.approx(silhouette_score(Z, y, metric="euclidean"), rel=1e-6)
    assert value == pytest.approx(_silhouette_reference(Z, y), rel=1e-5)
    assert SILHOUETTE_MAX_ITEMS == 10_000


def test_silhouette_at_the_limit_uses_every_item() -> None:
    Z, y = gaussian_blobs(n=120)
    full = silhouette_score(Z, y, metric="euclidean")
    assert silhouette(Z, y, seed=3, max_items=120) == pytest.approx(full, rel=1e-6)


def test_silhouette_above_the_limit_uses_a_seeded_sample() -> None:
    Z, y = gaussian_blobs(n=300)
    sampled = silhouette(Z, y, seed=7, max_items=100)
    expected = silhouette_score(Z, y, metric="euclidean", sample_size=100, random_state=7)
    assert sampled == pytest.approx(expected, rel=1e-6)
    # It really is a sample: the full score differs, and so does another seed's.
    assert sampled != pytest.approx(silhouette_score(Z, y), rel=1e-6)
    assert silhouette(Z, y, seed=8, max_items=100) != pytest.approx(sampled, rel=1e-6)
    # And the same seed gives the same sample.
    assert silhouette(Z, y, seed=7, max_items=100) == sampled


def test_silhouette_of_well_separated_clusters_is_near_one() -> None:
    Z, y = gaussian_blobs(spread=0.01)
    assert silhouette(Z, y, seed=0) > 0.95


# --- kNN --------------------------------------------------------------------------------


def _sklearn_knn(train_Z, train_y, query_Z, k: int = 10) -> np.ndarray:
    model = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute")
    return model.fit(train_Z.astype(np.float64), train_y).predict(query_Z.astype(np.float64))


def test_knn_predict_matches_sklearn() -> None:
    Z, y = gaussian_blobs(n=400, spread=2.5)
    train, query = Z[:300], Z[300:]
    predicted = knn_predict(train, y[:300], query, k=10)
    expected = _sklearn_knn(train, y[:300], query)
    assert predicted.shape == (100,)
    np.testing.assert_array_equal(predicted, expected)
    # The data are hard enough that the vote is not simply always right.
    assert 0.3 < (predicted == y[300:]).mean() < 1.0


def test_knn_predict_breaks_vote_ties_to_the_smallest_label() -> None:
    # Query along the x axis; two neighbours of class 2 and two of class 1, at distinct
    # distances, so the 4-vote is a tie that must go to label 1.
    train_Z = np.array([[1.0, 0.1], [1.0, 0.2], [1.0, -0.3], [1.0, -0.4], [-1.0, 0.0]])
    train_y = np.array([2, 2, 1, 1, 0])
    predicted = knn_predict(train_Z, train_y, np.array([[1.0, 0.0]]), k=4)
    np.testing.assert_array_equal(predicted, [1])
    np.testing.assert_array_equal(
        predicted, _sklearn_knn(train_Z, train_y, np.array([[1.0, 0.0]]), k=4)
    )


def test_knn_predict_with_k_above_training_size_uses_all_items() -> None:
    train_Z = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    train_y = np.array([0, 0, 1])
    np.testing.assert_array_equal(knn_predict(train_Z, train_y, np.array([[0.0, 1.0]]), k=10), [0])


def test_knn_predict_is_scale_invariant() -> None:
    Z, y = gaussian_blobs(n=200, spread=2.5)
    scales = np.random.default_rng(2).uniform(0.1, 10.0, size=(200, 1)).astype(np.float32)
    np.testing.assert_array_equal(
        knn_predict(Z[:150] * scales[:150], y[:150], Z[150:] * scales[150:]),
        knn_predict(Z[:150], y[:150], Z[150:]),
    )


def test_knn_predict_of_no_queries() -> None:
    Z, y = gaussian_blobs(n=20)
    assert knn_predict(Z, y, Z[:0]).shape == (0,)


def test_knn_accuracy_matches_sklearn() -> None:
    Z, y = gaussian_blobs(n=400, spread=2.5)
    mask = _random_mask(len(Z))
    expected = (_sklearn_knn(Z[~mask], y[~mask], Z[mask]) == y[mask]).mean()
    assert knn_accuracy(Z, y, mask) == pytest.approx(expected, abs=1e-12)


def test_knn_accuracy_votes_on_a_seeded_sample_of_many_test_items() -> None:
    Z, y = gaussian_blobs(n=400, spread=2.5)
    mask = _random_mask(len(Z))
    test = np.flatnonzero(mask)
    sample = test[np.sort(np.random.RandomState(3).permutation(len(test))[:25])]
    expected = (_sklearn_knn(Z[~mask], y[~mask], Z[sample]) == y[sample]).mean()
    assert knn_accuracy(Z, y, mask, max_queries=25, seed=3) == pytest.approx(expected, abs=1e-12)
    assert knn_accuracy(Z, y, mask, max_queries=len(test), seed=3) == knn_accuracy(Z, y, mask)


def test_knn_accuracy_draws_neighbours_from_a_seeded_sample_of_many_training_items() -> None:
    Z, y = gaussian_blobs(n=400, spread=2.5)
    mask = _random_mask(len(Z))
    train = np.flatnonzero(~mask)
    pool = train[np.sort(np.random.RandomState(5).permutation(len(train))[:60])]
    expected = (_sklearn_knn(Z[pool], y[pool], Z[mask]) == y[mask]).mean()
    bounded = knn_accuracy(Z, y, mask, seed=5, max_neighbours=60)
    assert bounded == pytest.approx(expected, abs=1e-12)
    # At or above the number of training items, every one of them is a neighbour.
    assert knn_accuracy(Z, y, mask, seed=5, max_neighbours=len(train)) == knn_accuracy(Z, y, mask)


# --- linear probe -----------------------------------------------------------------------


def test_linear_probe_is_fitted_on_a_seeded_sample_of_many_training_items() -> None:
    Z, y = gaussian_blobs(n=400, spread=2.5)
    mask = _random_mask(len(Z), seed=4)
    train = np.flatnonzero(~mask)
    rows = train[np.sort(np.random.RandomState(2).permutation(len(train))[:80])]
    scaler = StandardScaler().fit(Z[rows])
    probe = LogisticRegression(max_iter=2000).fit(scaler.transform(Z[rows]), y[rows])
    expected = (probe.predict(scaler.transform(Z[mask])) == y[mask]).mean()
    assert linear_probe_accuracy(Z, y, mask, max_train=80, seed=2) == pytest.approx(expected)
    everything = linear_probe_accuracy(Z, y, mask)
    assert linear_probe_accuracy(Z, y, mask, max_train=len(train), seed=2) == everything


def test_linear_probe_accuracy_matches_reference() -> None:
    Z, y = gaussian_blobs(n=400, spread=2.5)
    mask = _random_mask(len(Z), seed=4)
    scaler = StandardScaler().fit(Z[~mask])
    probe = LogisticRegression(max_iter=2000).fit(scaler.transform(Z[~mask]), y[~mask])
    expected = (probe.predict(scaler.transform(Z[mask])) == y[mask]).mean()
    value = linear_probe_accuracy(Z, y, mask)
    assert value == pytest.approx(expected, abs=1e-12)
    assert 0.4 < value < 1.0


def test_linear_probe_is_perfect_on_separable_data() -> None:
    Z, y = gaussian_blobs(spread=0.05)
    assert linear_probe_accuracy(Z, y, _random_mask(len(Z))) == 1.0


def test_linear_probe_fits_the_scaler_on_the_training_side_only() -> None:
    # Huge outliers on the test side only: a scaler fitted on every row would squash the
    # training values to nothing and the regularised probe could not separate them.
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, size=400)
    Z = (2.0 * y - 1.0 + 0.2 * rng.normal(size=400))[:, None]
    mask = _random_mask(400, seed=5)
    outliers = np.flatnonzero(mask)[:10]
    Z[outliers, 0] = np.where(y[outliers] == 1, 1e7, -1e7)
    assert linear_probe_accuracy(Z, y, mask) > 0.97


def test_linear_probe_standardises_on_the_training_side() -> None:
    # One feature carries the class but is tiny in scale; standardising makes it usable.
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=300)
    Z = np.column_stack([1e-6 * (y + 0.1 * rng.normal(size=300)), 1e3 * rng.normal(size=300)])
    assert linear_probe_accuracy(Z, y, _random_mask(300)) > 0.95


# --- reconstruction ---------------------------------------------------------------------


def test_reconstruction_mse_and_explained_variance_match_numpy() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 7)) + 2.0
    X_hat = X + 0.3 * rng.normal(size=X.shape)
    sse = np.sum((X - X_hat) ** 2)
    sst = np.sum((X - X.mean(axis=0)) ** 2)
    assert reconstruction_mse(X, X_hat) == pytest.approx(sse / X.size, rel=1e-12)
    assert explained_variance(X, X_hat) == pytest.approx(1 - sse / sst, rel=1e-12)


def test_reconstruction_metrics_in_row_batches_equal_the_whole_matrix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(1)
    X = (rng.normal(size=(50, 7)) + 2.0).astype(np.float32)
    X_hat = (X + 0.3 * rng.normal(size=X.shape)).astype(np.float32)
    whole = reconstruction_mse(X, X_hat), explained_variance(X, X_hat)
    monkeypatch.setattr(batches, "ROWS_PER_BATCH", 7)  # 8 batches, the last of 1 row
    X64, X_hat64 = X.astype(np.float64), X_hat.astype(np.float64)
    sse = np.sum((X64 - X_hat64) ** 2)
    sst = np.sum((X64 - X64.mean(axis=0)) ** 2)
    assert reconstruction_mse(X, X_hat) == pytest.approx(sse / X.size, rel=1e-12)
    assert explained_variance(X, X_hat) == pytest.approx(1 - sse / sst, rel=1e-12)
    assert whole == pytest.approx((sse / X.size, 1 - sse / sst), rel=1e-12)


def test_reconstruction_of_another_shape_is_refused() -> None:
    with pytest.raises(ValueError, match=r"input \(4, 3\) and reconstruction \(4, 2\) differ"):
        reconstruction_mse(np.zeros((4, 3)), np.zeros((4, 2)))


def test_reconstruction_metrics_work_in_float64_for_float32_input() -> None:
    X = np.full((4, 3), 1e4, dtype=np.float32)
    X[0, 0] += 1
    X_hat = X.copy()
    X_hat[1, 1] += 2
    assert reconstruction_mse(X, X_hat) == pytest.approx(4 / 12, rel=1e-12)


def test_perfect_reconstruction() -> None:
    X = np.random.default_rng(0).normal(size=(20, 4))
    assert explained_variance(X, X.copy()) == 1.0
    assert reconstruction_mse(X, X.copy()) == 0.0


def test_reconstructing_the_mean_explains_nothing() -> None:
    X = np.random.default_rng(0).normal(size=(20, 4))
    assert explained_variance(X, np.broadcast_to(X.mean(axis=0), X.shape)) == pytest.approx(
        0.0, abs=1e-12
    )


def test_explained_variance_of_constant_input_raises() -> None:
    X = np.ones((5, 3))
    with pytest.raises(ValueError, match="zero variance"):
        explained_variance(X, X)


# --- evaluate_encoder -------------------------------------------------------------------


@pytest.fixture(scope="module")
def encoded() -> tuple[PCA, np.ndarray, np.ndarray, np.ndarray]:
    X, y = gaussian_blobs(n=300, d=10, spread=2.0, seed=5)
    pca = PCA(n_components=4).fit(X)
    return pca, X, pca.transform(X), y


UNSUPERVISED = {
    "reconstruction_mse",
    "explained_variance",
    "effective_rank",
    "trustworthiness",
    "continuity",
    "intrinsic_dimension",
}


def test_evaluate_encoder_with_labels(encoded) -> None:
    pca, X, Z, y = encoded
    labels: list[str | None] = [f"class-{c}" for c in y]
    ids = [f"id-{i}" for i in range(len(X))]
    mask = stratified_test_mask(ids, labels, seed=0)
    metrics = evaluate_encoder(pca, X, Z, labels, mask, seed=0).values

    assert set(metrics) == UNSUPERVISED | {
        "silhouette",
        "davies_bouldin",
        "calinski_harabasz",
        "kmeans_nmi",
        "kmeans_ari",
        "linear_probe_accuracy",
        "knn_accuracy",
    }
    X_test = X[mask].astype(np.float64)
    X_hat = pca.inverse_transform(pca.transform(X[mask])).astype(np.float64)
    assert metrics["reconstruction_mse"] == pytest.approx(np.mean((X_test - X_hat) ** 2), rel=1e-9)
    sst = np.sum((X_test - X_test.mean(axis=0)) ** 2)
    assert metrics["explained_variance"] == pytest.approx(
        1 - np.sum((X_test - X_hat) ** 2) / sst, rel=1e-9
    )
    assert metrics["silhouette"] == pytest.approx(silhouette_score(Z, y), rel=1e-6)
    assert metrics["linear_probe_accuracy"] == pytest.approx(linear_probe_accuracy(Z, y, mask))
    expected_knn = (_sklearn_knn(Z[~mask], y[~mask], Z[mask]) == y[mask]).mean()
    assert metrics["knn_accuracy"] == pytest.approx(expected_knn, abs=1e-12)
    assert all(np.isfinite(v) for v in metrics.values())


def test_evaluate_encoder_uses_only_labelled_items_for_supervised_metrics(encoded) -> None:
    pca, X, Z, y = encoded
    unlabelled = np.arange(len(X)) % 5 == 0
    labels = [None if u else f"c{c}" for u, c in zip(unlabelled, y, strict=True)]
    mask = _random_mask(len(X), seed=9)
    metrics = evaluate_encoder(pca, X, Z, labels, mask, seed=0).values
    keep = ~unlabelled
    assert metrics["silhouette"] == pytest.approx(silhouette_score(Z[keep], y[keep]), rel=1e-6)
    assert metrics["linear_probe_accuracy"] == pytest.approx(
        linear_probe_accuracy(Z[keep], y[keep], mask[keep])
    )
    assert metrics["knn_accuracy"] == pytest.approx(knn_accuracy(Z[keep], y[keep], mask[keep]))
    # Reconstruction covers every test item, labelled or not.
    X_hat = pca.inverse_transform(pca.transform(X[mask]))
    assert metrics["reconstruction_mse"] == pytest.approx(reconstruction_mse(X[mask], X_hat))


def test_evaluate_encoder_without_labels_leaves_supervised_metrics_out(encoded) -> None:
    pca, X, Z, _ = encoded
    mask = _random_mask(len(X))
    metrics = evaluate_encoder(pca, X, Z, [None] * len(X), mask, seed=0).values
    assert set(metrics) == UNSUPERVISED
    X_hat = pca.inverse_transform(pca.transform(X[mask]))
    assert metrics["reconstruction_mse"] == pytest.approx(reconstruction_mse(X[mask], X_hat))


def test_evaluate_encoder_with_one_class_leaves_supervised_metrics_out(encoded) -> None:
    pca, X, Z, _ = encoded
    metrics = evaluate_encoder(pca, X, Z, ["only"] * len(X), _random_mask(len(X)), seed=0).values
    assert set(metrics) == UNSUPERVISED


def test_evaluate_encoder_refuses_misaligned_inputs(encoded) -> None:
    pca, X, Z, y = encoded
    with pytest.raises(ValueError, match="same items"):
        evaluate_encoder(pca, X, Z[:-1], [str(c) for c in y], _random_mask(len(X)), seed=0)
