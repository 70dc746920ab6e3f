"""Silhouette, Davies–Bouldin and Calinski–Harabasz against scikit-learn on small data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from repr_assets.metrics import batches
from repr_assets.metrics.clustering import calinski_harabasz, davies_bouldin, silhouette

REL = 1e-6


def _blobs(
    n: int = 150, d: int = 5, n_classes: int = 4, spread: float = 1.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping Gaussian blobs as float32 codes (what the embeddings tables hold)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(n_classes, d))
    y = rng.integers(0, n_classes, size=n)
    y[:n_classes] = np.arange(n_classes)  # every class present
    Z = centres[y] + spread * rng.normal(size=(n, d))
    return Z.astype(np.float32), y


def _f64(Z: np.ndarray) -> np.ndarray:
    # scikit-learn computes in the input's precision; the references run in float64.
    return np.asarray(Z, dtype=np.float64)


# --- silhouette ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_silhouette_matches_sklearn(seed: int) -> None:
    Z, y = _blobs(seed=seed)
    expected = silhouette_score(_f64(Z), y, metric="euclidean")
    assert silhouette(Z, y, seed=0) == pytest.approx(expected, rel=REL)


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 149, 150, 1000])
def test_silhouette_in_chunks_smaller_than_n_matches_sklearn(chunk_size: int) -> None:
    Z, y = _blobs(n=150, seed=3)
    expected = silhouette_score(_f64(Z), y)
    assert silhouette(Z, y, seed=0, chunk_size=chunk_size) == pytest.approx(expected, rel=REL)


def test_silhouette_with_singleton_classes_matches_sklearn() -> None:
    Z, y = _blobs(n=80, n_classes=3, seed=4)
    # Two classes of a single item each: they score 0 but still count in the mean, and
    # they are "other clusters" for everybody else.
    y = y.copy()
    y[10], y[20] = 7, 8
    assert np.sum(y == 7) == 1 and np.sum(y == 8) == 1
    expected = silhouette_score(_f64(Z), y)
    assert silhouette(Z, y, seed=0, chunk_size=16) == pytest.approx(expected, rel=REL)


def test_silhouette_with_non_contiguous_labels_matches_sklearn() -> None:
    Z, y = _blobs(n=90, n_classes=3, seed=5)
    relabelled = np.array([3, 7, 9])[y]
    expected = silhouette_score(_f64(Z), relabelled)
    assert silhouette(Z, relabelled, seed=0) == pytest.approx(expected, rel=REL)
    assert silhouette(Z, relabelled, seed=0) == pytest.approx(silhouette(Z, y, seed=0), rel=1e-12)


def test_silhouette_with_string_labels_matches_sklearn() -> None:
    Z, y = _blobs(n=90, n_classes=3, seed=6)
    names = np.array(["cat", "dog", "emu"])[y]
    expected = silhouette_score(_f64(Z), names)
    assert silhouette(Z, names, seed=0) == pytest.approx(expected, rel=REL)


def test_silhouette_with_duplicate_points_matches_sklearn() -> None:
    Z, y = _blobs(n=40, n_classes=3, seed=7)
    Z, y = np.repeat(Z, 3, axis=0), np.repeat(y, 3)
    expected = silhouette_score(_f64(Z), y)
    assert silhouette(Z, y, seed=0, chunk_size=11) == pytest.approx(expected, rel=REL)


@pytest.mark.parametrize("seed", [0, 7, 123])
def test_silhouette_above_max_items_is_sklearns_seeded_sample(seed: int) -> None:
    Z, y = _blobs(n=260, seed=8)
    value = silhouette(Z, y, seed=seed, max_items=100, chunk_size=32)
    expected = silhouette_score(_f64(Z), y, sample_size=100, random_state=seed)
    assert value == pytest.approx(expected, rel=REL)
    # It is a sample: the full silhouette differs.
    assert value != pytest.approx(silhouette_score(_f64(Z), y), rel=1e-3)


def test_silhouette_sample_is_deterministic_and_depends_on_the_seed() -> None:
    Z, y = _blobs(n=260, seed=9)
    first = silhouette(Z, y, seed=11, max_items=100)
    assert silhouette(Z, y, seed=11, max_items=100) == first
    assert silhouette(Z, y, seed=12, max_items=100) != pytest.approx(first, rel=1e-6)


def test_silhouette_at_exactly_max_items_uses_every_item() -> None:
    Z, y = _blobs(n=100, seed=10)
    expected = silhouette_score(_f64(Z), y)
    assert silhouette(Z, y, seed=5, max_items=100) == pytest.approx(expected, rel=REL)


def test_silhouette_of_separated_clusters_is_near_one() -> None:
    Z, y = _blobs(n=60, n_classes=3, spread=0.001, seed=11)
    assert silhouette(Z, y, seed=0) > 0.99


# --- Davies–Bouldin and Calinski–Harabasz ------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_davies_bouldin_matches_sklearn(seed: int) -> None:
    Z, y = _blobs(seed=seed)
    expected = davies_bouldin_score(_f64(Z), y)
    assert davies_bouldin(Z, y) == pytest.approx(expected, rel=REL)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_calinski_harabasz_matches_sklearn(seed: int) -> None:
    Z, y = _blobs(seed=seed)
    expected = calinski_harabasz_score(_f64(Z), y)
    assert calinski_harabasz(Z, y) == pytest.approx(expected, rel=REL)


def test_davies_bouldin_and_calinski_harabasz_in_row_batches_match_sklearn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Summed over batches of 7 rows (the last one short), the same as sklearn's whole."""
    Z, y = _blobs(seed=3)
    assert len(Z) % 7 != 0
    monkeypatch.setattr(batches, "ROWS_PER_BATCH", 7)
    assert davies_bouldin(Z, y) == pytest.approx(davies_bouldin_score(_f64(Z), y), rel=REL)
    assert calinski_harabasz(Z, y) == pytest.approx(calinski_harabasz_score(_f64(Z), y), rel=REL)


