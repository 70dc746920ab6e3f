"""How much of the featurised input an encoder's code keeps."""

from __future__ import annotations

import numpy as np


def reconstruction_mse(X: np.ndarray, X_hat: np.ndarray) -> float:
    """Mean over items and features of ``(X - X_hat)**2``; both ``(n, n_features)``."""
    return float(np.mean((np.asarray(X, np.float64) - np.asarray(X_hat, np.float64)) ** 2))


def explained_variance(X: np.ndarray, X_hat: np.ndarray) -> float:
    """``1 - SSE / SST``: squared reconstruction error over squared deviation from ``X``'s mean."""
    X = np.asarray(X, np.float64)
    residual = np.sum((X - np.asarray(X_hat, np.float64)) ** 2)
    total = np.sum((X - X.mean(axis=0)) ** 2)
    if total == 0.0:
        raise ValueError("explained variance is undefined: the input has zero variance")
    return float(1.0 - residual / total)
