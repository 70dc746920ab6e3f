"""PCA by an exact eigendecomposition of the covariance, accumulated in batches."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np


class PCA:
    """Principal component analysis with a deterministic sign per component.

    The covariance is accumulated batch by batch in float64, so fitting needs memory for
    one batch plus a ``(n_features, n_features)`` matrix, whatever the number of rows.

    Parameters
    ----------
    n_components:
        Number of components kept, at most ``n_features``.

    Attributes (after ``fit``)
    --------------------------
    mean_: ``(n_features,)`` the training mean.
    components_: ``(n_components, n_features)`` unit-length principal axes, each signed so
        that its largest-magnitude entry is positive.
    explained_variance_: ``(n_components,)`` variance along each axis (ddof=1).
    explained_variance_ratio_: ``(n_components,)`` share of the total variance.
    total_variance_: sum of the variances of all features.
    n_samples_seen_: number of rows fitted.
    """

    kind = "pca"

    def __init__(self, n_components: int) -> None:
        self.n_components = n_components

    @property
    def latent_dim(self) -> int:
        return self.n_components

    @property
    def params(self) -> dict[str, Any]:
        return {"n_components": self.n_components}

    def fit(self, X: np.ndarray) -> PCA:
        """Fit on ``X`` of shape ``(n_samples, n_features)``."""
        return self.fit_batches([X])

    def fit_batches(self, batches: Iterable[np.ndarray]) -> PCA:
        """Fit on row batches, each ``(batch_rows, n_features)``, read once."""
        count = 0
        shift: np.ndarray | None = None
        total: np.ndarray | None = None
        cross: np.ndarray | None = None
        for batch in batches:
            X = np.asarray(batch, dtype=np.float64)
            if X.ndim != 2:
                raise ValueError(f"PCA expects a 2-D matrix, got shape {X.shape}")
            if not np.isfinite(X).all():
                raise ValueError("PCA input holds NaN or Inf values")
            if shift is None:
                # Centring on the first batch's mean keeps the float64 sums well
                # conditioned when the data sit far from the origin.
                shift = X.mean(axis=0) if len(X) else np.zeros(X.shape[1])
                total = np.zeros(X.shape[1])
                cross = np.zeros((X.shape[1], X.shape[1]))
            assert total is not None and cross is not None
            if X.shape[1] != len(shift):
                raise ValueError(f"batch has {X.shape[1]} features, expected {len(shift)}")
            centred = X - shift
            total += centred.sum(axis=0)
            cross += centred.T @ centred
            count += len(X)
        if shift is None or total is None or cross is None or count < 2:
            raise ValueError(f"PCA needs at least 2 rows, got {count}")
        n_features = len(shift)
        if not 1 <= self.n_components <= n_features:
            raise ValueError(
                f"n_components must be between 1 and {n_features} (the number of features), "
                f"got {self.n_components}"
            )
        offset = total / count
        covariance = (cross - count * np.outer(offset, offset)) / (count - 1)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        order = np.argsort(eigenvalues)[::-1][: self.n_components]
        components = eigenvectors[:, order].T
        components *= _largest_entry_signs(components)[:, None]

        self.mean_ = (shift + offset).astype(np.float64)
        self.components_ = components
        self.explained_variance_ = np.clip(eigenvalues[order], 0.0, None)
        self.total_variance_ = float(np.clip(eigenvalues, 0.0, None).sum())
        self.explained_variance_ratio_ = self.explained_variance_ / max(
            self.total_variance_, 1e-300
        )
        self.n_samples_seen_ = count
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Project ``(n, n_features)`` rows to ``(n, n_components)`` float32 codes."""
        X = self._checked(X, "features")
        return ((X - self.mean_) @ self.components_.T).astype(np.float32)

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Map ``(n, n_components)`` codes back to ``(n, n_features)`` float32 rows."""
        Z = self._checked(Z, "codes")
        return (Z @ self.components_ + self.mean_).astype(np.float32)

    def save(self, directory: Path) -> None:
        """Write ``params.json`` and the fitted arrays as ``state.npz`` (no pickle)."""
        if not hasattr(self, "components_"):
            raise RuntimeError("this PCA is not fitted yet: call fit() first")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "params.json").write_text(json.dumps(self.params))
        np.savez(
            directory / "state.npz",
            mean_=self.mean_,
            components_=self.components_,
            explained_variance_=self.explained_variance_,
            total_variance_=np.array(self.total_variance_),
            n_samples_seen_=np.array(self.n_samples_seen_),
        )

    @classmethod
    def load(cls, directory: Path) -> PCA:
        params = json.loads((directory / "params.json").read_text())
        pca = cls(**params)
        with np.load(directory / "state.npz", allow_pickle=False) as state:
            pca.mean_ = state["mean_"]
            pca.components_ = state["components_"]
            pca.explained_variance_ = state["explained_variance_"]
            pca.total_variance_ = float(state["total_variance_"])
            pca.n_samples_seen_ = int(state["n_samples_seen_"])
        pca.explained_variance_ratio_ = pca.explained_variance_ / max(pca.total_variance_, 1e-300)
        return pca

    def _checked(self, data: np.ndarray, what: str) -> np.ndarray:
        """``data`` as float64, once the PCA is fitted and the width is that of ``what``."""
        if not hasattr(self, "components_"):
            raise RuntimeError("this PCA is not fitted yet: call fit() first")
        width = self.components_.shape[1] if what == "features" else self.n_components
        data = np.asarray(data, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != width:
            raise ValueError(f"expected {what} of shape (n, {width}), got {data.shape}")
        return data


def _largest_entry_signs(components: np.ndarray) -> np.ndarray:
    """+1 or -1 per row, making each row's largest-magnitude entry positive."""
    largest = components[np.arange(len(components)), np.abs(components).argmax(axis=1)]
    return np.where(largest < 0, -1.0, 1.0)


def _fit(encoder: PCA, inputs: np.ndarray, augmentation: Any, progress: Any) -> None:
    encoder.fit(inputs)


def _kind() -> Any:
    from repr_assets.encoders.registry import EncoderKind, latent_width

    return EncoderKind(
        name="pca",
        summary="PCA fitted on the training split by an exact covariance eigendecomposition.",
        defaults={"latent_dim": 16},
        descriptions={"latent_dim": "Number of principal components kept."},
        build=lambda config, n_features: PCA(latent_width(config, n_features)),
        fit=_fit,
        load=PCA.load,
        compute_kind="numpy",
    )


KIND = _kind()
