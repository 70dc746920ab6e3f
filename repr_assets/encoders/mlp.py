"""The MLP autoencoder module: a mirrored stack of linear layers around a latent code."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn


def layer_stack(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers through ``sizes``, a GELU between each two (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.GELU())
    return nn.Sequential(*layers)


class Codec(nn.Module):
    """An autoencoder network: ``encoder`` maps rows to codes, ``decoder`` codes to rows,
    ``forward`` is one after the other, all on rows divided by ``input_scale``.

    ``input_scale`` (a saved buffer) is the root mean square of the training rows, set by
    the training loop: rows of unit length over 4,096 TF-IDF terms have values near
    0.016, which default initialisations carry through the layers as almost nothing, so
    the network sat decoding the mean row until early stopping ended it.
    """

    encoder: nn.Module
    decoder: nn.Module
    input_scale: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("input_scale", torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class MLPAutoencoder(Codec):
    """``encoder: n_features -> *hidden_dims -> latent_dim``; the decoder mirrors it.

    The code and the reconstruction are linear (no final activation), so the same model
    serves features in [0, 1] and standardised features alike.
    """

    def __init__(self, n_features: int, hidden_dims: Sequence[int], latent_dim: int) -> None:
        super().__init__()  # Codec's: input_scale
        sizes = [n_features, *hidden_dims, latent_dim]
        self.encoder = layer_stack(sizes)
        self.decoder = layer_stack(sizes[::-1])
