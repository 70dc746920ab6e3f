"""Run configuration of the assets; each turns into the core's plain parameters."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from repr_assets.encoders import PCA, Autoencoder
from repr_assets.encoders.training import TrainingSettings

DEFAULT_LATENT_DIM = 16

REFIT = Field(
    False,
    description="Fit again even when a saved fit with the same parameters exists. Without "
    "it, new items are embedded by the current fit, unchanged.",
)


class FeaturesConfig(dg.Config):
    refit: bool = REFIT


class PCAConfig(dg.Config):
    latent_dim: int = Field(DEFAULT_LATENT_DIM, description="Number of principal components kept.")
    refit: bool = REFIT

    def build(self, n_features: int) -> PCA:
        return PCA(n_components=min(self.latent_dim, n_features))


class AutoencoderConfig(dg.Config):
    latent_dim: int = Field(DEFAULT_LATENT_DIM, description="Size of the code.")
    hidden_dims: list[int] = Field([256, 128], description="Encoder hidden widths, mirrored.")
    epochs: int = Field(200, description="Most epochs; early stopping may end sooner.")
    batch_size: int = Field(128, description="Mini-batch size.")
    learning_rate: float = Field(1e-3, description="Adam learning rate.")
    weight_decay: float = Field(0.0, description="Adam weight decay.")
    patience: int = Field(15, description="Epochs without validation gain before stopping.")
    validation_fraction: float = Field(0.1, description="Share of training rows for validation.")
    device: str = Field("auto", description="auto (CUDA when present), cpu or cuda.")
    seed: int = Field(0, description="Seed for initial weights and shuffling.")
    refit: bool = REFIT

    def build(self, n_features: int) -> Autoencoder:
        """The autoencoder; a code is never wider than the ``n_features`` it encodes."""
        return Autoencoder(
            latent_dim=min(self.latent_dim, n_features),
            hidden_dims=tuple(self.hidden_dims),
            validation_fraction=self.validation_fraction,
            device=self.device,
            settings=TrainingSettings(
                epochs=self.epochs,
                batch_size=self.batch_size,
                learning_rate=self.learning_rate,
                weight_decay=self.weight_decay,
                patience=self.patience,
                seed=self.seed,
            ),
        )