@pytest.mark.parametrize(
    "labels",
    [np.array([3, 7, 9]), np.array(["3", "7", "9"]), np.array(["zebra", "ant", "moth"])],
    ids=["ints-3-7-9", "digit-strings", "words"],
)
def test_index_scores_with_non_contiguous_or_string_labels(labels: np.ndarray) -> None:
    Z, y = _blobs(n=90, n_classes=3, seed=12)
    relabelled = labels[y]
    assert davies_bouldin(Z, relabelled) == pytest.approx(
        davies_bouldin_score(_f64(Z), relabelled), rel=REL
    )
    assert calinski_harabasz(Z, relabelled) == pytest.approx(
        calinski_harabasz_score(_f64(Z), relabelled), rel=REL
    )


def test_index_scores_with_a_singleton_class_match_sklearn() -> None:
    Z, y = _blobs(n=60, n_classes=3, seed=13)
    y = y.copy()
    y[0] = 5
    assert davies_bouldin(Z, y) == pytest.approx(davies_bouldin_score(_f64(Z), y), rel=REL)
    assert calinski_harabasz(Z, y) == pytest.approx(calinski_harabasz_score(_f64(Z), y), rel=REL)


def test_davies_bouldin_with_coinciding_centroids_matches_sklearn() -> None:
    # Classes 0 and 1 share a centroid: scikit-learn skips that pair (distance 0).
    Z = np.array([[0, 0], [2, 0], [0, 1], [2, -1], [5, 5], [6, 6]], dtype=np.float64)
    y = np.array([0, 0, 1, 1, 2, 2])
    assert davies_bouldin(Z, y) == pytest.approx(davies_bouldin_score(Z, y), rel=REL)


