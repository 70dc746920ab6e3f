"""The quality report of one encoder: the metrics of INTERFACE.md from features and codes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from repr_assets.encoders import Encoder
from repr_assets.metrics.clustering import silhouette
from repr_assets.metrics.probes import knn_accuracy, linear_probe_accuracy
from repr_assets.metrics.reconstruction import explained_variance, reconstruction_mse


def evaluate_encoder(
    encoder: Encoder,
    X: np.ndarray,
    Z: np.ndarray,
    labels: Sequence[str | None],
    test_mask: np.ndarray,
    seed: int,
) -> dict[str, float]:
    """Metric name -> value for features ``X`` ``(n, f)`` and their codes ``Z`` ``(n, d)``.

    Rows of ``X``, ``Z``, ``labels`` and ``test_mask`` describe the same items in the same
    order. Supervised metrics are left out when fewer than two classes are labelled.
    """
    if not (len(X) == len(Z) == len(labels) == len(test_mask)):
        raise ValueError("features, codes, labels and test mask must describe the same items")
    X_test = X[test_mask]
    X_hat = encoder.inverse_transform(encoder.transform(X_test))
    metrics = {
        "reconstruction_mse": reconstruction_mse(X_test, X_hat),
        "explained_variance": explained_variance(X_test, X_hat),
    }
    labelled = np.array([label is not None for label in labels])
    if labelled.any():
        _, y = np.unique(np.array([lab for lab in labels if lab is not None]), return_inverse=True)
        Z_labelled, test_labelled = Z[labelled], test_mask[labelled]
        train_classes = np.unique(y[~test_labelled])
        if len(train_classes) >= 2 and test_labelled.any():
            metrics["silhouette"] = silhouette(Z_labelled, y, seed=seed)
            metrics["linear_probe_accuracy"] = linear_probe_accuracy(Z_labelled, y, test_labelled)
            metrics["knn_accuracy"] = knn_accuracy(Z_labelled, y, test_labelled)
    return metrics
