"""The MLP autoencoder: shapes, training, reproducibility, early stopping, persistence."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from repr_assets.encoders import torch_encoder
from repr_assets.encoders.autoencoder import Autoencoder
from repr_assets.encoders.config import TrainingConfig
from repr_assets.encoders.devices import resolve_device
from repr_assets.encoders.training import fit_with_early_stopping

N_FEATURES = 16
LATENT = 3


def _structured(n: int = 200, seed: int = 0) -> np.ndarray:
    """Rows on a noisy 3-D subspace of 16 features, roughly in [0, 1]."""
    rng = np.random.default_rng(seed)
    codes = rng.normal(size=(n, LATENT))
    loadings = rng.normal(size=(LATENT, N_FEATURES)) / 3
    X = 0.5 + codes @ loadings * 0.3 + 0.01 * rng.normal(size=(n, N_FEATURES))
    return X.astype(np.float32)


def _autoencoder(**settings: float) -> Autoencoder:
    defaults = {"epochs": 15, "batch_size": 32, "learning_rate": 1e-2, "patience": 100, "seed": 0}
    return Autoencoder(
        latent_dim=LATENT,
        hidden_dims=(12,),
        validation_fraction=0.2,
        device="cpu",
        **{**defaults, **settings},
    )


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return _structured()


@pytest.fixture(scope="module")
def fitted(X: np.ndarray) -> Autoencoder:
    return _autoencoder().fit(X)


def _weights(model: Autoencoder) -> dict[str, torch.Tensor]:
    return {name: value.clone() for name, value in model.network_.state_dict().items()}


def test_output_shapes_and_dtypes(fitted: Autoencoder, X: np.ndarray) -> None:
    Z = fitted.transform(X)
    assert Z.shape == (len(X), LATENT)
    assert Z.dtype == np.float32
    X_hat = fitted.inverse_transform(Z)
    assert X_hat.shape == X.shape
    assert X_hat.dtype == np.float32
    assert np.isfinite(Z).all() and np.isfinite(X_hat).all()
    assert fitted.n_features_ == N_FEATURES
    # No rows in, no rows out, at the right width.
    assert fitted.transform(np.zeros((0, N_FEATURES), np.float32)).shape == (0, LATENT)
    assert fitted.inverse_transform(np.zeros((0, LATENT), np.float32)).shape == (0, N_FEATURES)


def test_transform_in_small_batches_matches_one_batch(
    fitted: Autoencoder, X: np.ndarray, monkeypatch
) -> None:
    whole = fitted.transform(X)
    monkeypatch.setattr(torch_encoder, "ENCODE_BATCH_ROWS", 7)
    np.testing.assert_allclose(fitted.transform(X), whole, rtol=1e-6, atol=1e-6)


def test_transform_accepts_read_only_input(fitted: Autoencoder, X: np.ndarray) -> None:
    frozen = X.copy()
    frozen.flags.writeable = False
    np.testing.assert_array_equal(fitted.transform(frozen), fitted.transform(X))


def test_training_loss_falls(fitted: Autoencoder, X: np.ndarray) -> None:
    history = fitted.history_
    assert len(history.train_loss) == len(history.validation_loss) == 15
    assert history.train_loss[-1] < history.train_loss[0]
    assert min(history.validation_loss) < history.validation_loss[0]
    # The kept weights are those of the best validation epoch.
    assert history.validation_loss[history.best_epoch - 1] == min(history.validation_loss)
    assert not history.stopped_early
    # And the model reconstructs better than predicting the mean.
    X_hat = fitted.inverse_transform(fitted.transform(X))
    assert np.mean((X - X_hat) ** 2) < 0.5 * np.mean((X - X.mean(axis=0)) ** 2)


def test_fit_keeps_the_weights_of_the_best_validation_epoch(X: np.ndarray) -> None:
    # A large learning rate makes the validation loss bounce, so the best epoch is not
    # the last one and the final weights must be rolled back to it.
    model = _autoencoder(epochs=20, learning_rate=0.3).fit(X)
    history = model.history_
    assert history.best_epoch < len(history.validation_loss)
    best = history.validation_loss[history.best_epoch - 1]
    assert best == min(history.validation_loss) < history.validation_loss[-1]
    # The validation rows are the first round(n * fraction) of a permutation seeded by
    # the training seed.
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(0)).numpy()
    validation = X[order[: round(len(X) * 0.2)]]
    reconstructed = model.inverse_transform(model.transform(validation))
    # The losses are those of the rows the network reads: divided by the input scale.
    scale = float(model.network_.input_scale)
    assert scale == pytest.approx(float(np.sqrt(np.mean(X.astype(np.float64) ** 2))))
    assert np.mean(((validation - reconstructed) / scale) ** 2) == pytest.approx(best, rel=1e-5)


def test_progress_callback_sees_every_epoch(X: np.ndarray) -> None:
    calls: list[tuple[int, int, float, float]] = []
    model = _autoencoder(epochs=3).fit(X, progress=lambda *args: calls.append(args))
    assert [c[:2] for c in calls] == [(1, 3), (2, 3), (3, 3)]
    assert [c[2] for c in calls] == model.history_.train_loss
    assert [c[3] for c in calls] == model.history_.validation_loss


def test_same_seed_is_reproducible_and_other_seed_differs(X: np.ndarray) -> None:
    torch.manual_seed(123)  # the global state must not matter
    first = _autoencoder(epochs=4, seed=7).fit(X)
    torch.manual_seed(456)
    second = _autoencoder(epochs=4, seed=7).fit(X)
    other = _autoencoder(epochs=4, seed=8).fit(X)

    w1, w2, w3 = _weights(first), _weights(second), _weights(other)
    assert w1.keys() == w2.keys()
    for name in w1:
        assert torch.equal(w1[name], w2[name]), name
    np.testing.assert_array_equal(first.transform(X), second.transform(X))
    assert first.history_.train_loss == second.history_.train_loss
    assert any(not torch.equal(w1[name], w3[name]) for name in w1)
    assert not np.array_equal(first.transform(X), other.transform(X))


def test_fit_leaves_global_random_state_alone(X: np.ndarray) -> None:
    torch.manual_seed(99)
    expected = torch.rand(3)
    torch.manual_seed(99)
    _autoencoder(epochs=1).fit(X)
    assert torch.equal(torch.rand(3), expected)


def test_early_stopping_when_validation_never_improves(X: np.ndarray) -> None:
    # With a zero learning rate the weights never move, so the validation loss of the
    # first epoch is never beaten and training stops after `patience` stale epochs.
    model = _autoencoder(epochs=50, learning_rate=0.0, patience=3).fit(X)
    history = model.history_
    assert history.stopped_early is True
    assert len(history.train_loss) == 1 + 3
    assert history.best_epoch == 1
    assert len(set(history.validation_loss)) == 1


def test_no_early_stop_when_epochs_run_out(X: np.ndarray) -> None:
    model = _autoencoder(epochs=2, learning_rate=0.0, patience=5).fit(X)
    assert model.history_.stopped_early is False
    assert len(model.history_.train_loss) == 2


def test_save_load_round_trip_is_bit_identical(
    fitted: Autoencoder, X: np.ndarray, tmp_path
) -> None:
    fitted.save(tmp_path / "ae")
    assert sorted(p.name for p in (tmp_path / "ae").iterdir()) == ["params.json", "state.pt"]

    params = json.loads((tmp_path / "ae" / "params.json").read_text())
    assert params["latent_dim"] == LATENT
    assert params["hidden_dims"] == [12]
    assert params["n_features"] == N_FEATURES
    assert params["seed"] == 0

    # The state file loads under torch's safe loader: tensors and plain data only.
    state = torch.load(tmp_path / "ae" / "state.pt", weights_only=True)
    assert set(state) == {"state_dict", "history"}

    loaded = Autoencoder.load(tmp_path / "ae", device="cpu")
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))
    Z = fitted.transform(X)
    np.testing.assert_array_equal(loaded.inverse_transform(Z), fitted.inverse_transform(Z))
    assert loaded.params == fitted.params
    assert loaded.history_ == fitted.history_
    assert loaded.n_features_ == N_FEATURES


def test_params_json_holds_no_pickle(fitted: Autoencoder, tmp_path) -> None:
    fitted.save(tmp_path / "ae")
    raw = (tmp_path / "ae" / "params.json").read_bytes()
    assert not raw.startswith(b"\x80")  # a pickle's protocol marker
    params = json.loads(raw)  # plain JSON
    assert all(isinstance(v, int | float | str | bool | list) for v in params.values())
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(raw)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_is_refused(X: np.ndarray, bad: float) -> None:
    X = X.copy()
    X[3, 4] = bad
    model = _autoencoder(epochs=1)
    with pytest.raises(ValueError, match="NaN or Inf"):
        model.fit(X)
    assert not hasattr(model, "module_")


@pytest.mark.parametrize(
    ("shape", "kwargs", "message"),
    [
        ((10,), {}, "2-D"),
        ((3, N_FEATURES), {}, "at least 4 rows"),
    ],
)
def test_bad_input_is_refused(shape, kwargs, message) -> None:
    model = Autoencoder(latent_dim=2, hidden_dims=(4,), device="cpu", epochs=1)
    with pytest.raises(ValueError, match=message):
        model.fit(np.zeros(shape, np.float32))


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("latent_dim", 0),
        ("hidden_dims", (0,)),
        ("validation_fraction", 0.0),
        ("validation_fraction", 1.0),
        ("epochs", 0),
        ("learning_rate", -1.0),
        ("device", "tpu"),
        ("no_such_option", 1),
    ],
)
def test_bad_parameters_are_refused_when_the_encoder_is_built(option, value) -> None:
    with pytest.raises(ValueError, match=option):
        Autoencoder(**{"latent_dim": 2, option: value})


def test_use_before_fit_raises_runtime_error(tmp_path) -> None:
    model = _autoencoder()
    with pytest.raises(RuntimeError, match="not fitted"):
        model.transform(np.zeros((2, N_FEATURES), np.float32))
    with pytest.raises(RuntimeError, match="not fitted"):
        model.save(tmp_path / "ae")


def test_resolve_device_auto_is_cpu_without_cuda(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device() == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


def test_resolve_device_cuda_without_cuda_raises(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_device("cuda")


def test_resolve_device_auto_is_cuda_when_present(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")


@pytest.mark.parametrize("name", ["gpu", "mps", "CPU", ""])
def test_resolve_device_unknown_name(name: str) -> None:
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device(name)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fit_on_cuda_gives_finite_codes_and_cpu_module(X: np.ndarray, tmp_path) -> None:
    model = Autoencoder(
        latent_dim=LATENT,
        hidden_dims=(12,),
        device="cuda",
        epochs=3,
        batch_size=32,
        seed=0,
    ).fit(X)
    assert resolve_device("cuda").type == "cuda"
    assert next(model.network_.parameters()).device.type == "cpu"
    Z = model.transform(X)
    assert Z.shape == (len(X), LATENT) and np.isfinite(Z).all()
    model.save(tmp_path / "ae")
    cpu = Autoencoder.load(tmp_path / "ae", device="cpu")
    np.testing.assert_allclose(cpu.transform(X), Z, rtol=1e-3, atol=1e-3)


def _stopping_epochs(scale: float) -> tuple[int, int]:
    """(best epoch, epochs run) on a validation loss that keeps falling by 5% of its
    excess over a floor, ``scale * (1 + 0.95**epoch)``."""
    epoch = [0]

    def train() -> float:
        epoch[0] += 1
        return scale * (1.0 + 0.95 ** epoch[0])

    settings = TrainingConfig(epochs=1000, patience=5)
    history = fit_with_early_stopping(
        torch.nn.Linear(1, 1), train, lambda: scale * (1.0 + 0.95 ** epoch[0]), settings, 1
    )
    return history.best_epoch, len(history.validation_loss)


def test_early_stopping_does_not_depend_on_the_scale_of_the_loss() -> None:
    # A text autoencoder's losses are near 2e-4: with an absolute min_delta of 1e-5 the
    # 1e-4 curve stopped at epoch 6 (no fall beat 1e-5), and PCA beat the autoencoder.
    best, run = _stopping_epochs(1.0)
    assert best > 100 and run == best + 5
    assert _stopping_epochs(1e-4) == _stopping_epochs(1e4) == (best, run)
