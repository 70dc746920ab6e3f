"""The denoising autoencoder: reconstruct the clean item from a corrupted copy of it.

Learning to undo the modality's harmless changes (a shift, a rotation, dropped words,
noise) pushes an item and its changed copies towards the same code, which the plain
autoencoder has no reason to do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from repr_assets.encoders.autoencoder import Autoencoder, AutoencoderConfig
from repr_assets.encoders.config import setting
from repr_assets.encoders.corruption import augment_tensor, masking_noise
from repr_assets.encoders.kind import EncoderKind, TrainingProgress
from repr_assets.encoders.training import TrainingHistory
from repr_assets.items.augment import Augmentation
from repr_assets.schema import number

# The corruption draws from a generator of its own, apart from the shuffling generator
# seeded by the same seed, so that the two random streams do not move in step.
CORRUPTION_SEED_OFFSET = 7919


@dataclass(frozen=True)
class DenoisingConfig(AutoencoderConfig):
    mask_fraction: float = setting(
        0.25,
        number(0.0, 1.0, high_open=True),
        "Share of features zeroed when the modality has no augmentation.",
    )


class DenoisingAutoencoder(Autoencoder):
    """The MLP ``Autoencoder`` trained to map corrupted inputs back to clean ones.

    ``fit(X, augmentation=...)`` corrupts each training batch with ``augmentation`` (the
    modality's, as the invariance metrics use), or with masking noise of
    ``mask_fraction`` without one; validation, ``transform`` and ``inverse_transform``
    work on clean rows, as the plain autoencoder's do.
    """

    kind = "denoising_autoencoder"
    config_type = DenoisingConfig
    config: DenoisingConfig

    def train(
        self,
        network: nn.Module,
        X: np.ndarray,
        augmentation: Augmentation | None,
        progress: TrainingProgress | None,
        device: torch.device,
    ) -> TrainingHistory:
        corruption = augmentation or masking_noise(self.config.mask_fraction)
        generator = torch.Generator().manual_seed(self.config.seed + CORRUPTION_SEED_OFFSET)
        # The plain autoencoder's loop and held-out rows, so that the two compare.
        return self.reconstruct(
            network,
            X,
            progress,
            device,
            corrupt=lambda batch: augment_tensor(corruption, batch, generator),
        )


KIND = EncoderKind(
    name="denoising_autoencoder",
    summary="MLP autoencoder trained to reconstruct clean features from copies changed "
    "by the modality's augmentations.",
    config=DenoisingConfig,
    estimator=DenoisingAutoencoder,
)
