"""A SimCLR-style contrastive encoder: codes that stay put under harmless changes.

An MLP encoder is trained, through a projection head used only in training, to give two
augmented views of an item nearby codes and different items distant ones (the NT-Xent
loss). Its embeddings are the encoder's codes, L2-normalised; it has no decoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch
from torch import nn

from repr_assets.encoders.config import (
    HIDDEN_DIMS_CHECK,
    TrainingConfig,
    retuned,
    setting,
)
from repr_assets.encoders.contrastive_training import nt_xent_loss, train_contrastive
from repr_assets.encoders.corruption import masking_noise, noise_and_masking
from repr_assets.encoders.kind import EncoderKind, TrainingProgress
from repr_assets.encoders.torch_encoder import TorchEncoder, holdout
from repr_assets.encoders.training import TrainingHistory
from repr_assets.items.augment import Augmentation
from repr_assets.schema import MAX_BATCH_SIZE, MAX_WIDTH, integer, number

# Features that hardly vary (the border pixels of digits) would be blown up by dividing by
# their own spread: every spread is padded by this share of the mean spread.
SPREAD_PADDING = 0.5


class ContrastiveNetwork(nn.Module):
    """Standardised input, ``encoder: n_features -> *hidden_dims -> latent_dim``, projection head.

    The input is centred and scaled per feature (buffers set by ``standardise_like``), and
    each hidden layer is layer-normalised: both measured to help the contrastive loss on
    digits (k-NN accuracy up by about one point each), which the reconstruction loss of
    the autoencoder does not need. The head (``latent_dim -> projection_dim ->
    projection_dim``) gives the loss a space of its own to be invariant in, so the codes keep
    more of what the loss would discard (SimCLR's finding); ``forward`` returns the
    projections, used in training only.
    """

    mean: torch.Tensor
    scale: torch.Tensor

    def __init__(
        self,
        n_features: int,
        hidden_dims: tuple[int, ...],
        latent_dim: int,
        projection_dim: int,
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))
        self.encoder = _normalised_stack([n_features, *hidden_dims, latent_dim])
        self.projection = _normalised_stack([latent_dim, projection_dim, projection_dim])

    def standardise_like(self, X: np.ndarray) -> None:
        """Centre and scale inputs as ``X`` ``(n, n_features)`` would be."""
        spread = X.std(axis=0)
        scale = spread + SPREAD_PADDING * spread.mean()
        self.mean.copy_(torch.from_numpy(X.mean(axis=0)))
        # Constant data has no spread at all: leave it unscaled rather than divide by zero.
        self.scale.copy_(torch.from_numpy(np.where(scale > 0, scale, 1.0).astype(np.float32)))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The codes, before normalisation to unit length."""
        return self.encoder((x - self.mean) / self.scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(self.embed(x))


def _normalised_stack(sizes: list[int]) -> nn.Sequential:
    """Linear layers, each hidden one followed by LayerNorm and GELU; the last one plain."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers += [nn.LayerNorm(n_out), nn.GELU()]
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class ContrastiveConfig(TrainingConfig):
    """Tuned on digits (latent 16, one CPU thread, about 25 s): contrastive losses keep
    improving long after a reconstruction loss has settled, and the best epoch is mostly
    among the last, hence a higher learning rate and more patience.
    ``view_mask``: SimCLR's lesson is that contrastive learning needs strong augmentations,
    and the invariance metrics' are mild: on digits this masking is worth 3-5 points of
    k-NN accuracy."""

    batch_size: int = setting(
        128, integer(2, MAX_BATCH_SIZE), "Mini-batch size (the loss needs two at least)."
    )
    learning_rate: float = retuned(TrainingConfig, "learning_rate", 2e-3)
    patience: int = retuned(TrainingConfig, "patience", 25)
    hidden_dims: tuple[int, ...] = setting((256,), HIDDEN_DIMS_CHECK, "Encoder hidden widths.")
    projection_dim: int = setting(
        64, integer(1, MAX_WIDTH), "Width of the projection head (training only)."
    )
    temperature: float = setting(0.2, number(0.0, low_open=True), "NT-Xent temperature.")
    view_mask: float = setting(
        0.2,
        number(0.0, 1.0, high_open=True),
        "Share of features masked in each view, on top of the augmentation.",
    )
    view_noise: float = setting(
        0.1,
        number(0.0),
        "Noise, as a share of each feature's std, that makes the views without an augmentation.",
    )


class ContrastiveEncoder(TorchEncoder[ContrastiveConfig]):
    """An MLP encoder trained with the NT-Xent loss on two augmented views per item.

    Pass the modality's augmentation to ``fit`` (the one the invariance metrics use);
    without one, views get feature noise scaled to ``X``. Either way ``view_mask`` then
    masks features. The embeddings are unit length; there is no decoder.
    """

    kind = "contrastive"
    config_type = ContrastiveConfig
    reconstructs = False  # the report leaves the reconstruction metrics out

    def build_network(self, n_features: int) -> nn.Module:
        c = self.config
        return ContrastiveNetwork(n_features, c.hidden_dims, c.latent_dim, c.projection_dim)

    def train(
        self,
        network: nn.Module,
        X: np.ndarray,
        augmentation: Augmentation | None,
        progress: TrainingProgress | None,
        device: torch.device,
    ) -> TrainingHistory:
        assert isinstance(network, ContrastiveNetwork)
        order, held = holdout(len(X), self.config, smallest=2)
        held = min(len(X) - 2, held)
        validation, train = X[order[:held].numpy()], X[order[held:].numpy()]
        network.standardise_like(train)
        network.to(device)
        views = self._views(augmentation, X)
        temperature = self.config.temperature
        return train_contrastive(
            network, train, validation, views, temperature, self.config, device, progress
        )

    def encode(self, network: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        assert isinstance(network, ContrastiveNetwork)
        return nn.functional.normalize(network.embed(batch).float(), dim=1)

    def _views(self, augmentation: Augmentation | None, X: np.ndarray) -> Augmentation:
        """The augmentation (generic noise when none), followed by ``view_mask`` masking."""
        change = augmentation or noise_and_masking(X.std(axis=0), self.config.view_noise, 0.0)
        mask = masking_noise(self.config.view_mask)

        def view(rows: np.ndarray, generator: torch.Generator) -> np.ndarray:
            return mask(change(rows, generator), generator)

        return view


KIND = EncoderKind(
    name="contrastive",
    summary="SimCLR-style MLP encoder: two augmented views per item, NT-Xent loss, a "
    "projection head used in training only; unit-norm embeddings.",
    config=ContrastiveConfig,
    estimator=ContrastiveEncoder,
)

__all__ = ["ContrastiveConfig", "ContrastiveEncoder", "ContrastiveNetwork", "nt_xent_loss"]
