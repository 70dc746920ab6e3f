"""The β-VAE: its objective by hand, what β does to the code, seeds and saved models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repr_assets.encoders.autoencoder import Autoencoder
from repr_assets.encoders.beta_vae import BetaVAE, VariationalAutoencoder, negative_elbo
from repr_assets.encoders.registry import encoder_kind

SETTINGS = {
    "hidden_dims": (32,),
    "epochs": 60,
    "batch_size": 64,
    "learning_rate": 3e-3,
    "patience": 100,
    "device": "cpu",
}


def _two_factor_rows(n: int = 1200, seed: int = 0) -> np.ndarray:
    """16 features made non-linearly from two independent factors, nothing else."""
    rng = np.random.default_rng(seed)
    factors = rng.uniform(-1, 1, size=(n, 2))
    mixing = rng.normal(size=(4, 16))
    basis = np.concatenate([factors, np.sin(2 * factors)], axis=1)
    return (np.tanh(basis @ mixing) * 0.5 + 0.5).astype(np.float32)


def test_the_objective_is_the_negative_elbo_by_hand() -> None:
    torch.manual_seed(0)
    model = VariationalAutoencoder(5, [4], 2).eval()
    x = torch.rand(3, 5)
    mean, log_variance = model.posterior(x)
    # A Gaussian decoder whose variance is the batch's mean squared error, sigma2:
    # -log p(x|z) = 5/2 log(2 pi sigma2) + sum (x - x_hat)^2 / (2 sigma2) = 5/2 log sigma2
    # + constants, per item.
    sigma2 = ((model.decoder(mean) - x) ** 2).mean()
    kl = 0.5 * (mean**2 + log_variance.exp() - 1 - log_variance).sum(dim=1)
    expected = (2.5 * torch.log(sigma2) + 4.0 * kl.mean()) / 5
    objective = negative_elbo(4.0, torch.Generator())
    assert objective(model, x, x).item() == pytest.approx(expected.item(), rel=1e-6)


def test_beta_leaves_dimensions_the_data_do_not_need_at_the_prior() -> None:
    """Two factors, six code dimensions: the β-VAE's KL term switches off the dimensions it
    does not need (their means barely vary), where a plain autoencoder uses all six."""
    X = _two_factor_rows()
    vae = BetaVAE(latent_dim=6, beta=4.0, **SETTINGS).fit(X)
    plain = Autoencoder(latent_dim=6, **SETTINGS).fit(X)

    def active(codes: np.ndarray) -> int:
        return int((codes.var(axis=0) > 0.05).sum())

    assert active(vae.transform(X)) <= 3
    assert active(plain.transform(X)) == 6
    # The active dimensions still reconstruct: better than predicting the mean row.
    error = np.mean((vae.inverse_transform(vae.transform(X)) - X) ** 2)
    assert error < 0.5 * np.mean((X - X.mean(axis=0)) ** 2)


def test_one_seed_gives_one_model_and_another_seed_another() -> None:
    X = _two_factor_rows(n=300)
    settings = {**SETTINGS, "epochs": 5}
    first = BetaVAE(latent_dim=3, seed=1, **settings).fit(X).transform(X)
    again = BetaVAE(latent_dim=3, seed=1, **settings).fit(X).transform(X)
    other = BetaVAE(latent_dim=3, seed=2, **settings).fit(X).transform(X)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_a_saved_and_loaded_beta_vae_gives_the_same_codes(tmp_path) -> None:
    X = _two_factor_rows(n=300)
    vae = BetaVAE(latent_dim=3, beta=2.0, **{**SETTINGS, "epochs": 5}).fit(X)
    vae.save(tmp_path)
    loaded = BetaVAE.load(tmp_path)
    assert loaded.config.beta == 2.0
    np.testing.assert_array_equal(loaded.transform(X), vae.transform(X))
    np.testing.assert_array_equal(
        loaded.inverse_transform(vae.transform(X)), vae.inverse_transform(vae.transform(X))
    )


def test_the_registry_offers_beta_vae_for_every_modality() -> None:
    kind = encoder_kind("beta_vae")
    assert set(kind.modalities) == {"image", "text", "tabular"}
    with pytest.raises(ValueError, match="beta"):
        BetaVAE(beta=-1.0)