def test_index_scores_of_classes_collapsed_to_points_match_sklearn() -> None:
    # No spread within classes: Davies–Bouldin is 0 and Calinski–Harabasz 1 in scikit-learn.
    Z = np.array([[0, 0], [0, 0], [1, 1], [1, 1], [3, 0], [3, 0]], dtype=np.float64)
    y = np.array([0, 0, 1, 1, 2, 2])
    assert davies_bouldin(Z, y) == davies_bouldin_score(Z, y) == 0.0
    assert calinski_harabasz(Z, y) == calinski_harabasz_score(Z, y) == 1.0


# --- how many classes ------------------------------------------------------------------

METRICS = {
    "silhouette": lambda Z, y: silhouette(Z, y, seed=0),
    "davies_bouldin": davies_bouldin,
    "calinski_harabasz": calinski_harabasz,
}


@pytest.mark.parametrize("name", sorted(METRICS))
def test_a_single_class_raises_a_clear_error(name: str) -> None:
    Z, _ = _blobs(n=20, seed=14)
    with pytest.raises(ValueError, match=r"(?i)2 and n_items - 1 classes.*got 1 class"):
        METRICS[name](Z, np.zeros(len(Z), dtype=int))
    # scikit-learn refuses the same input.
    with pytest.raises(ValueError):
        silhouette_score(_f64(Z), np.zeros(len(Z), dtype=int))


@pytest.mark.parametrize("name", sorted(METRICS))
def test_as_many_classes_as_items_raises_a_clear_error(name: str) -> None:
    Z, _ = _blobs(n=20, seed=15)
    with pytest.raises(ValueError, match=r"(?i)got 20 classes over 20 items"):
        METRICS[name](Z, np.arange(len(Z)))


@pytest.mark.parametrize("name", sorted(METRICS))
def test_n_minus_one_classes_is_allowed(name: str) -> None:
    Z, _ = _blobs(n=20, seed=16)
    y = np.arange(len(Z))
    y[-1] = 0
    assert np.isfinite(METRICS[name](Z, y))


def test_silhouette_checks_the_classes_of_the_sample() -> None:
    # Over max_items, the class count is that of the sample, as in scikit-learn.
    Z, _ = _blobs(n=30, seed=17)
    y = np.arange(30)
    with pytest.raises(ValueError, match="got 10 classes over 10 items"):
        silhouette(Z, y, seed=0, max_items=10)


def test_kmeans_agreement_finds_separate_blobs_and_not_shuffled_labels() -> None:
    from sklearn.cluster import KMeans
    from sklearn.datasets import make_blobs
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from repr_assets.metrics.clustering import kmeans_agreement

    Z, y = make_blobs(n_samples=900, centers=4, n_features=8, cluster_std=0.5, random_state=0)
    found = kmeans_agreement(Z, y, seed=0)
    assert found == pytest.approx({"kmeans_nmi": 1.0, "kmeans_ari": 1.0})
    shuffled = np.random.default_rng(0).permutation(y)
    chance = kmeans_agreement(Z, shuffled, seed=0)
    assert abs(chance["kmeans_ari"]) < 0.02 and chance["kmeans_nmi"] < 0.02
    # Overlapping blobs: the value is scikit-learn's for the same seeded k-means.
    Z, y = make_blobs(n_samples=900, centers=4, n_features=2, cluster_std=3.0, random_state=1)
    clusters = KMeans(n_clusters=4, n_init=4, random_state=3).fit_predict(Z)
    assert kmeans_agreement(Z, y, seed=3) == pytest.approx(
        {
            "kmeans_nmi": normalized_mutual_info_score(y, clusters),
            "kmeans_ari": adjusted_rand_score(y, clusters),
        }
    )


def test_kmeans_agreement_of_a_collapsed_code_is_chance_and_says_nothing(recwarn):
    from repr_assets.metrics.clustering import kmeans_agreement

    Z = np.zeros((60, 4))
    y = np.repeat([0, 1, 2], 20)
    found = kmeans_agreement(Z, y, seed=0)
    assert found["kmeans_ari"] == pytest.approx(0.0) and found["kmeans_nmi"] == pytest.approx(0.0)
    assert [str(w.message) for w in recwarn] == []
