"""The β-VAE (Higgins et al. 2017): a variational autoencoder whose KL term is weighted by
β > 1, which presses each code dimension towards an independent factor of the data.

The encoder gives each item a Gaussian posterior (a mean and a log-variance per code
dimension); training samples a code from it, decodes it, and minimises the squared
reconstruction error plus β times the KL divergence from the unit Gaussian prior. The
code of an item, as ``transform`` returns it, is the posterior mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from repr_assets.encoders.autoencoder import Autoencoder, AutoencoderConfig
from repr_assets.encoders.config import setting
from repr_assets.encoders.kind import EncoderKind, TrainingProgress
from repr_assets.encoders.mlp import Codec, layer_stack
from repr_assets.encoders.training import Objective, TrainingHistory
from repr_assets.items.augment import Augmentation
from repr_assets.schema import number

# Sampling draws from a generator of its own, apart from the shuffling generator seeded
# by the same seed, so that the two random streams do not move in step.
SAMPLING_SEED_OFFSET = 104_729
LOG_VARIANCE_BOUND = 10.0  # exp(±10): wide enough for any posterior, finite in float32
MIN_DECODER_VARIANCE = 1e-8  # a perfect reconstruction must not make the loss -inf


@dataclass(frozen=True)
class BetaVAEConfig(AutoencoderConfig):
    beta: float = setting(
        4.0, number(0.0), "Weight of the KL term; 1 is a plain VAE, more disentangles."
    )


class VariationalAutoencoder(Codec):
    """``encoder: n_features -> *hidden_dims -> 2 * latent_dim`` (means, log-variances);
    ``decoder: latent_dim -> reversed hidden_dims -> n_features``. ``forward`` decodes
    the posterior mean, as the report's reconstruction metrics read it."""

    def __init__(self, n_features: int, hidden_dims: Sequence[int], latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = layer_stack([n_features, *hidden_dims, 2 * latent_dim])
        self.decoder = layer_stack([latent_dim, *reversed(hidden_dims), n_features])

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_variance = self.encoder(x).chunk(2, dim=1)
        return mean, log_variance.clamp(-LOG_VARIANCE_BOUND, LOG_VARIANCE_BOUND)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.posterior(x)[0])


def negative_elbo(beta: float, generator: torch.Generator) -> Objective:
    """The β-VAE objective over a batch, per feature: the negative log-likelihood of a
    Gaussian decoder plus β · KL(posterior ‖ N(0, I)), averaged over items.

    The decoder's variance is the one that fits the batch best, its mean squared error
    (the calibrated decoder of Rybkin et al. 2021): the likelihood term is then
    ``features / 2 · log(mse)`` per item, up to a constant. A fixed variance sets the
    balance of reconstruction against β · KL by the features' scale and number: 0.5 made
    a model of 16 features in [0, 1] decode the mean row, while 1,024 pixels used every
    dimension. In training the code is sampled from the posterior with ``generator``; in
    eval mode it is the mean, so that the validation loss does not jump from noise.
    """

    def objective(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        assert isinstance(model, VariationalAutoencoder)
        mean, log_variance = model.posterior(inputs)
        code = mean
        if model.training:
            noise = torch.randn(
                mean.shape, generator=generator, device=mean.device, dtype=mean.dtype
            )
            code = mean + torch.exp(0.5 * log_variance) * noise
        features = targets.shape[1]
        mse = (model.decoder(code).float() - targets).pow(2).mean()
        likelihood = 0.5 * features * torch.log(mse.clamp_min(MIN_DECODER_VARIANCE))
        kl = -0.5 * (1 + log_variance - mean.pow(2) - log_variance.exp()).float().sum(dim=1)
        return (likelihood + beta * kl.mean()) / features

    return objective


class BetaVAE(Autoencoder):
    """A β-VAE with the ``Autoencoder`` 's loop: the same held-out rows, Adam, batches
    and early stopping, on the negative ELBO instead of the squared error alone."""

    kind = "beta_vae"
    config_type = BetaVAEConfig
    config: BetaVAEConfig

    def build_network(self, n_features: int) -> nn.Module:
        return VariationalAutoencoder(n_features, self.config.hidden_dims, self.config.latent_dim)

    def train(
        self,
        network: nn.Module,
        X: np.ndarray,
        augmentation: Augmentation | None,
        progress: TrainingProgress | None,
        device: torch.device,
    ) -> TrainingHistory:
        generator = torch.Generator(device=device)
        generator.manual_seed(self.config.seed + SAMPLING_SEED_OFFSET)
        objective = negative_elbo(self.config.beta, generator)
        return self.reconstruct(network, X, progress, device, corrupt=None, objective=objective)

    def encode(self, network: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        assert isinstance(network, VariationalAutoencoder)
        return network.posterior(batch / network.input_scale)[0]


KIND = EncoderKind(
    name="beta_vae",
    summary="β-VAE (Higgins et al. 2017): a variational MLP autoencoder whose KL weight "
    "β presses code dimensions towards independent factors; the code is the posterior mean.",
    config=BetaVAEConfig,
    estimator=BetaVAE,
)
