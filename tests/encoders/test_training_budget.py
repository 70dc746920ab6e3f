"""The training budget: a model stops after seeing ``max_samples`` samples, whatever the
size of its data set, or after ``epochs``, whichever comes first."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from repr_assets.encoders.autoencoder import Autoencoder, AutoencoderConfig
from repr_assets.encoders.config import DEFAULT_MAX_SAMPLES, TrainingConfig


@given(
    epochs=st.integers(1, 1000),
    max_samples=st.integers(1, 10**9),
    train_rows=st.integers(1, 10**7),
)
def test_the_budget_is_the_most_whole_epochs_that_fit_both_limits(
    epochs: int, max_samples: int, train_rows: int
) -> None:
    budget = TrainingConfig(epochs=epochs, max_samples=max_samples).epoch_budget(train_rows)
    # By a plain search for the largest count within both limits, one epoch at least.
    within = [e for e in range(1, epochs + 1) if e * train_rows <= max_samples]
    assert budget == (max(within) if within else 1)


def test_the_defaults_keep_digits_200_epochs_and_give_larger_sets_fewer() -> None:
    settings = TrainingConfig()
    assert settings.max_samples == DEFAULT_MAX_SAMPLES == 8_000_000
    assert settings.epoch_budget(1_294) == 200  # digits: 80% train, 90% of that fitted
    assert settings.epoch_budget(50_400) == 158  # 70,000 images
    assert settings.epoch_budget(720_000) == 11  # a million rows


def test_a_fit_counts_its_training_rows_not_its_validation_rows() -> None:
    # 400 rows, 40 held out for validation: 360 train. A budget of 3 epochs of 360 and
    # a half is 3 epochs; counted over all 400 rows it would be 2.
    X = np.random.default_rng(0).normal(size=(400, 6)).astype(np.float32)
    settings = AutoencoderConfig(
        latent_dim=2, hidden_dims=(8,), epochs=50, patience=100, max_samples=3 * 360 + 180
    )
    calls: list[tuple] = []
    model = Autoencoder(settings).fit(X, progress=lambda *args: calls.append(args))
    assert [call[:2] for call in calls] == [(1, 3), (2, 3), (3, 3)]
    assert len(model.history_.train_loss) == 3
    seconds = [call[4] for call in calls]
    assert seconds == sorted(seconds) and seconds[0] > 0


def test_digits_1438_fitted_items_are_1294_training_rows() -> None:
    # What the README's budget arithmetic rests on: 10% of the fitted rows are held out.
    X = np.random.default_rng(1).normal(size=(1438, 4)).astype(np.float32)
    model = Autoencoder(AutoencoderConfig(latent_dim=2, hidden_dims=(4,), epochs=1)).fit(X)
    assert model.history_.train_rows == 1294
