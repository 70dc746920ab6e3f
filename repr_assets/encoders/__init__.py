"""Encoders: ``fit`` on features, ``transform`` to codes, ``inverse_transform`` back.

Both encoders follow scikit-learn's conventions (parameters in ``__init__``, fitted state
ending in ``_``) and save themselves as parameters plus arrays, never as a pickle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from repr_assets.encoders.autoencoder import Autoencoder
from repr_assets.encoders.pca import PCA


class Encoder(Protocol):
    kind: str

    @property
    def params(self) -> dict[str, Any]: ...

    @property
    def latent_dim(self) -> int: ...

    def transform(self, X: np.ndarray) -> np.ndarray: ...

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray: ...

    def save(self, directory: Path) -> None: ...


ENCODER_KINDS: dict[str, Any] = {PCA.kind: PCA, Autoencoder.kind: Autoencoder}


def load_encoder(kind: str, directory: Path) -> Encoder:
    """Load an encoder of ``kind`` saved in ``directory``."""
    try:
        cls = ENCODER_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown encoder kind {kind!r}; known: {sorted(ENCODER_KINDS)}") from None
    encoder: Encoder = cls.load(directory)
    return encoder


__all__ = ["ENCODER_KINDS", "PCA", "Autoencoder", "Encoder", "load_encoder"]
