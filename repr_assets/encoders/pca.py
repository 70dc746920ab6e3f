"""PCA by an exact eigendecomposition of the covariance, accumulated in batches."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from repr_assets.encoders.config import CodeConfig
from repr_assets.encoders.kind import EncoderKind, TrainingProgress
from repr_assets.metrics.batches import float64_batches
from repr_assets.schema import MAX_WIDTH, Schema, integer
from repr_assets.stores.model_files import ModelFileError, read_params
from repr_assets.stores.saved_arrays import ArraySpec, read_npz

BLOCK_ROWS = 16384
"""Rows taken at a time from a batch: a float32 block of 784 features is 50 MB."""

FLOAT32_AMPLIFICATION_LIMIT = 4.0
"""Float32 data are centred before their product when the mean square of the rows is more
than this many times their variance; below it, the rounding of the uncentred product costs
at most that factor in precision against a centred one, and saves a copy of every block."""


@dataclass(frozen=True)
class PCAConfig(CodeConfig):
    """PCA's one setting: the number of components (``latent_dim``)."""


class PCA:
    """Principal component analysis with a deterministic sign per component.

    The covariance is accumulated block by block into float64 sums, so fitting needs
    memory for one block plus a ``(n_features, n_features)`` matrix, whatever the number
    of rows.

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

    kind: ClassVar[str] = "pca"
    saved_params: ClassVar[Schema] = {"n_components": integer(1, MAX_WIDTH)}
    """``params.json`` and its bounds."""
    saved_arrays: ClassVar[dict[str, ArraySpec]] = {
        "mean_": ArraySpec("f", ("n_features",)),
        "components_": ArraySpec("f", ("n_components", "n_features")),
        "explained_variance_": ArraySpec("f", ("n_components",)),
        "total_variance_": ArraySpec("f", ()),
        "n_samples_seen_": ArraySpec("i", ()),
    }
    """``state.npz``: its arrays, their dtypes and shapes."""

    def __init__(self, n_components: int) -> None:
        self.n_components = n_components

    @property
    def latent_dim(self) -> int:
        return self.n_components

    @property
    def params(self) -> dict[str, Any]:
        return {"n_components": self.n_components}

    @classmethod
    def from_config(cls, config: PCAConfig) -> PCA:
        return cls(config.latent_dim)

    def fit(
        self,
        X: np.ndarray,
        *,
        augmentation: Any = None,
        progress: TrainingProgress | None = None,
    ) -> PCA:
        """Fit on ``X`` of shape ``(n_samples, n_features)`` (in one pass: nothing to report
        and no use for an augmentation)."""
        return self.fit_batches([X])

    def fit_batches(self, batches: Iterable[np.ndarray]) -> PCA:
        """Fit on row batches, each ``(batch_rows, n_features)``, read once.

        Each batch is taken in blocks of at most ``BLOCK_ROWS`` rows, so a large matrix is
        never copied whole. A float32 block is multiplied in float32 (a GEMM at twice the
        float64 speed) and each block's product added to float64 running sums; any other
        block is converted to float64 first.
        """
        count = 0
        width: int | None = None
        shift: np.ndarray | None = None
        total: np.ndarray | None = None
        cross: np.ndarray | None = None
        for batch in batches:
            batch = np.asarray(batch)
            if batch.ndim != 2:
                raise ValueError(f"PCA expects a 2-D matrix, got shape {batch.shape}")
            if width is None:
                width = batch.shape[1]
                total = np.zeros(width)
                cross = np.zeros((width, width))
            assert total is not None and cross is not None
            if batch.shape[1] != width:
                raise ValueError(f"batch has {batch.shape[1]} features, expected {width}")
            for start in range(0, len(batch), BLOCK_ROWS):
                block = batch[start : start + BLOCK_ROWS]
                sums = None
                if shift is None:
                    shift, sums = _first_shift(block)
                if sums is None:
                    sums = _shifted_sums(block, shift)
                block_total, block_cross = sums
                total += block_total
                cross += block_cross
            count += len(batch)
        if shift is None and width is not None:
            shift = np.zeros(width)
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
        # NumPy's LAPACK, not SciPy's: SciPy's runs on its own BLAS threads, which would
        # compete for the cores with those of the product above while they wait spinning.
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

    @property
    def n_features_in_(self) -> int:
        """How many features the fitted PCA reads (scikit-learn's name)."""
        return int(self.components_.shape[1])

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Project ``(n, n_features)`` rows to ``(n, n_components)`` float32 codes.

        Computed in float64 a batch of rows at a time (``float64_batches``): a float64
        copy of every row was 300 MiB of temporaries for the 200,000 test rows of a
        million-item report.
        """
        X = self._checked(X, "features")
        codes = np.empty((len(X), self.n_components), np.float32)
        for rows, (block,) in float64_batches(X):
            codes[rows] = (block - self.mean_) @ self.components_.T
        return codes

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Map ``(n, n_components)`` codes back to ``(n, n_features)`` float32 rows, in
        float64 a batch of rows at a time."""
        Z = self._checked(Z, "codes")
        X = np.empty((len(Z), self.components_.shape[1]), np.float32)
        for rows, (codes,) in float64_batches(Z):
            X[rows] = codes @ self.components_ + self.mean_
        return X

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
        """The PCA saved in ``directory``; ``ModelFileError`` when a file does not fit
        (the arrays' headers are checked before their data is read, and no pickle)."""
        params = read_params(directory / "params.json", cls.saved_params)
        pca = cls(**params)
        path = directory / "state.npz"
        state, dims = read_npz(path, cls.saved_arrays, {"n_components": pca.n_components})
        if pca.n_components > dims["n_features"]:
            raise ModelFileError(
                path, f"has {dims['n_features']} features, fewer than {pca.n_components} components"
            )
        if (state["explained_variance_"] < 0).any() or state["total_variance_"] < 0:
            raise ModelFileError(path, "holds a negative variance")
        if state["n_samples_seen_"] < 2:
            raise ModelFileError(path, f"says it was fitted on {state['n_samples_seen_']} rows")
        pca.mean_ = state["mean_"]
        pca.components_ = state["components_"]
        pca.explained_variance_ = state["explained_variance_"]
        pca.total_variance_ = float(state["total_variance_"])
        pca.n_samples_seen_ = int(state["n_samples_seen_"])
        pca.explained_variance_ratio_ = pca.explained_variance_ / max(pca.total_variance_, 1e-300)
        return pca

    def _checked(self, data: np.ndarray, what: str) -> np.ndarray:
        """``data`` as an array, once the PCA is fitted and the width is that of ``what``."""
        if not hasattr(self, "components_"):
            raise RuntimeError("this PCA is not fitted yet: call fit() first")
        width = self.components_.shape[1] if what == "features" else self.n_components
        data = np.asarray(data)
        if data.ndim != 2 or data.shape[1] != width:
            raise ValueError(f"expected {what} of shape (n, {width}), got {data.shape}")
        return data


def _check_finite(block: np.ndarray) -> None:
    if not np.isfinite(block).all():
        raise ValueError("PCA input holds NaN or Inf values")


def _first_shift(
    block: np.ndarray,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """The point that every row is shifted by before its products are summed, chosen on
    the first block; and that block's sums when they were computed with it already.

    Centring on the first block's mean keeps the sums well conditioned when the data sit
    far from the origin. Float32 data near the origin, for which the uncentred float32
    product is nearly as accurate (see ``FLOAT32_AMPLIFICATION_LIMIT``), are not shifted,
    which spares a copy of each block. A float32 shift is a float32 number, so that what is
    subtracted in float32 is exactly the float64 shift.
    """
    if block.dtype != np.float32:
        return np.asarray(block, dtype=np.float64).mean(axis=0), None
    origin = np.zeros(block.shape[1])
    sums, products = _shifted_sums(block, origin)
    # Both summed over the rows: squared norms, and squared deviations from their mean.
    squares = float(np.trace(products))
    deviations = squares - float(sums @ sums) / len(block)
    if squares <= FLOAT32_AMPLIFICATION_LIMIT * deviations:
        return origin, (sums, products)
    return (sums / len(block)).astype(np.float32).astype(np.float64), None


def _shifted_sums(block: np.ndarray, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column sums and cross-product of ``block - shift``, as float64 arrays.

    A float32 block is multiplied in float32; a non-finite diagonal or sum then says that
    the block holds a NaN or an Inf (or values whose squares overflow float32), and the
    block is checked and summed in float64 instead.
    """
    if block.dtype == np.float32:
        sums = _column_sums(block) - len(block) * shift
        with np.errstate(over="ignore", invalid="ignore"):  # checked just below
            if shift.any():
                centred = block - shift.astype(np.float32)
                products = centred.T @ centred
            else:
                products = block.T @ block
        if np.isfinite(sums).all() and np.isfinite(np.diagonal(products)).all():
            return sums, products.astype(np.float64)
    data = np.asarray(block, dtype=np.float64)
    _check_finite(data)
    centred = data - shift
    return centred.sum(axis=0), centred.T @ centred


def _column_sums(block: np.ndarray, group: int = 64) -> np.ndarray:
    """Float64 column sums of a float32 block: each group of ``group`` rows summed in
    float32 (the rounding error of 64 terms), then the groups' sums in float64. About
    twice as fast as a float64 sum of every element, and as good for the mean."""
    whole = len(block) // group * group
    groups = block[:whole].reshape(-1, group, block.shape[1]).sum(axis=1)
    return groups.sum(axis=0, dtype=np.float64) + block[whole:].sum(axis=0, dtype=np.float64)


def _largest_entry_signs(components: np.ndarray) -> np.ndarray:
    """+1 or -1 per row, making each row's largest-magnitude entry positive."""
    largest = components[np.arange(len(components)), np.abs(components).argmax(axis=1)]
    return np.where(largest < 0, -1.0, 1.0)


KIND = EncoderKind(
    name="pca",
    summary="PCA by exact covariance eigendecomposition, accumulated in batches.",
    config=PCAConfig,
    estimator=PCA,
    compute_kind="numpy",
)
