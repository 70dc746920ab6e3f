"""Encoders: ``fit`` on features, ``transform`` to codes, ``inverse_transform`` back.

The encoders follow scikit-learn's conventions (parameters in ``__init__``, fitted state
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


def load_encoder(kind: str, directory: Path) -> Encoder:
    """Load an encoder of ``kind`` saved in ``directory``."""
    from repr_assets.encoders.registry import load_saved_encoder

    encoder: Encoder = load_saved_encoder(kind, directory)
    return encoder


__all__ = ["PCA", "Autoencoder", "Encoder", "load_encoder"]
