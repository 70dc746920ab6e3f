"""An MLP autoencoder with scikit-learn's interface: fit, transform, inverse_transform."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from repr_assets.encoders.checkpoint import read_checkpoint, save_checkpoint
from repr_assets.encoders.devices import fits_on_device, resolve_device
from repr_assets.encoders.mlp import MLPAutoencoder
from repr_assets.encoders.training import (
    Corruption,
    ProgressCallback,
    TrainingHistory,
    TrainingSettings,
    train_reconstruction,
)
from repr_assets.stores.model_files import MAX_LAYERS, MAX_WIDTH, Schema, integer, list_of, number


class Autoencoder:
    """A PyTorch MLP autoencoder trained to reconstruct its features.

    Parameters
    ----------
    latent_dim: size of the code.
    hidden_dims: widths of the encoder's hidden layers; the decoder mirrors them.
    validation_fraction: share of the rows held out for early stopping.
    device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
    settings: optimiser, batch size, epochs, patience and seed.

    Attributes (after ``fit``)
    --------------------------
    module_: the trained ``MLPAutoencoder``, on the CPU between calls.
    n_features_: input width.
    history_: per-epoch training and validation losses.
    """

    kind = "autoencoder"
    saved_params: ClassVar[Schema] = {
        "latent_dim": integer(1, MAX_WIDTH),
        "hidden_dims": list_of(integer(1, MAX_WIDTH), 0, MAX_LAYERS),
        "validation_fraction": number(0.0, 1.0, low_open=True, high_open=True),
    }
    """The model fields of ``params.json`` and their bounds (``checkpoint`` adds the
    training settings and ``n_features``)."""

    def __init__(
        self,
        latent_dim: int = 16,
        hidden_dims: tuple[int, ...] = (256, 128),
        validation_fraction: float = 0.1,
        device: str = "auto",
        settings: TrainingSettings | None = None,
        encode_batch_size: int = 4096,
    ) -> None:
        self.latent_dim = latent_dim
        self.hidden_dims = tuple(hidden_dims)
        self.validation_fraction = validation_fraction
        self.device = device
        self.settings = settings or TrainingSettings()
        self.encode_batch_size = encode_batch_size

    @property
    def params(self) -> dict[str, Any]:
        """What determines the fitted model: not the encode batch size, nor the device but
        for the larger optimiser steps on CUDA (``gpu_batch_size``)."""
        return {
            "latent_dim": self.latent_dim,
            "hidden_dims": list(self.hidden_dims),
            "validation_fraction": self.validation_fraction,
            **asdict(self.settings),
        }

    def fit(self, X: np.ndarray, progress: ProgressCallback | None = None) -> Autoencoder:
        """Train on ``X`` of shape ``(n_samples, n_features)``."""
        return self._fit(X, progress)

    def _fit(
        self, X: np.ndarray, progress: ProgressCallback | None, corrupt: Corruption | None = None
    ) -> Autoencoder:
        """Train to reconstruct ``X``; with ``corrupt``, from corrupted copies of it."""
        X = np.require(X, np.float32, ["C_CONTIGUOUS", "WRITEABLE"])
        self._validate(X)
        device = resolve_device(self.device)
        n_validation = max(1, round(len(X) * self.validation_fraction))
        order = torch.randperm(len(X), generator=torch.Generator().manual_seed(self.settings.seed))
        data = torch.from_numpy(X)
        # On the device when it fits, so that a step never waits for a copy from the host.
        home = device if fits_on_device(X.nbytes, device) else torch.device("cpu")
        validation = data[order[:n_validation]].to(home)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.settings.seed)
            module = MLPAutoencoder(X.shape[1], self.hidden_dims, self.latent_dim)
        module.to(device)
        self.history_: TrainingHistory = train_reconstruction(
            module,
            data.to(home),
            order[n_validation:].to(home),
            validation,
            self.settings,
            progress,
            corrupt,
        )
        self.module_ = module.cpu().eval()
        self.n_features_ = X.shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Encode ``(n, n_features)`` rows to ``(n, latent_dim)`` float32 codes, in batches."""
        return self._apply(self._module().encoder, X)

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        """Decode ``(n, latent_dim)`` codes to ``(n, n_features)`` float32 rows, in batches."""
        return self._apply(self._module().decoder, Z)

    @torch.no_grad()
    def _apply(self, network: torch.nn.Module, data: np.ndarray) -> np.ndarray:
        device = resolve_device(self.device)
        network.to(device)
        outputs = []
        # Arrow-backed arrays are read-only; torch wants a writable buffer.
        tensor = torch.from_numpy(np.require(data, np.float32, ["C_CONTIGUOUS", "WRITEABLE"]))
        for start in range(0, len(tensor), self.encode_batch_size):
            batch = tensor[start : start + self.encode_batch_size].to(device)
            outputs.append(network(batch).float().cpu())
        network.cpu()
        if not outputs:
            width = network[-1].out_features  # type: ignore[index]
            return np.zeros((0, width), dtype=np.float32)
        return torch.cat(outputs).numpy()

    def save(self, directory: Path) -> None:
        """Write ``params.json`` and ``state.pt`` (a ``state_dict`` and the loss history)."""
        module = self._module()  # first: it says when the model is not fitted yet
        save_checkpoint(directory, self.params, self.n_features_, module, self.history_)

    @classmethod
    def load(cls, directory: Path, device: str = "auto") -> Autoencoder:
        """Rebuild the model from its checked parameters, then load its weights
        (``weights_only``, shapes checked first); ``ModelFileError`` when they do not fit."""
        saved = read_checkpoint(
            directory,
            cls.saved_params,
            lambda params, n_features: MLPAutoencoder(
                n_features, params["hidden_dims"], params["latent_dim"]
            ),
        )
        params = {**saved.params, "hidden_dims": tuple(saved.params["hidden_dims"])}
        encoder = cls(**params, device=device, settings=saved.settings)
        encoder.module_ = saved.module.eval()  # type: ignore[assignment]
        encoder.n_features_ = saved.n_features
        encoder.history_ = saved.history
        return encoder

    def _module(self) -> MLPAutoencoder:
        if not hasattr(self, "module_"):
            raise RuntimeError("this autoencoder is not fitted yet: call fit() first")
        return self.module_

    def _validate(self, X: np.ndarray) -> None:
        if X.ndim != 2:
            raise ValueError(f"the autoencoder expects a 2-D matrix, got shape {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError("autoencoder input holds NaN or Inf values")
        if len(X) < 4:
            raise ValueError(f"the autoencoder needs at least 4 rows, got {len(X)}")
        if self.latent_dim < 1 or any(h < 1 for h in self.hidden_dims):
            raise ValueError("latent_dim and hidden_dims must be positive")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError("validation_fraction must lie strictly between 0 and 1")


def _kind() -> Any:
    from repr_assets.encoders.registry import (
        TRAINING_DEFAULTS,
        TRAINING_DESCRIPTIONS,
        EncoderKind,
        fit_with_progress,
        latent_width,
        training_settings,
    )

    return EncoderKind(
        name="autoencoder",
        summary="MLP autoencoder trained to reconstruct its features (GPU when present), "
        "early-stopped.",
        defaults={**TRAINING_DEFAULTS, "hidden_dims": [256, 128]},
        descriptions=TRAINING_DESCRIPTIONS,
        build=lambda config, n_features: Autoencoder(
            latent_dim=latent_width(config, n_features),
            hidden_dims=tuple(config["hidden_dims"]),
            validation_fraction=float(config["validation_fraction"]),
            device=str(config["device"]),
            settings=training_settings(config, TrainingSettings()),
        ),
        fit=fit_with_progress,
        load=Autoencoder.load,
    )


KIND = _kind()
