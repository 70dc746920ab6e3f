"""A SimCLR-style contrastive encoder: codes that stay put under harmless changes.

An MLP encoder is trained, through a projection head used only in training, to give two
augmented views of an item nearby codes and different items distant ones (the NT-Xent
loss). Its embeddings are the encoder's codes, L2-normalised; it has no decoder.
"""

from __future__ import annotations

from dataclasses import asdict
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from repr_assets.augment import Augmentation
from repr_assets.encoders.checkpoint import read_checkpoint, save_checkpoint
from repr_assets.encoders.contrastive_training import nt_xent_loss, train_contrastive
from repr_assets.encoders.corruption import masking_noise, noise_and_masking
from repr_assets.encoders.devices import resolve_device
from repr_assets.encoders.training import ProgressCallback, TrainingHistory, TrainingSettings
from repr_assets.stores.model_files import MAX_LAYERS, MAX_WIDTH, Schema, integer, list_of, number

# Tuned on digits (latent 16, one CPU thread, about 25 s): contrastive losses keep improving
# long after a reconstruction loss has settled, and the best epoch is mostly among the last.
DEFAULT_SETTINGS = TrainingSettings(
    epochs=200, batch_size=128, learning_rate=2e-3, patience=25, min_delta=1e-4
)

# Features that hardly vary (the border pixels of digits) would be blown up by dividing by
# their own spread: every spread is padded by this share of the mean spread.
SPREAD_PADDING = 0.5


class ContrastiveNetwork(nn.Module):
    """Standardised input, ``encoder: n_features -> *hidden_dims -> latent_dim``, projection head.

    The input is centred and scaled per feature (buffers set by ``standardise_like``), and
    each hidden layer is layer-normalised: both measured to help the contrastive loss on
    digits (k-NN accuracy up by about one point each), which the reconstruction loss of
    the autoencoder does not need. The head (``latent_dim -> projection_dim ->
    projection_dim``) gives the loss a space of its own to be invariant in, so the codes keep
    more of what the loss would discard (SimCLR's finding); ``forward`` returns the
    projections, used in training only.
    """

    mean: torch.Tensor
    scale: torch.Tensor

    def __init__(
        self,
        n_features: int,
        hidden_dims: tuple[int, ...],
        latent_dim: int,
        projection_dim: int,
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))
        self.encoder = _normalised_stack([n_features, *hidden_dims, latent_dim])
        self.projection = _normalised_stack([latent_dim, projection_dim, projection_dim])

    def standardise_like(self, X: np.ndarray) -> None:
        """Centre and scale inputs as ``X`` ``(n, n_features)`` would be."""
        spread = X.std(axis=0)
        scale = spread + SPREAD_PADDING * spread.mean()
        self.mean.copy_(torch.from_numpy(X.mean(axis=0)))
        # Constant data has no spread at all: leave it unscaled rather than divide by zero.
        self.scale.copy_(torch.from_numpy(np.where(scale > 0, scale, 1.0).astype(np.float32)))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The codes, before normalisation to unit length."""
        return self.encoder((x - self.mean) / self.scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(self.embed(x))


def _normalised_stack(sizes: list[int]) -> nn.Sequential:
    """Linear layers, each hidden one followed by LayerNorm and GELU; the last one plain."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers += [nn.LayerNorm(n_out), nn.GELU()]
    return nn.Sequential(*layers)


