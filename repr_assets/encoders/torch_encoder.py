"""What the trained encoders share: built from a config, fitted in a seeded loop, applied
in batches, saved as ``params.json`` plus a weights-only ``state.pt``.

A subclass names its config (``config_type``) and says how to build its network
(``build_network``), train it (``train``) and encode with it (``encode``); everything
else, from checking the input to loading a checkpoint defensively, lives here once.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

import numpy as np
import torch
from torch import nn

from repr_assets.encoders.checkpoint import read_checkpoint, save_checkpoint
from repr_assets.encoders.config import TrainingConfig
from repr_assets.encoders.devices import resolve_device
from repr_assets.encoders.kind import TrainingProgress
from repr_assets.encoders.training import TrainingHistory
from repr_assets.items.augment import Augmentation

C = TypeVar("C", bound=TrainingConfig)

ENCODE_BATCH_ROWS = 4096
"""Rows per forward pass when encoding: what changes no result, only memory and speed."""


class TorchEncoder(ABC, Generic[C]):
    """A network trained from a ``TrainingConfig``, with scikit-learn's interface.

    ``TorchEncoder(config)``, or ``TorchEncoder(epochs=5, latent_dim=4)``: the kind's
    defaults (its config class) with those fields changed, each checked.

    Attributes (after ``fit``): ``network_``, the trained network, on the CPU between
    calls; ``n_features_``, the input width; ``history_``, the per-epoch losses.
    """

    kind: ClassVar[str]
    config_type: ClassVar[type[TrainingConfig]]
    reconstructs: ClassVar[bool] = True
    """Whether it has a decoder (``inverse_transform``): the report's reconstruction
    metrics need one."""
    network_: nn.Module

    def __init__(self, config: C | None = None, **options: Any) -> None:
        base = config if config is not None else self.config_type()
        try:
            configured = self.config_type.from_options(options, base) if options else base
        except ValueError as error:
            raise ValueError(f"{self.kind}: {error}") from None
        self.config: C = configured  # type: ignore[assignment]  # config_type builds a C

    @classmethod
    def from_config(cls, config: C) -> Self:
        return cls(config)

    @property
    def params(self) -> dict[str, Any]:
        """What determines the fitted model (the config but its runtime fields)."""
        return self.config.params()

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def n_features_in_(self) -> int:
        """How many features the fitted network reads (scikit-learn's name)."""
        self.fitted()
        return self.n_features_

    # -- what a subclass says ---------------------------------------------------------

    @abstractmethod
    def build_network(self, n_features: int) -> nn.Module:
        """The untrained network for inputs ``n_features`` wide."""

    @abstractmethod
    def train(
        self,
        network: nn.Module,
        X: np.ndarray,
        augmentation: Augmentation | None,
        progress: TrainingProgress | None,
        device: torch.device,
    ) -> TrainingHistory:
        """Train ``network`` on ``X`` and leave it holding its best weights."""

    @abstractmethod
    def encode(self, network: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        """The codes of one batch of rows."""

    # -- shared -------------------------------------------------------------------------

    def fit(
        self,
        X: np.ndarray,
        *,
        augmentation: Augmentation | None = None,
        progress: TrainingProgress | None = None,
    ) -> Self:
        """Train on ``X`` of shape ``(n_samples, n_features)``."""
        X = np.require(X, np.float32, ["C_CONTIGUOUS", "WRITEABLE"])
        self.check_input(X)
        device = resolve_device(self.config.device)
        # The initial weights from the seed, without touching torch's global random state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.seed)
            network = self.build_network(X.shape[1])
        self.history_ = self.train(network, X, augmentation, progress, device)
        self.network_ = network.cpu().eval()
        self.n_features_ = X.shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Encode ``(n, n_features)`` rows to ``(n, latent_dim)`` float32 codes, in batches."""
        network = self.fitted()
        return self.apply(lambda batch: self.encode(network, batch), X, self.latent_dim)

    @torch.no_grad()
    def apply(self, function: Any, data: np.ndarray, width: int) -> np.ndarray:
        """``function`` over ``data`` in batches on the config's device: ``(n, width)``."""
        network = self.fitted()
        device = resolve_device(self.config.device)
        network.to(device)
        # Arrow-backed arrays are read-only; torch wants a writable buffer.
        tensor = torch.from_numpy(np.require(data, np.float32, ["C_CONTIGUOUS", "WRITEABLE"]))
        outputs = [torch.zeros(0, width)]
        for start in range(0, len(tensor), ENCODE_BATCH_ROWS):
            batch = tensor[start : start + ENCODE_BATCH_ROWS].to(device)
            outputs.append(function(batch).float().cpu())
        network.cpu()
        return torch.cat(outputs).numpy()

    def save(self, directory: Path) -> None:
        """Write ``params.json`` and ``state.pt`` (a ``state_dict`` and the loss history)."""
        network = self.fitted()  # first: it says when the model is not fitted yet
        save_checkpoint(directory, self.params, self.n_features_, network, self.history_)

    @classmethod
    def load(cls, directory: Path, device: str = "auto") -> Self:
        """Rebuild the network from its checked parameters, then load its weights
        (``weights_only``, shapes checked first); ``ModelFileError`` when they do not fit.
        ``device``: where it will encode (a runtime setting, not saved)."""
        saved = read_checkpoint(
            directory, cls.config_type, lambda config, n: cls(config).build_network(n)
        )
        encoder = cls(dataclasses.replace(saved.config, device=device))
        encoder.network_ = saved.module.eval()
        encoder.n_features_ = saved.n_features
        encoder.history_ = saved.history
        return encoder

    def fitted(self) -> nn.Module:
        if not hasattr(self, "network_"):
            raise RuntimeError(f"this {self.kind} encoder is not fitted yet: call fit() first")
        return self.network_

    def check_input(self, X: np.ndarray) -> None:
        if X.ndim != 2:
            raise ValueError(f"the {self.kind} encoder expects a 2-D matrix, got shape {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError(f"{self.kind} encoder input holds NaN or Inf values")
        if len(X) < 4:
            raise ValueError(f"the {self.kind} encoder needs at least 4 rows, got {len(X)}")


def holdout(n: int, config: TrainingConfig, smallest: int = 1) -> tuple[torch.Tensor, int]:
    """A seeded order of ``n`` rows and how many of its first ones are held out for early
    stopping (``validation_fraction`` of them, at least ``smallest``)."""
    held = max(smallest, round(n * config.validation_fraction))
    order = torch.randperm(n, generator=torch.Generator().manual_seed(config.seed))
    return order, held
