"""The denoising autoencoder: reconstruct the clean item from a corrupted copy of it.

Learning to undo the modality's harmless changes (a shift, a rotation, dropped words,
noise) pushes an item and its changed copies towards the same code, which the plain
autoencoder has no reason to do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from repr_assets.augment import Augmentation
from repr_assets.encoders.autoencoder import Autoencoder
from repr_assets.encoders.corruption import augment_tensor, masking_noise
from repr_assets.encoders.devices import resolve_device
from repr_assets.encoders.mlp import MLPAutoencoder
from repr_assets.encoders.training import (
    ProgressCallback,
    TrainingHistory,
    TrainingSettings,
    train_reconstruction,
)

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
        X = np.require(X, np.float32, ["C_CONTIGUOUS", "WRITEABLE"])
        self._validate(X)
        corruption = augmentation or masking_noise(self.mask_fraction)
        device = resolve_device(self.device)
        # The same held-out rows as the plain autoencoder's, so that the two compare.
        n_validation = max(1, round(len(X) * self.validation_fraction))
        order = torch.randperm(len(X), generator=torch.Generator().manual_seed(self.settings.seed))
        data = torch.from_numpy(X)
        validation = data[order[:n_validation]].to(device)
        train = data[order[n_validation:]].to(device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.settings.seed)
            module = MLPAutoencoder(X.shape[1], self.hidden_dims, self.latent_dim)
        module.to(device)
        generator = torch.Generator().manual_seed(self.settings.seed + CORRUPTION_SEED_OFFSET)
        self.history_: TrainingHistory = train_reconstruction(
            module,
            train,
            validation,
            self.settings,
            progress,
            corrupt=lambda batch: augment_tensor(corruption, batch, generator),
        )
        self.module_ = module.cpu().eval()
        self.n_features_ = X.shape[1]
        return self

    @classmethod
    def load(cls, directory: Path, device: str = "auto") -> DenoisingAutoencoder:
        """Rebuild the model from its parameters, then load its weights (``weights_only``)."""
        params = json.loads((directory / "params.json").read_text())
        n_features = params.pop("n_features")
        encoder = cls(
            latent_dim=params.pop("latent_dim"),
            hidden_dims=tuple(params.pop("hidden_dims")),
            validation_fraction=params.pop("validation_fraction"),
            mask_fraction=params.pop("mask_fraction"),
            device=device,
            settings=TrainingSettings(**params),
        )
        state = torch.load(directory / "state.pt", map_location="cpu", weights_only=True)
        module = MLPAutoencoder(n_features, encoder.hidden_dims, encoder.latent_dim)
        module.load_state_dict(state["state_dict"])
        encoder.module_ = module.eval()
        encoder.n_features_ = n_features
        encoder.history_ = TrainingHistory(**state["history"])
        return encoder

    def _validate(self, X: np.ndarray) -> None:
        super()._validate(X)
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