class ContrastiveEncoder:
    """An MLP encoder trained with the NT-Xent loss on two augmented views per item.

    Parameters
    ----------
    latent_dim: size of the embedding.
    hidden_dims: widths of the encoder's hidden layers.
    projection_dim: width of the projection head, used in training only.
    temperature: NT-Xent temperature; lower sharpens the contrast with the hardest negatives.
    validation_fraction: share of the rows held out; their loss on fixed views stops training.
    device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
    settings: optimiser, batch size, epochs, patience and seed (``DEFAULT_SETTINGS``).
    view_mask: share of features set to zero in every view, on top of the augmentation.
        SimCLR's lesson is that contrastive learning needs strong augmentations, and the
        invariance metrics' are mild: on digits this masking is worth 3-5 points of k-NN
        accuracy.
    view_noise: Gaussian noise, as a share of each feature's std, that makes the views
        when ``fit`` gets no augmentation.

    Attributes (after ``fit``)
    --------------------------
    network_: the trained ``ContrastiveNetwork``, on the CPU between calls.
    n_features_: input width.
    history_: per-epoch training and validation losses.
    """

    kind = "contrastive"
    # No decoder: the report leaves the reconstruction metrics out.
    reconstructs = False
    saved_params: ClassVar[Schema] = {
        "latent_dim": integer(1, MAX_WIDTH),
        "hidden_dims": list_of(integer(1, MAX_WIDTH), 0, MAX_LAYERS),
        "projection_dim": integer(1, MAX_WIDTH),
        "temperature": number(0.0, low_open=True),
        "validation_fraction": number(0.0, 1.0, low_open=True, high_open=True),
        "view_mask": number(0.0, 1.0, high_open=True),
        "view_noise": number(0.0),
    }
    """The model fields of ``params.json`` and their bounds (``checkpoint`` adds the
    training settings and ``n_features``)."""

    def __init__(
        self,
        latent_dim: int = 16,
        hidden_dims: tuple[int, ...] = (256,),
        projection_dim: int = 64,
        temperature: float = 0.2,
        validation_fraction: float = 0.1,
        device: str = "auto",
        settings: TrainingSettings | None = None,
        view_mask: float = 0.2,
        view_noise: float = 0.1,
        encode_batch_size: int = 4096,
    ) -> None:
        self.latent_dim = latent_dim
        self.hidden_dims = tuple(hidden_dims)
        self.projection_dim = projection_dim
        self.temperature = temperature
        self.validation_fraction = validation_fraction
        self.device = device
        self.settings = settings or DEFAULT_SETTINGS
        self.view_mask = view_mask
        self.view_noise = view_noise
        self.encode_batch_size = encode_batch_size

    @property
    def params(self) -> dict[str, Any]:
        """What determines the fitted model: not the encode batch size, nor the device but
        for the larger optimiser steps on CUDA (``gpu_batch_size``)."""
        return {
            "latent_dim": self.latent_dim,
            "hidden_dims": list(self.hidden_dims),
            "projection_dim": self.projection_dim,
            "temperature": self.temperature,
            "validation_fraction": self.validation_fraction,
            "view_mask": self.view_mask,
            "view_noise": self.view_noise,
            **asdict(self.settings),
        }

    def fit(
        self,
        X: np.ndarray,
        augmentation: Augmentation | None = None,
        progress: ProgressCallback | None = None,
    ) -> ContrastiveEncoder:
        """Train on ``X`` ``(n_samples, n_features)`` with views drawn by ``augmentation``.

        Pass the modality's augmentation (the one the invariance metrics use); without
        one, views get feature noise scaled to ``X``. Either way ``view_mask`` then masks
        features.
        """
        X = np.require(X, np.float32, ["C_CONTIGUOUS", "WRITEABLE"])
        self._validate(X)
        views = self._views(augmentation, X)
        device = resolve_device(self.device)
        n_validation = min(len(X) - 2, max(2, round(len(X) * self.validation_fraction)))
        order = torch.randperm(len(X), generator=torch.Generator().manual_seed(self.settings.seed))
        validation, train = X[order[:n_validation].numpy()], X[order[n_validation:].numpy()]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.settings.seed)
            network = self._network(X.shape[1])
        network.standardise_like(train)
        network.to(device)
        self.history_: TrainingHistory = train_contrastive(
            network,
            train,
            validation,
            views,
            self.temperature,
            self.settings,
            device,
            progress,
        )
        self.network_ = network.cpu().eval()
        self.n_features_ = X.shape[1]
        return self

    @torch.no_grad()
    def transform(self, X: np.ndarray) -> np.ndarray:
        """Embed ``(n, n_features)`` rows as unit-norm ``(n, latent_dim)`` float32, in batches."""
        network = self._fitted()
        device = resolve_device(self.device)
        network.to(device)
        # Arrow-backed arrays are read-only; torch wants a writable buffer.
        tensor = torch.from_numpy(np.require(X, np.float32, ["C_CONTIGUOUS", "WRITEABLE"]))
        outputs = [torch.zeros(0, self.latent_dim)]
        for start in range(0, len(tensor), self.encode_batch_size):
            codes = network.embed(tensor[start : start + self.encode_batch_size].to(device))
            outputs.append(nn.functional.normalize(codes.float(), dim=1).cpu())
        network.cpu()
        return torch.cat(outputs).numpy()

    def save(self, directory: Path) -> None:
        """Write ``params.json`` and ``state.pt`` (a ``state_dict`` and the loss history)."""
        network = self._fitted()  # first: it says when the model is not fitted yet
        save_checkpoint(directory, self.params, self.n_features_, network, self.history_)

    @classmethod
    def load(cls, directory: Path, device: str = "auto") -> ContrastiveEncoder:
        """Rebuild the network from its checked parameters, then load its weights
        (``weights_only``, shapes checked first); ``ModelFileError`` when they do not fit."""
        saved = read_checkpoint(
            directory,
            cls.saved_params,
            lambda params, n_features: ContrastiveNetwork(
                n_features,
                tuple(params["hidden_dims"]),
                params["latent_dim"],
                params["projection_dim"],
            ),
        )
        params = {**saved.params, "hidden_dims": tuple(saved.params["hidden_dims"])}
        encoder = cls(**params, device=device, settings=saved.settings)
        encoder.network_ = saved.module.eval()  # type: ignore[assignment]
        encoder.n_features_ = saved.n_features
        encoder.history_ = saved.history
        return encoder

    def _views(self, augmentation: Augmentation | None, X: np.ndarray) -> Augmentation:
        """The augmentation (generic noise when none), followed by ``view_mask`` masking."""
        change = augmentation or noise_and_masking(X.std(axis=0), self.view_noise, 0.0)
        mask = masking_noise(self.view_mask)

        def view(rows: np.ndarray, generator: torch.Generator) -> np.ndarray:
            return mask(change(rows, generator), generator)

        return view

    def _network(self, n_features: int) -> ContrastiveNetwork:
        return ContrastiveNetwork(
            n_features, self.hidden_dims, self.latent_dim, self.projection_dim
        )

    def _fitted(self) -> ContrastiveNetwork:
        if not hasattr(self, "network_"):
            raise RuntimeError("this contrastive encoder is not fitted yet: call fit() first")
        return self.network_

    def _validate(self, X: np.ndarray) -> None:
        if X.ndim != 2:
            raise ValueError(f"the contrastive encoder expects a 2-D matrix, got shape {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError("contrastive encoder input holds NaN or Inf values")
        if len(X) < 4:
            raise ValueError(f"the contrastive encoder needs at least 4 rows, got {len(X)}")
        if min(self.latent_dim, self.projection_dim, *self.hidden_dims) < 1:
            raise ValueError("latent_dim, projection_dim and hidden_dims must be positive")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError("validation_fraction must lie strictly between 0 and 1")
        if not 0.0 <= self.view_mask < 1.0:
            raise ValueError(f"view_mask must lie in [0, 1), got {self.view_mask}")
        if self.view_noise < 0:
            raise ValueError(f"view_noise must not be negative, got {self.view_noise}")
        if self.settings.batch_size < 2:
            raise ValueError("the contrastive loss needs a batch size of at least 2")


__all__ = ["DEFAULT_SETTINGS", "ContrastiveEncoder", "ContrastiveNetwork", "nt_xent_loss"]


def _kind() -> Any:
    from repr_assets.encoders.registry import (
        TRAINING_DEFAULTS,
        TRAINING_DESCRIPTIONS,
        EncoderKind,
        fit_with_augmentation,
        latent_width,
        training_settings,
    )

    defaults = {
        **TRAINING_DEFAULTS,
        **{k: getattr(DEFAULT_SETTINGS, k) for k in ("epochs", "batch_size", "learning_rate")},
        "patience": DEFAULT_SETTINGS.patience,
        "hidden_dims": [256],
        "projection_dim": 64,
        "temperature": 0.2,
        "view_mask": 0.2,
    }
    return EncoderKind(
        name="contrastive",
        summary="SimCLR-style MLP encoder: two augmented views per item, NT-Xent loss, a "
        "projection head used in training only; unit-norm embeddings.",
        defaults=defaults,
        descriptions={
            **TRAINING_DESCRIPTIONS,
            "projection_dim": "Width of the projection head (training only).",
            "temperature": "NT-Xent temperature.",
            "view_mask": "Share of features masked in each view, on top of the augmentation.",
        },
        build=lambda config, n_features: ContrastiveEncoder(
            latent_dim=latent_width(config, n_features),
            hidden_dims=tuple(config["hidden_dims"]),
            projection_dim=int(config["projection_dim"]),
            temperature=float(config["temperature"]),
            validation_fraction=float(config["validation_fraction"]),
            device=str(config["device"]),
            settings=training_settings(config, DEFAULT_SETTINGS),
            view_mask=float(config["view_mask"]),
        ),
        fit=fit_with_augmentation,
        load=ContrastiveEncoder.load,
    )


KIND = _kind()
