"""Harmless changes of featurised items, for the invariance metrics.

An augmentation maps a ``(n, n_features)`` float32 feature matrix and a seeded
``torch.Generator`` to a changed copy of the same shape. Each featuriser declares its own
set through its ``augmentations`` method.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from repr_assets.metrics.device import metric_device

Augmentation = Callable[[np.ndarray, torch.Generator], np.ndarray]


def identity(X: np.ndarray, generator: torch.Generator) -> np.ndarray:
    return np.array(X, dtype=np.float32, copy=True)


def image_augmentations(
    size: int,
    max_shift: float = 0.1,
    max_degrees: float = 10.0,
    noise_std: float = 0.05,
    channels: int = 1,
) -> dict[str, Augmentation]:
    """``shift``, ``rotation`` and ``noise`` for ``size`` x ``size`` images in [0, 1] of
    ``channels`` planes each (1 grey, 3 RGB: rows hold the planes one after another).

    ``max_shift`` is a fraction of the side (at least half a pixel); each image draws its own
    offset and angle. The three are also composed as ``all``.
    """
    shift_pixels = max(0.5, max_shift * size)

    def affine(X: np.ndarray, generator: torch.Generator, shift: bool, rotate: bool) -> np.ndarray:
        images = torch.as_tensor(X, dtype=torch.float32).reshape(-1, channels, size, size)
        n = len(images)
        # affine_grid works in [-1, 1] coordinates: one pixel is 2 / size.
        offsets = (torch.rand(n, 2, generator=generator) * 2 - 1) * shift_pixels * 2 / size
        angles = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(max_degrees)
        cos, sin = torch.cos(angles), torch.sin(angles)
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0], theta[:, 1, 1] = (cos, cos) if rotate else (1.0, 1.0)
        theta[:, 0, 1], theta[:, 1, 0] = (-sin, sin) if rotate else (0.0, 0.0)
        if shift:
            theta[:, :, 2] = offsets
        device = metric_device()
        grid = torch.nn.functional.affine_grid(theta, list(images.shape), align_corners=False)
        moved = torch.nn.functional.grid_sample(
            images.to(device),
            grid.to(device),
            mode="bilinear",
            padding_mode="zeros",
            align_corners=False,
        )
        return moved.reshape(n, -1).cpu().numpy()

    def shift(X: np.ndarray, generator: torch.Generator) -> np.ndarray:
        return affine(X, generator, shift=True, rotate=False)

    def rotation(X: np.ndarray, generator: torch.Generator) -> np.ndarray:
        return affine(X, generator, shift=False, rotate=True)

    def noise(X: np.ndarray, generator: torch.Generator) -> np.ndarray:
        jitter = torch.randn(X.shape, generator=generator).numpy() * noise_std
        return np.clip(X + jitter, 0.0, 1.0).astype(np.float32)

    def combined(X: np.ndarray, generator: torch.Generator) -> np.ndarray:
        return noise(affine(X, generator, shift=True, rotate=True), generator)

    return {"shift": shift, "rotation": rotation, "noise": noise, "all": combined}


def word_dropout(rate: float = 0.1) -> Augmentation:
    """Drop each term of a bag-of-words row with probability ``rate``, then re-normalise.

    On unit-norm TF-IDF rows this is dropping words from the text (every occurrence of a
    dropped term goes), without having to keep the raw text beside the features.
    """

    def dropout(X: np.ndarray, generator: torch.Generator) -> np.ndarray:
        keep = torch.rand(X.shape, generator=generator).numpy() >= rate
        dropped = np.where(keep, X, 0.0).astype(np.float32)
        norms = np.linalg.norm(dropped, axis=1, keepdims=True)
        # A row that lost every term stays as it was rather than becoming all zeros.
        return np.where(norms > 0, dropped / np.maximum(norms, 1e-12), X).astype(np.float32)

    return dropout


def feature_noise(columns: int, std: float = 0.05) -> Augmentation:
    """Gaussian noise of ``std`` on the first ``columns`` features (standardised numbers);
    the one-hot and indicator columns after them are left alone."""

    def noise(X: np.ndarray, generator: torch.Generator) -> np.ndarray:
        out = np.array(X, dtype=np.float32, copy=True)
        jitter = torch.randn((len(X), columns), generator=generator).numpy() * std
        out[:, :columns] += jitter.astype(np.float32)
        return out

    return noise


def drop_words(rate: float = 0.1) -> Augmentation:
    """Word dropout on raw texts (an object array of strings): each word is dropped with
    probability ``rate``; a text keeps at least one word. For encoders that read text."""

    def dropout(texts: np.ndarray, generator: torch.Generator) -> np.ndarray:
        out = np.empty(len(texts), dtype=object)
        for row, text in enumerate(texts):
            words = str(text).split()
            keep = (torch.rand(len(words), generator=generator) >= rate).tolist()
            kept = [word for word, k in zip(words, keep, strict=True) if k]
            out[row] = " ".join(kept or words[:1])
        return out

    return dropout
