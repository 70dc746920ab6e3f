"""How much of the featurised input an encoder's code keeps."""

from __future__ import annotations

import numpy as np

from repr_assets.metrics.batches import float64_batches


def reconstruction_mse(X: np.ndarray, X_hat: np.ndarray) -> float:
    """Mean over items and features of ``(X - X_hat)**2``; both ``(n, n_features)``."""
    return _squared_error(X, X_hat) / np.size(X)


def explained_variance(X: np.ndarray, X_hat: np.ndarray) -> float:
    """``1 - SSE / SST``: squared reconstruction error over squared deviation from ``X``'s mean."""
    residual = _squared_error(X, X_hat)
    mean = np.mean(X, axis=0, dtype=np.float64)
    total = sum(float(np.sum((rows - mean) ** 2)) for _, (rows,) in float64_batches(X))
    if total == 0.0:
        raise ValueError("explained variance is undefined: the input has zero variance")
    return float(1.0 - residual / total)


def _squared_error(X: np.ndarray, X_hat: np.ndarray) -> float:
    if np.shape(X) != np.shape(X_hat):
        raise ValueError(f"input {np.shape(X)} and reconstruction {np.shape(X_hat)} differ")
    return sum(
        float(np.sum((rows - rows_hat) ** 2)) for _, (rows, rows_hat) in float64_batches(X, X_hat)
    )
