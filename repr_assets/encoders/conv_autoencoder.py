"""A convolutional autoencoder for image data sets: the MLP autoencoder's training loop and
early stopping, with a small CNN encoder and decoder that see the pixels as an image.

Features of an image data set are ``channels x size x size`` pixels in [0, 1], the planes
one after another (``featurisers.image``); the network reads that shape back from the
number of features (a square: grey; three times a square: RGB). Each strided convolution
halves the side; the decoder mirrors them with transposed convolutions and crops the
reconstruction to the input's side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from repr_assets.encoders.autoencoder import Reconstructing
from repr_assets.encoders.config import TrainingConfig, setting
from repr_assets.encoders.kind import EncoderKind
from repr_assets.encoders.mlp import Codec
from repr_assets.schema import MAX_WIDTH, integer, list_of


@dataclass(frozen=True)
class ConvAutoencoderConfig(TrainingConfig):
    channels: tuple[int, ...] = setting(
        (32, 64),
        list_of(integer(1, MAX_WIDTH), 1, 4),
        "Channels of each strided convolution (each halves the side); the decoder mirrors them.",
    )


def image_shape(n_features: int) -> tuple[int, int]:
    """``(channels, side)`` of square images flattened to ``n_features`` values."""
    for channels in (1, 3):
        side = math.isqrt(n_features // channels)
        if n_features % channels == 0 and side * side * channels == n_features:
            return channels, side
    raise ValueError(
        f"the conv_autoencoder reads square images, grey or RGB: {n_features} features are "
        "neither side² nor 3 x side²"
    )


class ConvNet(Codec):
    """``encoder``: ``(n, c·s·s)`` rows -> strided 3x3 convolutions -> a linear code;
    ``decoder``: the code -> transposed convolutions -> ``(n, c·s·s)`` rows (linear output,
    like the MLP's)."""

    def __init__(self, n_features: int, widths: Sequence[int], latent_dim: int) -> None:
        super().__init__()
        channels, side = image_shape(n_features)
        sides = [side]
        for _ in widths:
            sides.append((sides[-1] + 1) // 2)  # stride 2, padding 1, kernel 3
        inner = widths[-1] * sides[-1] ** 2
        down: list[nn.Module] = [nn.Unflatten(1, (channels, side, side))]
        for width_in, width_out in zip([channels, *widths[:-1]], widths, strict=True):
            down += [nn.Conv2d(width_in, width_out, 3, stride=2, padding=1), nn.GELU()]
        self.encoder = nn.Sequential(*down, nn.Flatten(), nn.Linear(inner, latent_dim))
        up: list[nn.Module] = [
            nn.Linear(latent_dim, inner),
            nn.GELU(),
            nn.Unflatten(1, (widths[-1], sides[-1], sides[-1])),
        ]
        outs = [*reversed(widths[:-1]), channels]
        for i, (width_in, width_out) in enumerate(zip(reversed(widths), outs, strict=True)):
            # Kernel 4, stride 2, padding 1 doubles the side exactly.
            up.append(nn.ConvTranspose2d(width_in, width_out, 4, stride=2, padding=1))
            if i < len(widths) - 1:
                up.append(nn.GELU())
        self.decoder = nn.Sequential(*up, _Crop(side), nn.Flatten())


class _Crop(nn.Module):
    """The top-left ``side`` x ``side`` of each image (the decoder's sides are powers of
    two times the code's, which can pass the input's)."""

    def __init__(self, side: int) -> None:
        super().__init__()
        self.side = side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., : self.side, : self.side]


class ConvAutoencoder(Reconstructing[ConvAutoencoderConfig]):
    """A ``ConvNet`` with the ``Autoencoder`` 's loop, held-out rows and early stopping."""

    kind = "conv_autoencoder"
    config_type = ConvAutoencoderConfig

    def build_network(self, n_features: int) -> nn.Module:
        return ConvNet(n_features, self.config.channels, self.config.latent_dim)

    def check_input(self, X: np.ndarray) -> None:
        super().check_input(X)
        image_shape(X.shape[1])


KIND = EncoderKind(
    name="conv_autoencoder",
    summary="Convolutional autoencoder for images: strided convolutions down to the code, "
    "transposed ones back up; the autoencoder's loop and early stopping.",
    config=ConvAutoencoderConfig,
    estimator=ConvAutoencoder,
    modalities=("image",),
)
