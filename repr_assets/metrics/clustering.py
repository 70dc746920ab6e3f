"""How well the classes separate: silhouette, Davies–Bouldin, Calinski–Harabasz.

Each matches scikit-learn's function of the same name; the silhouette's quadratic
distance work runs in row chunks on the metric device.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from repr_assets.items.sampling import seeded_sample
from repr_assets.metrics.batches import float64_batches
from repr_assets.metrics.device import as_tensor, metric_device

SILHOUETTE_MAX_ITEMS = 10_000


def silhouette(
    Z: np.ndarray,
    y: np.ndarray,
    seed: int,
    max_items: int = SILHOUETTE_MAX_ITEMS,
    chunk_size: int = 1024,
) -> float:
    """Mean euclidean silhouette of ``Z`` ``(n, d)`` under integer labels ``y`` ``(n,)``.

    All items when there are at most ``max_items``, else the same seeded sample that
    ``sklearn.metrics.silhouette_score(sample_size=max_items, random_state=seed)`` draws
    (Rousseeuw, 1987). Items alone in their class score 0, as in scikit-learn.
    """
    if len(Z) > max_items:
        sample = seeded_sample(len(Z), max_items, seed)  # scikit-learn's items, sorted
        Z, y = Z[sample], y[sample]
    _, y = np.unique(y, return_inverse=True)
    _require_classes(y, len(Z))
    device = metric_device()
    points = as_tensor(Z, device)
    labels = torch.as_tensor(y, device=device)
    one_hot = torch.nn.functional.one_hot(labels).to(points.dtype)
    class_sizes = one_hot.sum(dim=0)
    scores = []
    for start in range(0, len(points), chunk_size):
        block = points[start : start + chunk_size]
        own = labels[start : start + chunk_size]
        distance_sums = torch.cdist(block, points) @ one_hot  # (chunk, classes)
        own_size = class_sizes[own]
        rows = torch.arange(len(block), device=device)
        a = distance_sums[rows, own] / (own_size - 1).clamp(min=1)
        mean_to_other = distance_sums / class_sizes
        mean_to_other[rows, own] = torch.inf
        b = mean_to_other.min(dim=1).values
        score = (b - a) / torch.maximum(a, b)
        scores.append(torch.where(own_size > 1, torch.nan_to_num(score), 0.0))
    return float(torch.cat(scores).mean())


def davies_bouldin(Z: np.ndarray, y: np.ndarray) -> float:
    """Davies–Bouldin index (1979) of ``Z`` ``(n, d)`` under labels ``y``; lower is better."""
    _, y = np.unique(y, return_inverse=True)
    _require_classes(y, len(Z))
    Z = np.asarray(Z)  # float32 stays float32: each batch is cast below
    centroids = _centroids(Z, y)
    to_centroid = np.empty(len(Z))
    for rows, (points,) in float64_batches(Z):
        to_centroid[rows] = np.linalg.norm(points - centroids[y[rows]], axis=1)
    scatter = np.bincount(y, weights=to_centroid) / np.bincount(y)
    separation = np.linalg.norm(centroids[:, None, :] - centroids[None, :, :], axis=2)
    if np.allclose(scatter, 0) or np.allclose(separation, 0):
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (scatter[:, None] + scatter[None, :]) / separation
    ratio[np.isinf(ratio) | np.isnan(ratio)] = 0.0
    np.fill_diagonal(ratio, -np.inf)
    return float(np.mean(ratio.max(axis=1)))


def calinski_harabasz(Z: np.ndarray, y: np.ndarray) -> float:
    """Calinski–Harabasz score (1974): between- over within-class dispersion; higher is better."""
    _, y = np.unique(y, return_inverse=True)
    _require_classes(y, len(Z))
    Z = np.asarray(Z)
    n, k = len(Z), int(y.max()) + 1
    centroids = _centroids(Z, y)
    mean = np.mean(Z, axis=0, dtype=np.float64)
    between = float(np.sum(np.bincount(y) * np.sum((centroids - mean) ** 2, axis=1)))
    within = sum(
        float(np.sum((points - centroids[y[rows]]) ** 2)) for rows, (points,) in float64_batches(Z)
    )
    return 1.0 if within == 0.0 else between * (n - k) / (within * (k - 1))


def _centroids(Z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(classes, d)`` float64 class means, summed one feature column at a time."""
    counts = np.bincount(y)
    sums = [np.bincount(y, weights=Z[:, j], minlength=len(counts)) for j in range(Z.shape[1])]
    return np.stack(sums, axis=1) / counts[:, None]


def _require_classes(y: np.ndarray, n: int) -> None:
    classes = len(np.unique(y))
    if not 2 <= classes <= n - 1:
        raise ValueError(
            f"class-separation metrics need between 2 and n_items - 1 classes; got {classes} "
            f"classes over {n} items"
        )


KMEANS_MAX_ITEMS = 20_000


def kmeans_agreement(Z: np.ndarray, y: np.ndarray, seed: int) -> dict[str, float]:
    """``kmeans_nmi`` and ``kmeans_ari``: how well a seeded k-means of the codes ``Z``
    ``(n, d)``, with k the number of classes in ``y``, finds the classes (normalised mutual
    information and adjusted Rand index; 1 is a perfect match, about 0 is chance). Over a
    seeded sample of at most ``KMEANS_MAX_ITEMS`` items."""
    sample = seeded_sample(len(Z), KMEANS_MAX_ITEMS, seed)
    Z, y = np.asarray(Z, np.float64)[sample], y[sample]
    _, y = np.unique(y, return_inverse=True)
    _require_classes(y, len(Z))
    with warnings.catch_warnings():
        # Codes with fewer distinct points than classes (a collapsed code) give fewer
        # clusters: scikit-learn's warning is for programmers, the low score is the answer.
        warnings.simplefilter("ignore", ConvergenceWarning)
        k_means = KMeans(n_clusters=int(y.max()) + 1, n_init=4, random_state=seed)
        clusters = k_means.fit_predict(Z)
    return {
        "kmeans_nmi": float(normalized_mutual_info_score(y, clusters)),
        "kmeans_ari": float(adjusted_rand_score(y, clusters)),
    }
