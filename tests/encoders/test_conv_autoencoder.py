"""The convolutional autoencoder: the image shape it reads back from the features, its
shapes on odd sides and colour, seeds, saved models, and its early-stopped loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from repr_assets.encoders.conv_autoencoder import ConvAutoencoder, ConvNet, image_shape
from repr_assets.encoders.registry import encoder_kind

QUICK = {"epochs": 8, "batch_size": 64, "patience": 100, "device": "cpu", "latent_dim": 8}


def test_the_image_shape_comes_back_from_the_number_of_features() -> None:
    assert image_shape(64) == (1, 8)
    assert image_shape(3 * 28 * 28) == (3, 28)
    assert image_shape(49) == (1, 7)
    with pytest.raises(ValueError, match="50 features are neither"):
        image_shape(50)


@pytest.mark.parametrize("features", [7 * 7, 28 * 28, 3 * 8 * 8, 3 * 5 * 5])
def test_the_network_gives_back_rows_of_its_input_width(features: int) -> None:
    network = ConvNet(features, (8, 16), latent_dim=4)
    x = torch.rand(5, features)
    assert network.encoder(x).shape == (5, 4)
    assert network(x).shape == (5, features)


def _digits() -> np.ndarray:
    return (load_digits().data[:600] / 16).astype(np.float32)


def test_it_learns_to_reconstruct_digits_and_repeats_from_its_seed(tmp_path) -> None:
    X = _digits()
    model = ConvAutoencoder(**QUICK).fit(X)
    losses = model.history_.validation_loss
    assert losses[-1] < 0.5 * losses[0]
    again = ConvAutoencoder(**QUICK).fit(X)
    np.testing.assert_array_equal(model.transform(X), again.transform(X))
    model.save(tmp_path)
    loaded = ConvAutoencoder.load(tmp_path)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    np.testing.assert_array_equal(
        loaded.inverse_transform(model.transform(X[:5])),
        model.inverse_transform(model.transform(X[:5])),
    )


def test_features_that_are_no_square_image_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="conv_autoencoder reads square images"):
        ConvAutoencoder(**QUICK).fit(np.zeros((20, 50), np.float32))
    assert encoder_kind("conv_autoencoder").modalities == ("image",)
