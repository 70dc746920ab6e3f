"""The denoising autoencoder: reconstruct the clean item from a corrupted copy of it.

Learning to undo the modality's harmless changes (a shift, a rotation, dropped words,
noise) pushes an item and its changed copies towards the same code, which the plain
autoencoder has no reason to do.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from repr_assets.augment import Augmentation
from repr_assets.encoders.autoencoder import Autoencoder
from repr_assets.encoders.corruption import augment_tensor, masking_noise
from repr_assets.encoders.training import (
    ProgressCallback,
    TrainingSettings,
)
from repr_assets.stores.model_files import Schema, number

# The corruption draws from a generator of its own, apart from the shuffling generator
# seeded by the same seed, so that the two random streams do not move in step.
CORRUPTION_SEED_OFFSET = 7919


class DenoisingAutoencoder(Autoencoder):
    """The MLP ``Autoencoder`` trained to map corrupted inputs back to clean ones.

    Parameters: those of ``Autoencoder``, and
    mask_fraction: share of features zeroed by the default corruption, masking noise,
        used when ``fit`` is given no augmentation.

    ``fit(X, augmentation)`` corrupts each training batch with ``augmentation`` (the
    modality's, as the invariance metrics use); validation, ``transform`` and
    ``inverse_transform`` work on clean rows, as the plain autoencoder's do.
    """

    kind = "denoising_autoencoder"
    reconstructs = True
    saved_params: ClassVar[Schema] = {
        **Autoencoder.saved_params,
        "mask_fraction": number(0.0, 1.0, high_open=True),
    }

    def __init__(
        self,
        latent_dim: int = 16,
        hidden_dims: tuple[int, ...] = (256, 128),
        validation_fraction: float = 0.1,
        device: str = "auto",
        settings: TrainingSettings | None = None,
        encode_batch_size: int = 4096,
        mask_fraction: float = 0.25,
    ) -> None:
        super().__init__(
            latent_dim=latent_dim,
            hidden_dims=hidden_dims,
            validation_fraction=validation_fraction,
            device=device,
            settings=settings,
            encode_batch_size=encode_batch_size,
        )
        self.mask_fraction = mask_fraction

    @property
    def params(self) -> dict[str, Any]:
        return {**super().params, "mask_fraction": self.mask_fraction}

    def fit(  # type: ignore[override]
        self,
        X: np.ndarray,
        augmentation: Augmentation | None = None,
        progress: ProgressCallback | None = None,
    ) -> DenoisingAutoencoder:
        """Train on ``X`` ``(n_samples, n_features)``, corrupting it with ``augmentation``."""
        self._check_mask_fraction()
        corruption = augmentation or masking_noise(self.mask_fraction)
        generator = torch.Generator().manual_seed(self.settings.seed + CORRUPTION_SEED_OFFSET)
        # The plain autoencoder's loop and held-out rows, so that the two compare.
        self._fit(X, progress, corrupt=lambda batch: augment_tensor(corruption, batch, generator))
        return self

    def _validate(self, X: np.ndarray) -> None:
        super()._validate(X)
        self._check_mask_fraction()

    def _check_mask_fraction(self) -> None:
        if not 0.0 <= self.mask_fraction < 1.0:
            raise ValueError(f"mask_fraction must lie in [0, 1), got {self.mask_fraction}")


def _kind() -> Any:
    from repr_assets.encoders.registry import (
        TRAINING_DEFAULTS,
        TRAINING_DESCRIPTIONS,
        EncoderKind,
        fit_with_augmentation,
        latent_width,
        training_settings,
    )

    return EncoderKind(
        name="denoising_autoencoder",
        summary="MLP autoencoder trained to reconstruct clean features from copies changed "
        "by the modality's augmentations.",
        defaults={**TRAINING_DEFAULTS, "hidden_dims": [256, 128], "mask_fraction": 0.25},
        descriptions={
            **TRAINING_DESCRIPTIONS,
            "mask_fraction": "Share of features zeroed when the modality has no augmentation.",
        },
        build=lambda config, n_features: DenoisingAutoencoder(
            latent_dim=latent_width(config, n_features),
            hidden_dims=tuple(config["hidden_dims"]),
            validation_fraction=float(config["validation_fraction"]),
            device=str(config["device"]),
            settings=training_settings(config, TrainingSettings()),
            mask_fraction=float(config["mask_fraction"]),
        ),
        fit=fit_with_augmentation,
        load=DenoisingAutoencoder.load,
    )


KIND = _kind()
