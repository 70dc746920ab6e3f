"""The denoising autoencoder, and the generic corruptions it and the contrastive encoder use."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from repr_assets.encoders.autoencoder import Autoencoder
from repr_assets.encoders.corruption import (
    augment_in_chunks,
    augment_tensor,
    masking_noise,
    noise_and_masking,
)
from repr_assets.encoders.denoising import DenoisingAutoencoder
from repr_assets.items.augment import image_augmentations
from repr_assets.metrics.invariance import invariance_cosine

N_FEATURES = 16
LATENT = 3
SETTINGS = {"epochs": 15, "batch_size": 32, "learning_rate": 1e-2, "patience": 100, "seed": 0}


def _structured(n: int = 200, seed: int = 0) -> np.ndarray:
    """Rows on a noisy 3-D subspace of 16 features, roughly in [0, 1]."""
    rng = np.random.default_rng(seed)
    codes = rng.normal(size=(n, LATENT))
    loadings = rng.normal(size=(LATENT, N_FEATURES)) / 3
    X = 0.5 + codes @ loadings * 0.3 + 0.01 * rng.normal(size=(n, N_FEATURES))
    return X.astype(np.float32)


def _models(
    mask_fraction: float = 0.25, **settings: float
) -> tuple[DenoisingAutoencoder, Autoencoder]:
    """A denoising autoencoder and a plain one with the same parameters."""
    common = {
        "latent_dim": LATENT,
        "hidden_dims": (12,),
        "validation_fraction": 0.2,
        "device": "cpu",
        **SETTINGS,
        **settings,
    }
    return DenoisingAutoencoder(mask_fraction=mask_fraction, **common), Autoencoder(**common)


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return _structured()


@pytest.fixture(scope="module")
def fitted(X: np.ndarray) -> DenoisingAutoencoder:
    return _models()[0].fit(X)


def test_it_trains_and_reconstructs(fitted: DenoisingAutoencoder, X: np.ndarray) -> None:
    assert fitted.kind == "denoising_autoencoder"
    assert fitted.reconstructs is True
    history = fitted.history_
    assert history.train_loss[-1] < history.train_loss[0]
    Z = fitted.transform(X)
    assert Z.shape == (len(X), LATENT) and Z.dtype == np.float32
    X_hat = fitted.inverse_transform(Z)
    assert np.mean((X - X_hat) ** 2) < 0.5 * np.mean((X - X.mean(axis=0)) ** 2)


def test_without_corruption_it_is_the_plain_autoencoder(X: np.ndarray) -> None:
    # A mask fraction of zero changes nothing, so training follows the plain autoencoder's
    # exactly: the same split, initial weights and batches.
    denoising, plain = _models(mask_fraction=0.0, epochs=3)
    np.testing.assert_array_equal(denoising.fit(X).transform(X), plain.fit(X).transform(X))
    assert denoising.history_ == plain.history_


def test_it_restores_corrupted_rows_better_than_the_plain_autoencoder() -> None:
    data = _structured(n=500)
    X_train, X_test = data[:300], data[300:]
    denoising, plain = _models(mask_fraction=0.25, epochs=40)
    denoising.fit(X_train)
    plain.fit(X_train)
    corrupted = masking_noise(0.25)(X_test, torch.Generator().manual_seed(5))

    def restoration_error(model: Autoencoder) -> float:
        return float(np.mean((model.inverse_transform(model.transform(corrupted)) - X_test) ** 2))

    assert restoration_error(denoising) < 0.7 * restoration_error(plain)


def test_a_given_augmentation_corrupts_each_batch(X: np.ndarray) -> None:
    sizes: list[int] = []

    def shrink(rows: np.ndarray, generator: torch.Generator) -> np.ndarray:
        sizes.append(len(rows))
        return rows * 0.5

    model = _models(epochs=2)[0].fit(X, augmentation=shrink)
    n_train = len(X) - round(len(X) * 0.2)
    assert sum(sizes) == 2 * n_train
    assert max(sizes) == 32
    assert model.history_.train_loss[-1] < model.history_.train_loss[0]


def test_seeded_fits_are_reproducible(X: np.ndarray) -> None:
    torch.manual_seed(1)
    first = _models(epochs=3, seed=4)[0].fit(X)
    torch.manual_seed(2)
    second = _models(epochs=3, seed=4)[0].fit(X)
    np.testing.assert_array_equal(first.transform(X), second.transform(X))
    other = _models(epochs=3, seed=5)[0].fit(X)
    assert not np.array_equal(first.transform(X), other.transform(X))


def test_save_load_round_trip(fitted: DenoisingAutoencoder, X: np.ndarray, tmp_path) -> None:
    fitted.save(tmp_path / "dae")
    params = json.loads((tmp_path / "dae" / "params.json").read_text())
    assert params["mask_fraction"] == 0.25
    loaded = DenoisingAutoencoder.load(tmp_path / "dae", device="cpu")
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))
    Z = fitted.transform(X)
    np.testing.assert_array_equal(loaded.inverse_transform(Z), fitted.inverse_transform(Z))
    assert loaded.params == fitted.params
    assert loaded.history_ == fitted.history_


def test_bad_mask_fraction_is_refused() -> None:
    with pytest.raises(ValueError, match="mask_fraction"):
        _models(mask_fraction=1.0)


def test_denoising_codes_are_at_least_as_invariant_on_digits() -> None:
    X = (load_digits().data / 16).astype(np.float32)
    augment = image_augmentations(8)["all"]
    settings = {"epochs": 15, "batch_size": 128, "learning_rate": 3e-3, "seed": 0}
    common = {"latent_dim": 16, "hidden_dims": (128,), "device": "cpu", **settings}
    denoising = DenoisingAutoencoder(**common).fit(X, augmentation=augment)
    plain = Autoencoder(**common).fit(X)
    X_augmented = augment(X, torch.Generator().manual_seed(0))

    def invariance(model: Autoencoder) -> float:
        return invariance_cosine(model.transform(X), model.transform(X_augmented))

    assert invariance(denoising) > invariance(plain)


# The corruptions.


def test_masking_noise_zeroes_about_the_fraction_asked() -> None:
    X = np.ones((400, 50), np.float32)
    masked = masking_noise(0.3)(X, torch.Generator().manual_seed(0))
    assert masked.dtype == np.float32 and masked.shape == X.shape
    assert set(np.unique(masked)) <= {0.0, 1.0}
    assert np.mean(masked == 0) == pytest.approx(0.3, abs=0.01)
    np.testing.assert_array_equal(masking_noise(0.0)(X, torch.Generator()), X)
    with pytest.raises(ValueError, match="mask fraction"):
        masking_noise(1.0)


def test_noise_and_masking_scales_noise_to_each_feature() -> None:
    X = np.zeros((20_000, 2), np.float32)
    change = noise_and_masking(np.array([1.0, 10.0]), noise_level=0.1, mask_fraction=0.0)
    changed = change(X, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(changed.std(axis=0), [0.1, 1.0], rtol=0.03)


def test_augment_in_chunks_and_on_tensors() -> None:
    X = np.arange(30, dtype=np.float32).reshape(10, 3)
    sizes: list[int] = []

    def double(rows: np.ndarray, generator: torch.Generator) -> np.ndarray:
        sizes.append(len(rows))
        return rows * 2

    np.testing.assert_array_equal(augment_in_chunks(double, X, torch.Generator(), 4), X * 2)
    assert sizes == [4, 4, 2]
    tensor = augment_tensor(double, torch.from_numpy(X), torch.Generator())
    assert tensor.dtype == torch.float32
    np.testing.assert_array_equal(tensor.numpy(), X * 2)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fit_on_cuda_with_an_image_augmentation(tmp_path) -> None:
    X = (load_digits().data / 16).astype(np.float32)
    model = DenoisingAutoencoder(
        latent_dim=8,
        hidden_dims=(32,),
        device="cuda",
        epochs=3,
        batch_size=128,
        seed=0,
    ).fit(X, augmentation=image_augmentations(8)["all"])
    assert next(model.network_.parameters()).device.type == "cpu"
    Z = model.transform(X)
    assert np.isfinite(Z).all()
    model.save(tmp_path / "dae")
    cpu = DenoisingAutoencoder.load(tmp_path / "dae", device="cpu")
    np.testing.assert_allclose(cpu.transform(X), Z, rtol=1e-3, atol=1e-3)
