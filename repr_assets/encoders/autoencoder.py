"""An MLP autoencoder with scikit-learn's interface: fit, transform, inverse_transform."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from repr_assets.encoders.config import HIDDEN_DIMS_CHECK, TrainingConfig, setting
from repr_assets.encoders.devices import fits_on_device
from repr_assets.encoders.kind import EncoderKind
from repr_assets.encoders.mlp import Codec, MLPAutoencoder
from repr_assets.encoders.torch_encoder import C, TorchEncoder, holdout
from repr_assets.encoders.training import (
    Corruption,
    Objective,
    TrainingHistory,
    TrainingProgress,
    mean_squared_error,
    train_reconstruction,
)
from repr_assets.items.augment import Augmentation
from repr_assets.metrics.batches import float64_batches


@dataclass(frozen=True)
class AutoencoderConfig(TrainingConfig):
    hidden_dims: tuple[int, ...] = setting(
        (256, 128), HIDDEN_DIMS_CHECK, "Encoder hidden widths; the decoder mirrors them."
    )


class Reconstructing(TorchEncoder[C]):
    """A network (a ``Codec``) trained to reconstruct its features: what the MLP, the
    convolutional and the variational autoencoders share. A subclass builds the network."""

    def train(
        self,
        network: nn.Module,
        X: np.ndarray,
        augmentation: Augmentation | None,
        progress: TrainingProgress | None,
        device: torch.device,
    ) -> TrainingHistory:
        return self.reconstruct(network, X, progress, device, corrupt=None)

    def reconstruct(
        self,
        network: nn.Module,
        X: np.ndarray,
        progress: TrainingProgress | None,
        device: torch.device,
        corrupt: Corruption | None,
        objective: Objective = mean_squared_error,
    ) -> TrainingHistory:
        """Train ``network`` to reconstruct ``X``; with ``corrupt``, from changed copies;
        with ``objective``, under another loss than the squared error."""
        order, held = holdout(len(X), self.config)
        assert isinstance(network, Codec)
        scale = root_mean_square(X)
        network.input_scale.fill_(scale)
        data = torch.from_numpy(X / np.float32(scale))
        if corrupt is not None:  # the corruptions change rows as the features hold them
            original = corrupt

            def corrupt(batch: torch.Tensor) -> torch.Tensor:
                return original(batch * scale) / scale

        # On the device when it fits, so that a step never waits for a copy from the host.
        home = device if fits_on_device(X.nbytes, device) else torch.device("cpu")
        network.to(device)
        return train_reconstruction(
            network,
            data.to(home),
            order[held:].to(home),
            data[order[:held]].to(home),
            self.config,
            progress,
            corrupt,
            objective,
        )

    def encode(self, network: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        assert isinstance(network, Codec)
        return network.encoder(batch / network.input_scale)

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Decode ``(n, latent_dim)`` codes to ``(n, n_features)`` float32 rows, in batches."""
        network = self.fitted()
        assert isinstance(network, Codec)
        return self.apply(lambda z: network.decoder(z) * network.input_scale, Z, self.n_features_)


def root_mean_square(X: np.ndarray) -> float:
    """The root mean square of every value of ``X``, in float64 by rows (1 for all zeros)."""
    total = sum(float(np.square(rows).sum()) for _, (rows,) in float64_batches(X))
    value = (total / max(X.size, 1)) ** 0.5
    return value if value > 0 else 1.0


class Autoencoder(Reconstructing[AutoencoderConfig]):
    """A PyTorch MLP autoencoder trained to reconstruct its features.

    ``config``: the code size, hidden widths and training settings (``AutoencoderConfig``).
    ``network_`` (after ``fit``) is the trained ``MLPAutoencoder``.
    """

    kind = "autoencoder"
    config_type = AutoencoderConfig

    def build_network(self, n_features: int) -> nn.Module:
        return MLPAutoencoder(n_features, self.config.hidden_dims, self.config.latent_dim)


KIND = EncoderKind(
    name="autoencoder",
    summary="MLP autoencoder trained to reconstruct its features (GPU when present), "
    "early-stopped.",
    config=AutoencoderConfig,
    estimator=Autoencoder,
)
