"""Saving a trained torch encoder as ``params.json`` plus ``state.pt``, and reading it back.

``state.pt`` holds only tensors and plain values (the ``state_dict`` and the loss
history), so it loads with ``weights_only=True``: no pickled code runs on load.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from repr_assets.encoders.training import TrainingHistory, TrainingSettings

SETTINGS_FIELDS = frozenset(TrainingSettings.__dataclass_fields__)


def save_checkpoint(
    directory: Path,
    params: dict[str, Any],
    n_features: int,
    module: nn.Module,
    history: TrainingHistory,
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "params.json").write_text(json.dumps({**params, "n_features": n_features}))
    torch.save(
        {"state_dict": module.state_dict(), "history": asdict(history)}, directory / "state.pt"
    )


def read_checkpoint(
    directory: Path,
) -> tuple[dict[str, Any], TrainingSettings, int, dict[str, Any], TrainingHistory]:
    """``(model params, training settings, n_features, state_dict, history)``."""
    params = json.loads((directory / "params.json").read_text())
    n_features = int(params.pop("n_features"))
    settings = TrainingSettings(**{k: params.pop(k) for k in list(params) if k in SETTINGS_FIELDS})
    state = torch.load(directory / "state.pt", map_location="cpu", weights_only=True)
    return params, settings, n_features, state["state_dict"], TrainingHistory(**state["history"])
