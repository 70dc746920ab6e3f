"""Generic corruptions for training, and applying an augmentation to tensors in bulk.

An encoder that learns from changed copies of its inputs (denoising, contrastive) takes
the modality's ``Augmentation`` from ``repr_assets.items.augment``; without one it falls back
on the generic changes here, which suit any feature matrix.
"""

from __future__ import annotations

import numpy as np
import torch

from repr_assets.items.augment import Augmentation

# Augmenting a whole epoch in one call keeps the per-call overhead away, but images are
# resampled through a grid several times their size: chunks keep that memory flat.
AUGMENT_CHUNK_ROWS = 16_384


def masking_noise(fraction: float) -> Augmentation:
    """Set each feature of each row to zero with probability ``fraction``."""
    _check_fraction(fraction, "mask fraction")

    def mask(X: np.ndarray, generator: torch.Generator) -> np.ndarray:
        keep = torch.rand(X.shape, generator=generator).numpy() >= fraction
        return np.where(keep, X, 0.0).astype(np.float32)

    return mask


def noise_and_masking(
    feature_std: np.ndarray, noise_level: float = 0.1, mask_fraction: float = 0.2
) -> Augmentation:
    """Gaussian noise of ``noise_level`` times each feature's std, then masking noise.

    ``feature_std`` ``(n_features,)`` comes from the training data, so the noise has the
    scale of each feature whatever its units (pixels, TF-IDF weights, standardised values).
    """
    if noise_level < 0:
        raise ValueError(f"noise level must not be negative, got {noise_level}")
    scale = np.asarray(feature_std, np.float32) * noise_level
    mask = masking_noise(mask_fraction)

    def change(X: np.ndarray, generator: torch.Generator) -> np.ndarray:
        jitter = torch.randn(X.shape, generator=generator).numpy() * scale
        return mask((X + jitter).astype(np.float32), generator)

    return change


def augment_in_chunks(
    augmentation: Augmentation,
    X: np.ndarray,
    generator: torch.Generator,
    chunk_rows: int = AUGMENT_CHUNK_ROWS,
) -> np.ndarray:
    """``augmentation`` applied to ``X`` ``(n, n_features)`` a chunk of rows at a time."""
    if len(X) <= chunk_rows:
        return _checked(augmentation(X, generator), X.shape)
    chunks = [
        _checked(augmentation(X[start : start + chunk_rows], generator), None)
        for start in range(0, len(X), chunk_rows)
    ]
    return _checked(np.concatenate(chunks), X.shape)


def augment_tensor(
    augmentation: Augmentation, batch: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """``augmentation`` applied to a tensor: through NumPy, back on the batch's device."""
    changed = augment_in_chunks(augmentation, batch.detach().cpu().numpy(), generator)
    return torch.from_numpy(changed).to(batch.device)


def _checked(changed: np.ndarray, shape: tuple[int, ...] | None) -> np.ndarray:
    changed = np.require(changed, np.float32, ["C_CONTIGUOUS", "WRITEABLE"])
    if shape is not None and changed.shape != shape:
        raise ValueError(f"an augmentation changed the shape {shape} into {changed.shape}")
    return changed


def _check_fraction(fraction: float, name: str) -> None:
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {fraction}")
